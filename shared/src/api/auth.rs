//! Sessions: sign-in, who am I, one's own password.

use serde::{Deserialize, Serialize};

use super::roles::{Permission, RoleOut};
use super::users::UserOut;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in user, their role and the CSRF token of the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub user: UserOut,
    pub role: RoleOut,
    pub permissions: Vec<Permission>,
    /// Send it back in the `X-CSRF-Token` header of every POST, PUT, DELETE.
    pub csrf_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}
