//! Roles as callers read them (the session's answer and the roles' own).

use roster_shared::api::RoleOut;

use super::{Db, Tx};
use crate::permissions::Permissions;

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

/// A role's permissions, `None` if there is no such role.
pub async fn permissions(tx: &mut Tx, id: i64) -> sqlx::Result<Option<Permissions>> {
    let bits: Option<i64> = sqlx::query_scalar("SELECT permissions FROM roles WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(bits.map(Permissions::from_bits))
}
