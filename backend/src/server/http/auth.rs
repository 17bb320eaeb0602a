//! Sessions (SPEC sections 7 and 9): sign-in, sign-out, who am I, and the
//! [`AuthUser`] extractor that every other endpoint starts with.
//!
//! The cookie holds a random token; the database holds only its SHA-256, so
//! a copy of the database opens no session. Each session has its own CSRF
//! token, sent back in `X-CSRF-Token` on every state-changing request.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::ApiContext;
use super::json::Json;
use super::roles::RoleOut;
use super::users::{self, UserOut};
use crate::db::username_key;
use crate::error::{Error, Result};
use crate::password::{hex, random_hex};
use crate::permissions::{Permission, Permissions};

pub const COOKIE: &str = "roster_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The window in which failed sign-ins are counted.
const WINDOW_SECS: i64 = 15 * 60;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/me/password", post(change_own_password))
}

/// The signed-in user of a request, with the permissions of their role as
/// they are now (a role's change applies at once).
pub struct AuthUser {
    pub user_pk: i64,
    pub permissions: Permissions,
    session_id: String,
    csrf_token: String,
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

fn session_token(headers: &HeaderMap) -> Option<String> {
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

fn session_id(token: &str) -> String {
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
        let row: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT s.user_pk, s.csrf_token, s.expires_at, r.permissions \
             FROM sessions s JOIN users u ON u.id = s.user_pk JOIN roles r ON r.id = u.role_id \
             WHERE s.id = $1 AND u.deleted_at IS NULL",
        )
        .bind(&id)
        .fetch_optional(&ctx.db)
        .await?;
        let Some((user_pk, csrf_token, expires_at, permissions)) = row else {
            return Err(Error::Unauthorized);
        };
        if expires_at <= ctx.now() {
            return Err(Error::Unauthorized);
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

/// Counts failed sign-ins per account and per client address in a
/// 15-minute window; past the limit, sign-in answers 429 before any
/// password is checked. Kept in memory: a restart forgets it.
pub struct LoginLimiter {
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, (i64, u32)>>,
}

impl LoginLimiter {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        LoginLimiter {
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, address: Option<IpAddr>) -> (String, Option<String>) {
        (
            format!("account:{account}"),
            address.map(|a| format!("address:{a}")),
        )
    }

    /// `Err` with the seconds to wait when either limit is reached.
    fn check(&self, account: &str, address: Option<IpAddr>, now: i64) -> Result<()> {
        let (account, address) = Self::keys(account, address);
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        let limits = [
            (Some(account), self.per_account),
            (address, self.per_address),
        ];
        for (key, limit) in limits {
            let Some(key) = key else { continue };
            if let Some((start, count)) = map.get(&key)
                && now - start < WINDOW_SECS
                && *count >= limit
            {
                wait = wait.max(start + WINDOW_SECS - now);
            }
        }
        if wait > 0 {
            Err(Error::TooManyAttempts {
                retry_after_secs: wait,
            })
        } else {
            Ok(())
        }
    }

    fn failed(&self, account: &str, address: Option<IpAddr>, now: i64) {
        let (account, address) = Self::keys(account, address);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now - *start < WINDOW_SECS);
        }
        for key in [Some(account), address].into_iter().flatten() {
            let entry = map.entry(key).or_insert((now, 0));
            if now - entry.0 >= WINDOW_SECS {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    fn succeeded(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&format!("account:{account}"));
    }
}

/// The client's IP address, when the server was started with connect info.
/// (Behind a reverse proxy this is the proxy's; see docs/SERVER.md.)
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in user, their role and the CSRF token of the session.
#[derive(Serialize, ToSchema)]
pub struct SessionInfo {
    pub user: UserOut,
    pub role: RoleOut,
    pub permissions: Vec<Permission>,
    /// Send it back in the `X-CSRF-Token` header of every POST, PUT, DELETE.
    pub csrf_token: String,
}

async fn session_info(ctx: &ApiContext, user_pk: i64, csrf_token: String) -> Result<SessionInfo> {
    let user = users::load(&ctx.db, user_pk, false)
        .await?
        .ok_or(Error::Unauthorized)?;
    let role = super::roles::load(&ctx.db, user.role_id)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("user {user_pk} has no role")))?;
    Ok(SessionInfo {
        user,
        permissions: role.permissions.clone(),
        role,
        csrf_token,
    })
}

fn cookie_is_secure(ctx: &ApiContext, headers: &HeaderMap) -> bool {
    super::came_over_https(&ctx.config, headers)
}

fn set_cookie(value: &str, max_age: i64, secure: bool) -> Result<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| Error::Internal(e.into()))
}

/// Sign in. The old session of the browser, if any, ends: every sign-in
/// gets a new session id.
#[utoipa::path(post, path = "/api/login", tag = "sessions", request_body = LoginRequest, security(()),
    responses((status = 200, body = SessionInfo, description = "signed in; sets the session cookie"),
        (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn login(
    State(ctx): State<ApiContext>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response> {
    let now = ctx.now();
    let account = username_key(req.username.trim());
    ctx.limiter.check(&account, address, now)?;
    let found: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE username_key = $1 AND deleted_at IS NULL",
    )
    .bind(&account)
    .fetch_optional(&ctx.db)
    .await?;
    let (user_pk, hash) = match found {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let ok = ctx.config.password.verify_async(req.password, hash).await;
    let Some(user_pk) = user_pk.filter(|_| ok) else {
        ctx.limiter.failed(&account, address, now);
        tracing::info!(address = ?address, "failed sign-in");
        return Err(Error::BadCredentials);
    };
    ctx.limiter.succeeded(&account);

    let token = random_hex(32)?;
    let csrf_token = random_hex(32)?;
    let mut tx = crate::db::begin(&ctx.db).await?;
    if let Some(old) = session_token(&headers) {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(session_id(&old))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO sessions (id, user_pk, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session_id(&token))
    .bind(user_pk)
    .bind(&csrf_token)
    .bind(now)
    .bind(now + ctx.config.session_ttl_secs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(user = user_pk, "signed in");

    let info = session_info(&ctx, user_pk, csrf_token).await?;
    let cookie = set_cookie(
        &token,
        ctx.config.session_ttl_secs,
        cookie_is_secure(&ctx, &headers),
    )?;
    Ok(([(header::SET_COOKIE, cookie)], Json(info)).into_response())
}

/// Sign out: the session ends on the server and the cookie is cleared.
#[utoipa::path(post, path = "/api/logout", tag = "sessions",
    responses((status = 204, description = "signed out"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn logout(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    headers: HeaderMap,
) -> Result<Response> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(&auth.session_id)
        .execute(&ctx.db)
        .await?;
    let cookie = set_cookie("", 0, cookie_is_secure(&ctx, &headers))?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The signed-in user, their role, and the session's CSRF token (so a
/// reloaded page can go on).
#[utoipa::path(get, path = "/api/me", tag = "sessions",
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(State(ctx): State<ApiContext>, auth: AuthUser) -> Result<Json<SessionInfo>> {
    let csrf = auth.csrf_token.clone();
    Ok(Json(session_info(&ctx, auth.user_pk, csrf).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's own password (any signed-in user). The user's other
/// sessions end; this one goes on.
#[utoipa::path(post, path = "/api/me/password", tag = "sessions", request_body = PasswordChange,
    responses((status = 204, description = "changed"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
pub async fn change_own_password(
    State(ctx): State<ApiContext>,
    ClientAddress(address): ClientAddress,
    auth: AuthUser,
    Json(req): Json<PasswordChange>,
) -> Result<StatusCode> {
    let now = ctx.now();
    let (username, hash): (String, Option<String>) =
        sqlx::query_as("SELECT username_key, password_hash FROM users WHERE id = $1")
            .bind(auth.user_pk)
            .fetch_one(&ctx.db)
            .await?;
    // Guessing the current password is rate-limited like signing in.
    ctx.limiter.check(&username, address, now)?;
    let len = req.new_password.chars().count();
    let policy = ctx.config.password;
    if len < policy.min_len {
        return Err(Error::invalid(
            "new_password",
            "password_too_short",
            format!("Password: must be at least {} characters", policy.min_len),
        ));
    }
    if len > 128 {
        return Err(Error::invalid(
            "new_password",
            "too_long",
            "Password: at most 128 characters",
        ));
    }
    if !policy.verify_async(req.current_password, hash).await {
        ctx.limiter.failed(&username, address, now);
        return Err(Error::invalid(
            "current_password",
            "wrong_password",
            "Current password: this is not your password",
        ));
    }
    let new_hash = policy.hash_async(req.new_password).await?;
    let mut tx = crate::db::begin(&ctx.db).await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(new_hash)
        .bind(now)
        .bind(auth.user_pk)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_pk = $1 AND id <> $2")
        .bind(auth.user_pk)
        .bind(&auth.session_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user = auth.user_pk, "changed their own password");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_the_limit_and_forgets_after_the_window() {
        let limiter = LoginLimiter::new(2, 10);
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        assert!(limiter.check("ann", ip, 0).is_ok());
        limiter.failed("ann", ip, 0);
        limiter.failed("ann", ip, 1);
        assert!(limiter.check("ann", ip, 2).is_err());
        assert!(limiter.check("bob", ip, 2).is_ok());
        assert!(limiter.check("ann", ip, WINDOW_SECS + 1).is_ok());
    }

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
