//! `GET /api/users/export.xlsx`: the users of a search, in the import
//! template's columns (`crate::export`).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use roster_shared::write::XLSX_MIME;
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiContext;
use super::auth::{Can, perm};
use super::json::Query;
use crate::clock::rfc3339;
use crate::error::Result;
use crate::export;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/users/export.xlsx", get(export_users))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportParams {
    /// The Users page's search: words that each must begin a first name,
    /// last name, username, email or user ID; empty for everyone.
    #[serde(default)]
    pub q: String,
    /// The start node: Sub-level-1…5 name the path below it, and only users
    /// with a membership at most five levels below it are written. The
    /// root when left out.
    pub node: Option<i64>,
}

/// The users the search `q` finds (active ones), as an .xlsx in exactly the
/// import template's columns without Password: Sub-level-1…5 are the
/// user's first membership (smallest node id) at or below the start node
/// `node`, every cell is text (IDs keep their leading zeros). Importing it
/// back with the same start node changes nothing but what was edited.
/// Streamed in pages, in the order users were created; at most 1,048,575
/// users (Excel's sheet), else 422.
#[utoipa::path(get, path = "/api/users/export.xlsx", tag = "users", params(ExportParams),
    responses((status = 200, description = "the .xlsx, streamed", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn export_users(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Query(params): Query<ExportParams>,
) -> Result<Response> {
    let (filter, binds) = super::users::active_users_filter(&params.q, 1);
    let plan = export::plan(&ctx.db, filter, binds, params.node).await?;
    tracing::info!(actor = auth.user_pk, "exporting users");
    let date = &rfc3339(ctx.now())[..10];
    let body = export::body(ctx.db.clone(), plan, ctx.config.timeouts.body_idle);
    Ok((
        [
            (header::CONTENT_TYPE, XLSX_MIME.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"roster-users-{date}.xlsx\""),
            ),
        ],
        body,
    )
        .into_response())
}
