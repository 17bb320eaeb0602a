//! Try Import and Import (SPEC sections 5, 6 and 9). The work is in
//! `crate::imports`; this is the HTTP face, with its own body limit.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roster_shared::api::undo::{UndoCommit, UndoPreview, UndoResult};
use roster_shared::api::{
    ChangeAction, ChangeOut, CommitInput, CommitResult, ErrorBody, ImportDetail, ImportInput,
    ImportList, ImportOut, ImportPreview, ImportState, PageParams, ProgressOut, StalePreview,
};
use roster_shared::{Field, RuleOptions};
use tower_http::limit::RequestBodyLimitLayer;

use super::ApiContext;
use super::extract::{Can, perm};
use super::json::{Json, Path, Query};
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::imports::{self, Actor, ImportRequest, sha256_hex};

/// Largest import request: 250,000 rows of mapped values fit with room.
pub const MAX_IMPORT_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The import routes, with their own (larger) body limit.
pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/imports", post(create_import).get(list_imports))
        .route("/imports/{id}", get(get_import).delete(cancel_import))
        .route("/imports/{id}/commit", post(commit_import))
        .route("/imports/{id}/errors.xlsx", get(errors_file))
        .route("/imports/{id}/undo", post(undo_preview))
        .route("/imports/{id}/undo/commit", post(undo_commit))
        .route("/import/template", get(template_file))
        .layer(DefaultBodyLimit::max(MAX_IMPORT_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_IMPORT_BODY_BYTES))
}

fn rules(ctx: &ApiContext) -> RuleOptions {
    RuleOptions {
        password_min_len: ctx.config.password.min_len,
    }
}

fn actor(auth: &super::extract::AuthUser) -> Actor {
    Actor {
        user_pk: auth.user_pk,
        permissions: auth.permissions,
    }
}

/// Try Import: checks every row again, compares it with the directory and
/// keeps the preview for an hour. The body is JSON (`ImportInput`) or, for
/// scripts, `multipart/form-data` with `file`, `role_id`, `hierarchy_id` and
/// an optional `mapping` JSON object (field key → header text).
#[utoipa::path(post, path = "/api/imports", tag = "imports", request_body = ImportInput,
    responses((status = 201, body = ImportPreview), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn create_import(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    request: Request,
) -> Result<Response> {
    // Before the body is read: it and the rows are what a preview costs.
    let permit = ctx.imports.preview_permit().await?;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let request = if multipart {
        let form = Multipart::from_request(request, &ctx)
            .await
            .map_err(|e| Error::bad_request(e.body_text()))?;
        upload_request(form).await?
    } else {
        let input = match axum::Json::<ImportInput>::from_request(request, &ctx).await {
            Ok(axum::Json(input)) => input,
            // The row limit, met while reading: its own message, not serde's.
            Err(e)
                if e.body_text()
                    .contains(&imports::too_many_rows().to_string()) =>
            {
                return Err(imports::too_many_rows());
            }
            Err(e) => return Err(e.into()),
        };
        imports::check_shape(&input.rows)?;
        let sha256 = sha256_hex(&serde_json::to_vec(&input.rows).map_err(anyhow::Error::from)?);
        ImportRequest {
            file_name: input.file_name,
            sha256,
            role_id: input.role_id,
            hierarchy_id: input.hierarchy_id,
            rows: input.rows.into_owned(),
        }
    };
    let actor = actor(&auth);
    let rules = rules(&ctx);
    let now = ctx.now();
    // The classification is CPU work on up to 250,000 rows; a task of its
    // own keeps it going if the client leaves.
    let tasks = ctx.tasks.clone();
    let preview = tokio::spawn(tasks.track_future(async move {
        let preview =
            imports::create_preview(&ctx.db, &ctx.imports, &rules, actor, request, now).await;
        drop(permit);
        preview
    }))
    .await
    .map_err(anyhow::Error::from)??;
    tracing::info!(
        actor = auth.user_pk,
        import = preview.id,
        rows = preview.summary.rows,
        "previewed an import"
    );
    Ok((StatusCode::CREATED, Json(preview)).into_response())
}

/// The multipart form of Try Import: `file`, `role_id`, `hierarchy_id` and
/// an optional `mapping` (`{"first_name": "Voornaam", …}`).
async fn upload_request(mut form: Multipart) -> Result<ImportRequest> {
    let mut file: Option<(String, axum::body::Bytes)> = None;
    let mut role_id = None;
    let mut hierarchy_id = None;
    let mut mapping: Vec<(Field, String)> = Vec::new();
    let mut sheet: Option<String> = None;
    while let Some(field) = form.next_field().await.map_err(Error::from)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let file_name = field.file_name().unwrap_or("upload").to_string();
                file = Some((file_name, field.bytes().await.map_err(Error::from)?));
            }
            "role_id" | "hierarchy_id" => {
                let text = field.text().await.map_err(Error::from)?;
                let id: i64 = text.trim().parse().map_err(|_| {
                    Error::invalid(&name, "invalid", format!("{name}: a number is expected"))
                })?;
                if name == "role_id" {
                    role_id = Some(id);
                } else {
                    hierarchy_id = Some(id);
                }
            }
            "sheet" => sheet = Some(field.text().await.map_err(Error::from)?),
            "mapping" => {
                let text = field.text().await.map_err(Error::from)?;
                let map: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)
                    .map_err(|e| {
                    Error::invalid("mapping", "invalid", format!("mapping: {e}"))
                })?;
                for (key, header) in map {
                    let field = Field::from_key(&key).ok_or_else(|| {
                        Error::invalid("mapping", "invalid", format!("mapping: no field {key}"))
                    })?;
                    mapping.push((field, header));
                }
            }
            other => {
                return Err(Error::invalid(
                    other,
                    "unknown",
                    format!("unknown form field {other}"),
                ));
            }
        }
    }
    let missing = |f: &str| Error::invalid(f, "required", format!("{f}: This value is required"));
    let (file_name, bytes) = file.ok_or_else(|| missing("file"))?;
    let role_id = role_id.ok_or_else(|| missing("role_id"))?;
    let hierarchy_id = hierarchy_id.ok_or_else(|| missing("hierarchy_id"))?;
    let sha256 = sha256_hex(&bytes);
    let name = file_name.clone();
    let rows = tokio::task::spawn_blocking(move || {
        imports::rows_from_file(&bytes, &name, sheet, &mapping)
    })
    .await
    .map_err(anyhow::Error::from)??;
    imports::check_shape(&rows)?;
    Ok(ImportRequest {
        file_name,
        sha256,
        role_id,
        hierarchy_id,
        rows,
    })
}

/// Import: applies the preview in one transaction. A commit runs in its own
/// task, so it finishes even if the client goes away.
#[utoipa::path(post, path = "/api/imports/{id}/commit", tag = "imports",
    params(("id" = i64, Path)), request_body = CommitInput,
    responses((status = 200, body = CommitResult), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = StalePreview), (status = 422, body = ErrorBody)))]
pub async fn commit_import(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
    Json(input): Json<CommitInput>,
) -> Result<Response> {
    let actor = actor(&auth);
    let rules = rules(&ctx);
    let now = ctx.now();
    let task_ctx = ctx.clone();
    // Tracked: a graceful shutdown waits for it too.
    let result = tokio::spawn(ctx.tasks.track_future(async move {
        let ctx = task_ctx;
        imports::commit(
            &ctx.db,
            &ctx.imports,
            &rules,
            ctx.config.password,
            actor,
            id,
            input.skip_errors,
            now,
        )
        .await
    }))
    .await
    .map_err(anyhow::Error::from)??;
    tracing::info!(
        actor = auth.user_pk,
        import = id,
        created = result.created,
        synced = result.synced,
        skipped = result.skipped,
        "committed an import"
    );
    Ok(Json(result).into_response())
}

/// Cancel: discards a preview; 409 while its commit runs.
#[utoipa::path(delete, path = "/api/imports/{id}", tag = "imports", params(("id" = i64, Path)),
    responses((status = 204, description = "discarded"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_import(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    if imports::cancel_preview(&ctx.db, &ctx.imports, id, actor(&auth)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found("no such preview"))
    }
}

const PAGE_SIZE: i64 = 50;
const CHANGES_PAGE_SIZE: i64 = 200;

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: i64,
    state: String,
    file_name: String,
    sha256: String,
    created_by_name: String,
    created_at: i64,
    committed_at: Option<i64>,
    role_id: i64,
    role_name: String,
    hierarchy_id: i64,
    hierarchy_path: String,
    summary_json: String,
    created: i64,
    synced: i64,
    skipped: i64,
    total_rows: i64,
    undone_by: Option<i64>,
    undo_of: Option<i64>,
}

const IMPORT_COLUMNS: &str = "id, state, file_name, sha256, created_by_name, created_at, \
    committed_at, role_id, role_name, hierarchy_id, hierarchy_path, summary_json, created, \
    synced, skipped, total_rows, \
    (SELECT u.id FROM imports u WHERE u.undo_of = imports.id) AS undone_by, undo_of";

/// `running`: the commits running now, in any process, and their rows
/// written (`imports::running_commits`).
fn import_out(row: ImportRow, running: &HashMap<i64, usize>) -> Result<ImportOut> {
    let total = usize::try_from(row.total_rows).unwrap_or(0);
    let progress = running.get(&row.id).map(|&done| ProgressOut {
        done: done.min(total),
        total,
    });
    let state = match (&progress, row.state.as_str()) {
        (Some(_), _) => ImportState::Running,
        (None, "preview") => ImportState::Preview,
        (None, "done") => ImportState::Done,
        (None, other) => {
            return Err(
                anyhow::anyhow!("import {} is in an unknown state {other:?}", row.id).into(),
            );
        }
    };
    Ok(ImportOut {
        id: row.id,
        state,
        file_name: row.file_name,
        sha256: row.sha256,
        created_by: row.created_by_name,
        created_at: rfc3339(row.created_at),
        committed_at: row.committed_at.map(rfc3339),
        role_id: row.role_id,
        role_name: row.role_name,
        hierarchy_id: row.hierarchy_id,
        hierarchy_path: row.hierarchy_path,
        summary: serde_json::from_str(&row.summary_json).unwrap_or_default(),
        created: row.created,
        synced: row.synced,
        skipped: row.skipped,
        progress,
        undone_by: row.undone_by,
        undo_of: row.undo_of,
    })
}

fn check_page(page: u32) -> Result<i64> {
    if page == 0 {
        return Err(Error::invalid("page", "invalid", "page: starts at 1"));
    }
    Ok(i64::from(page - 1))
}

/// The import history, newest first; previews still waiting included.
#[utoipa::path(get, path = "/api/imports", tag = "imports", params(PageParams),
    responses((status = 200, body = ImportList), (status = 403, body = ErrorBody)))]
pub async fn list_imports(
    State(ctx): State<ApiContext>,
    _auth: Can<perm::ManageUsers>,
    Query(params): Query<PageParams>,
) -> Result<Json<ImportList>> {
    let offset = check_page(params.page)? * PAGE_SIZE;
    // History is what was written (or is being written): previews, which
    // wrote nothing and expire by themselves, are not listed. A running
    // commit is still a preview in the table until its transaction ends.
    let running = imports::running_commits(&ctx.db, &ctx.imports).await?;
    let mut history = "state <> 'preview'".to_string();
    if !running.is_empty() {
        let ids: Vec<String> = running.keys().map(i64::to_string).collect();
        history = format!("({history} OR id IN ({}))", ids.join(", "));
    }
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM imports WHERE {history}"))
        .fetch_one(&ctx.db)
        .await?;
    let rows: Vec<ImportRow> = sqlx::query_as(&format!(
        "SELECT {IMPORT_COLUMNS} FROM imports WHERE {history} ORDER BY id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(PAGE_SIZE)
    .bind(offset)
    .fetch_all(&ctx.db)
    .await?;
    Ok(Json(ImportList {
        imports: rows
            .into_iter()
            .map(|r| import_out(r, &running))
            .collect::<Result<_>>()?,
        total,
        page: params.page,
    }))
}

/// One import: what it did to each user, values before and after.
#[utoipa::path(get, path = "/api/imports/{id}", tag = "imports",
    params(("id" = i64, Path), PageParams),
    responses((status = 200, body = ImportDetail), (status = 404, body = ErrorBody)))]
pub async fn get_import(
    State(ctx): State<ApiContext>,
    _auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<ImportDetail>> {
    let offset = check_page(params.page)? * CHANGES_PAGE_SIZE;
    let row: Option<ImportRow> = sqlx::query_as(&format!(
        "SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1 AND (state <> 'preview' OR expires_at > $2)"
    ))
    .bind(id)
    .bind(ctx.now())
    .fetch_optional(&ctx.db)
    .await?;
    let row = row.ok_or_else(|| Error::not_found("no such import"))?;
    let running = imports::running_commits(&ctx.db, &ctx.imports).await?;
    let changes_total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM import_changes WHERE import_id = $1")
            .bind(id)
            .fetch_one(&ctx.db)
            .await?;
    let changes: Vec<(i64, i64, String, Option<String>, String)> = sqlx::query_as(
        "SELECT row_number, user_pk, action, before_json, after_json FROM import_changes \
         WHERE import_id = $1 ORDER BY row_number LIMIT $2 OFFSET $3",
    )
    .bind(id)
    .bind(CHANGES_PAGE_SIZE)
    .bind(offset)
    .fetch_all(&ctx.db)
    .await?;
    let parse = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    let changes = changes
        .into_iter()
        .map(|(row, user, action, before, after)| {
            let action = ChangeAction::from_key(&action).ok_or_else(|| {
                anyhow::anyhow!("import {id} row {row} has an unknown action {action:?}")
            })?;
            Ok(ChangeOut {
                row,
                user,
                action,
                before: before.as_deref().map(parse),
                after: parse(&after),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Json(ImportDetail {
        import: import_out(row, &running)?,
        changes,
        changes_total,
        page: params.page,
    }))
}

/// Undo, step 1: what undoing the import would do (SPEC section 6b),
/// computed from the directory as it is now; nothing is written.
#[utoipa::path(post, path = "/api/imports/{id}/undo", tag = "imports",
    params(("id" = i64, Path)),
    responses((status = 200, body = UndoPreview), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`already_undone`, or not a finished import", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn undo_preview(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Json<UndoPreview>> {
    // An undo's preview reads the whole import's record, as a Try Import
    // reads its rows: it takes one of the same places (503 when none frees).
    let _building = ctx.imports.preview_permit().await?;
    Ok(Json(
        imports::undo_preview(&ctx.db, actor(&auth), id).await?,
    ))
}

/// Undo, step 2: undoes the import in one transaction, if the directory
/// still gives the preview whose fingerprint is sent (else 409
/// `stale_undo` with the fresh preview). Runs in its own task, so it
/// finishes even if the client goes away.
#[utoipa::path(post, path = "/api/imports/{id}/undo/commit", tag = "imports",
    params(("id" = i64, Path)), request_body = UndoCommit,
    responses((status = 200, body = UndoResult), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`stale_undo` (with the fresh preview), `already_undone`, \
            or not a finished import", body = roster_shared::api::undo::StaleUndo),
        (status = 503, body = ErrorBody)))]
pub async fn undo_commit(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
    Json(input): Json<UndoCommit>,
) -> Result<Json<UndoResult>> {
    let actor = actor(&auth);
    let now = ctx.now();
    let task_ctx = ctx.clone();
    // As the preview: one of the previews' places, held by the task.
    let building = ctx.imports.preview_permit().await?;
    let result = tokio::spawn(ctx.tasks.track_future(async move {
        let undone = imports::undo_commit(&task_ctx.db, actor, id, &input.fingerprint, now).await;
        drop(building);
        undone
    }))
    .await
    .map_err(anyhow::Error::from)??;
    tracing::info!(
        actor = auth.user_pk,
        import = id,
        undo = result.undo_import_id,
        trashed = result.trashed,
        restored = result.restored,
        "undid an import"
    );
    Ok(Json(result))
}

fn xlsx(bytes: Vec<u8>, file_name: &str) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                roster_shared::write::XLSX_MIME.to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Every row with errors, as uploaded, with an error column: ready to fix
/// and import again. Passwords are left out.
#[utoipa::path(get, path = "/api/imports/{id}/errors.xlsx", tag = "imports",
    params(("id" = i64, Path)),
    responses((status = 200, description = "the .xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn errors_file(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Response> {
    let (rows, errors) = imports::stored_errors(&ctx.db, id, actor(&auth), ctx.now()).await?;
    let bytes = tokio::task::spawn_blocking(move || imports::errors_workbook(&rows, &errors))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(xlsx(bytes, &format!("import-{id}-errors.xlsx")))
}

/// The example file: the headers of every field and two sample rows.
#[utoipa::path(get, path = "/api/import/template", tag = "imports",
    responses((status = 200, description = "the .xlsx", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody)))]
pub async fn template_file(_auth: Can<perm::ManageUsers>) -> Result<Response> {
    Ok(xlsx(
        imports::template_workbook()?,
        "roster-import-template.xlsx",
    ))
}
