//! The OpenAPI document of the API, at `/api/openapi.json` (public: it
//! describes the API and holds no data).

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

use super::ApiContext;
use super::json::Json;
use super::{auth, hierarchy, roles, settings, users};
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
        users::list_users,
        users::create_user,
        users::get_user,
        users::update_user,
        users::delete_user,
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
    ),
    components(schemas(
        error::ErrorBody,
        error::ErrorDetail,
        error::FieldError,
        permissions::Permission,
        auth::LoginRequest,
        auth::SessionInfo,
        users::UserOut,
        users::UserInput,
        users::UserPage,
        roles::RoleOut,
        roles::RoleInput,
        roles::RoleList,
        hierarchy::NodeOut,
        hierarchy::NodeInput,
        hierarchy::NodeList,
        settings::RegionalSettings,
    ))
)]
pub struct ApiDoc;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
