//! The OpenAPI document of the API, at `/api/openapi.json` (public: it
//! describes the API and holds no data).

use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::ApiContext;
use super::json::Json;
use super::{auth, hierarchy, imports, roles, settings, users};
use crate::error;
use crate::permissions;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "Bulk-import user accounts into the assessment platform. Every endpoint \
            but /api/login and this document needs the session cookie; every POST, PUT and \
            DELETE also the X-CSRF-Token header. Errors: {\"error\": {\"code\", \"message\"}}."
    ),
    paths(
        auth::login,
        auth::logout,
        auth::me,
        auth::change_own_password,
        users::list_users,
        users::export_users,
        users::create_user,
        users::get_user,
        users::update_user,
        users::delete_user,
        users::end_sessions,
        users::list_trash,
        users::restore_user,
        roles::list_roles,
        roles::create_role,
        roles::update_role,
        roles::delete_role,
        hierarchy::list_nodes,
        hierarchy::create_node,
        hierarchy::update_node,
        hierarchy::delete_node,
        settings::get_regional,
        settings::put_regional,
        imports::create_import,
        imports::commit_import,
        imports::cancel_import,
        imports::list_imports,
        imports::get_import,
        imports::undo_preview,
        imports::undo_commit,
        imports::errors_file,
        imports::template_file,
    ),
    modifiers(&SessionSecurity),
    security(("session" = [])),
    components(schemas(
        error::ErrorBody,
        error::ErrorDetail,
        error::FieldError,
        permissions::Permission,
        auth::LoginRequest,
        auth::SessionInfo,
        auth::PasswordChange,
        crate::db::users::UserOut,
        users::UserInput,
        users::UserPage,
        users::EndedSessions,
        crate::db::roles::RoleOut,
        roles::RoleInput,
        roles::RoleList,
        crate::db::hierarchy::NodeOut,
        hierarchy::NodeInput,
        hierarchy::NodeList,
        settings::RegionalSettings,
        imports::ImportInput,
        imports::CommitInput,
        error::StalePreview,
        imports::ImportOut,
        imports::ProgressOut,
        imports::ImportList,
        imports::ChangeOut,
        imports::ImportDetail,
        crate::imports::ImportPreview,
        crate::imports::ImportSummary,
        crate::imports::SyncRow,
        crate::imports::TrashRow,
        crate::imports::CommitResult,
        error::StaleUndo,
        roster_shared::api::undo::UndoPreview,
        roster_shared::api::undo::UndoSummary,
        roster_shared::api::undo::UndoUser,
        roster_shared::api::undo::UndoRestore,
        roster_shared::api::undo::UndoUntouched,
        roster_shared::api::undo::UndoCommit,
        roster_shared::api::undo::UndoResult,
    ))
)]
pub struct ApiDoc;

/// The session cookie and the CSRF header as security schemes.
struct SessionSecurity;

impl Modify for SessionSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::extract::COOKIE,
                "Set by POST /api/login; HttpOnly, SameSite=Strict.",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The csrf_token of /api/login or /api/me; needed on POST, PUT and DELETE.",
            ))),
        );
    }
}

pub fn router() -> Router<ApiContext> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
