//! The session extractors every endpoint starts with: [`AuthUser`] (the
//! signed-in user, the session's CSRF token checked on every
//! state-changing request) and [`Can`] (one who holds a permission).
//! Shared by every router of `http/`; the sign-in itself is `auth.rs`.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};

use super::ApiContext;
use crate::error::{Error, Result};
use crate::password::hex;
use crate::permissions::{Permission, Permissions};

pub const COOKIE: &str = "roster_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session's last use is written at most once a minute: the idle timeout
/// is that precise, and most requests write nothing.
const LAST_SEEN_PRECISION_SECS: i64 = 60;

/// The signed-in user of a request, with the permissions of their role as
/// they are now (a role's change applies at once).
pub struct AuthUser {
    pub user_pk: i64,
    pub permissions: Permissions,
    pub(super) session_id: String,
    pub(super) csrf_token: String,
}

impl AuthUser {
    /// 403 unless the user's role has `p`.
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.permissions.contains(p) {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "your role lacks the permission {}",
                p.key()
            )))
        }
    }

    /// 403 unless the user's role has one of `ps`.
    pub fn require_any(&self, ps: &[Permission]) -> Result<()> {
        if ps.iter().any(|p| self.permissions.contains(*p)) {
            Ok(())
        } else {
            let keys: Vec<&str> = ps.iter().map(|p| p.key()).collect();
            Err(Error::forbidden(format!(
                "your role lacks the permission {}",
                keys.join(" or ")
            )))
        }
    }

    /// 403 unless the user holds every permission of `role` (SPEC section 7:
    /// nobody grants, or acts on holders of, more than they hold).
    pub fn require_covers(&self, role: Permissions, what: &str) -> Result<()> {
        if self.permissions.covers(role) {
            Ok(())
        } else {
            let missing: Vec<&str> = role
                .to_vec()
                .into_iter()
                .filter(|p| !self.permissions.contains(*p))
                .map(|p| p.key())
                .collect();
            Err(Error::forbidden(format!(
                "{what}: it needs permissions your role lacks ({})",
                missing.join(", ")
            )))
        }
    }
}

/// A permission as a type, for [`Can`].
pub trait Needs {
    const PERMISSION: Permission;
}

/// The permissions as types: `Can<perm::ManageUsers>`.
pub mod perm {
    use super::{Needs, Permission};

    macro_rules! permission_types {
        ($($name:ident),+) => {$(
            pub struct $name;
            impl Needs for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )+};
    }

    permission_types!(
        ManageUsers,
        RestoreUsers,
        ManageRoles,
        ManageHierarchy,
        ManageSettings
    );
}

/// The signed-in user, who holds the permission `P`. Checked before the
/// request's body is read, so a refused request is 403 whatever it sends.
pub struct Can<P: Needs>(pub AuthUser, PhantomData<P>);

impl<P: Needs> std::ops::Deref for Can<P> {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl<P: Needs + Send + Sync> FromRequestParts<ApiContext> for Can<P> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self> {
        let auth = AuthUser::from_request_parts(parts, ctx).await?;
        auth.require(P::PERMISSION)?;
        Ok(Can(auth, PhantomData))
    }
}

pub(super) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

pub(super) fn session_id(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<ApiContext> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self> {
        let token = session_token(&parts.headers).ok_or(Error::Unauthorized)?;
        let id = session_id(&token);
        let row: Option<(i64, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT s.user_pk, s.csrf_token, s.expires_at, s.last_seen_at, r.permissions \
             FROM sessions s JOIN users u ON u.id = s.user_pk JOIN roles r ON r.id = u.role_id \
             WHERE s.id = $1 AND u.deleted_at IS NULL",
        )
        .bind(&id)
        .fetch_optional(&ctx.db)
        .await?;
        let Some((user_pk, csrf_token, expires_at, last_seen_at, permissions)) = row else {
            return Err(Error::Unauthorized);
        };
        let now = ctx.now();
        if expires_at <= now {
            return Err(Error::Unauthorized);
        }
        if now - last_seen_at >= ctx.config.session_idle_secs {
            // Unused too long: the session ends (ASVS 7.3.1).
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(&id)
                .execute(&ctx.db)
                .await?;
            return Err(Error::Unauthorized);
        }
        if now - last_seen_at >= LAST_SEEN_PRECISION_SECS {
            // Best effort: a failed write (SQLite busy with a long import
            // commit) costs at most a minute of idle time, not the request.
            if let Err(e) = sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&ctx.db)
                .await
            {
                tracing::warn!(error = %e, "could not note a session's last use");
            }
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !constant_time_eq(sent, csrf_token.as_bytes()) {
                return Err(Error::Csrf);
            }
        }
        Ok(AuthUser {
            user_pk,
            permissions: Permissions::from_bits(permissions),
            session_id: id,
            csrf_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn reads_the_session_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; roster_session=abc; c=d"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("abc"));
    }
}
