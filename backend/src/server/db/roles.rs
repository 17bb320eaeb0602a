//! Roles as callers read them (the session's answer and the roles' own).

use serde::Serialize;
use utoipa::ToSchema;

use super::Db;
use crate::permissions::{Permission, Permissions};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleOut {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<Permission>,
}

/// A role's row `(id, name, permissions)` as the API shows it.
pub fn out((id, name, bits): (i64, String, i64)) -> RoleOut {
    RoleOut {
        id,
        name,
        permissions: Permissions::from_bits(bits).to_vec(),
    }
}

/// One role.
pub async fn load(db: &Db, id: i64) -> sqlx::Result<Option<RoleOut>> {
    let row: Option<(i64, String, i64)> =
        sqlx::query_as("SELECT id, name, permissions FROM roles WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(out))
}
