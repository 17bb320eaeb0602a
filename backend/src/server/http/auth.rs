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
use roster_shared::Field;

pub const COOKIE: &str = "roster_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The window in which failed sign-ins are counted.
const WINDOW_SECS: i64 = 15 * 60;
/// A session's last use is written at most once a minute: the idle timeout
/// is that precise, and most requests write nothing.
const LAST_SEEN_PRECISION_SECS: i64 = 60;

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

/// Counts failed sign-ins per account and per client address in a
/// 15-minute window; past the limit, sign-in answers 429 before any
/// password is checked. An attempt is counted (reserved) *before* its
/// password is checked and given back if it succeeds, so parallel guesses
/// cannot all pass the check before any is counted. Kept in memory, keyed
/// by SHA-256 (a key costs 32 bytes whatever the client sent), at most
/// [`MAX_TRACKED`] keys: a restart forgets it.
pub struct LoginLimiter {
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<[u8; 32], Window>>,
}

/// Failures counted since `start`.
struct Window {
    start: i64,
    count: u32,
}

/// Most accounts and addresses tracked at once (about 6 MB).
pub const MAX_TRACKED: usize = 100_000;

impl LoginLimiter {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        LoginLimiter {
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn key(kind: &str, value: &str) -> [u8; 32] {
        Sha256::new()
            .chain_update(kind)
            .chain_update([0])
            .chain_update(value)
            .finalize()
            .into()
    }

    fn keys(&self, account: &str, address: Option<IpAddr>) -> Vec<([u8; 32], u32)> {
        let mut keys = vec![(Self::key("account", account), self.per_account)];
        if let Some(a) = address {
            keys.push((Self::key("address", &a.to_string()), self.per_address));
        }
        keys
    }

    /// Counts one attempt for the account and the address, or `Err` with
    /// the seconds to wait when either limit is already reached.
    pub fn reserve(&self, account: &str, address: Option<IpAddr>, now: i64) -> Result<()> {
        let keys = self.keys(account, address);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for (key, limit) in &keys {
            if let Some(w) = map.get(key)
                && now - w.start < WINDOW_SECS
                && w.count >= *limit
            {
                wait = wait.max(w.start + WINDOW_SECS - now);
            }
        }
        if wait > 0 {
            return Err(Error::TooManyAttempts {
                retry_after_secs: wait,
            });
        }
        make_room(&mut map, now);
        for (key, _) in keys {
            let w = map.entry(key).or_insert(Window {
                start: now,
                count: 0,
            });
            if now - w.start >= WINDOW_SECS {
                *w = Window {
                    start: now,
                    count: 0,
                };
            }
            w.count += 1;
        }
        Ok(())
    }

    /// Gives back an attempt [`LoginLimiter::reserve`] counted: the password
    /// was right, or was never checked.
    pub fn release(&self, account: &str, address: Option<IpAddr>) {
        let keys = self.keys(account, address);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (key, _) in keys {
            if let Some(w) = map.get_mut(&key) {
                w.count = w.count.saturating_sub(1);
                if w.count == 0 {
                    map.remove(&key);
                }
            }
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.failures.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Keeps the map under [`MAX_TRACKED`]: expired windows go first; if live
/// ones still fill three quarters (a spray over many accounts and
/// addresses), the older half or more goes, nearest its end anyway. Each
/// sweep frees a quarter at least, so its cost is spread over many sign-ins.
fn make_room(map: &mut HashMap<[u8; 32], Window>, now: i64) {
    if map.len() + 2 <= MAX_TRACKED {
        return;
    }
    map.retain(|_, w| now - w.start < WINDOW_SECS);
    if map.len() <= MAX_TRACKED / 4 * 3 {
        return;
    }
    let mut starts: Vec<i64> = map.values().map(|w| w.start).collect();
    let middle = starts.len() / 2;
    let (_, median, _) = starts.select_nth_unstable(middle);
    let median = *median;
    map.retain(|_, w| w.start > median);
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

/// 422 when `value` is longer than the directory holds for `field`.
fn check_len(key: &str, field: Field, value: &str) -> Result<()> {
    let max = field.max_len();
    // Counting stops past the limit: a megabyte costs no more than that.
    if value.chars().nth(max).is_some() {
        return Err(Error::invalid(
            key,
            "too_long",
            format!("{}: at most {max} characters", field.label()),
        ));
    }
    Ok(())
}

/// 422 unless `password` may become someone's password: long enough, not
/// too long, not a common one. (Users' create and update check length with
/// the row rules and call [`check_not_common`].)
pub fn check_new_password(key: &str, password: &str, min_len: usize) -> Result<()> {
    if password.chars().nth(min_len.saturating_sub(1)).is_none() {
        return Err(Error::invalid(
            key,
            "password_too_short",
            format!("Password: must be at least {min_len} characters"),
        ));
    }
    check_len(key, Field::Password, password)?;
    check_not_common(key, password)
}

/// 422 when `password` is on the list of common passwords.
pub fn check_not_common(key: &str, password: &str) -> Result<()> {
    if crate::password::is_common(password) {
        return Err(Error::invalid(
            key,
            "too_common",
            "Password: too common, choose another",
        ));
    }
    Ok(())
}

/// An account as the log shows it: its first 40 characters (logged with
/// `?`, so a line break in it is escaped, not a forged log line).
fn shown(account: &str) -> String {
    account.chars().take(40).collect()
}

/// Counts a sign-in attempt before its password is checked; 429 (logged)
/// past the limit.
fn reserve_attempt(
    ctx: &ApiContext,
    account: &str,
    address: Option<IpAddr>,
    now: i64,
) -> Result<()> {
    ctx.limiter.reserve(account, address, now).inspect_err(|_| {
        tracing::warn!(account = ?shown(account), address = ?address,
            "sign-in refused: too many failed attempts");
    })
}

/// The user whose (active) account and password these are, if any. An
/// unknown account costs a dummy hash, as long as a real one.
async fn password_matches(
    ctx: &ApiContext,
    account: &str,
    password: String,
) -> Result<Option<i64>> {
    let found: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE username_key = $1 AND deleted_at IS NULL",
    )
    .bind(account)
    .fetch_optional(&ctx.db)
    .await?;
    let (user_pk, hash) = match found {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let ok = ctx.config.password.verify_async(password, hash).await?;
    Ok(user_pk.filter(|_| ok))
}

/// Sign in. The old session of the browser, if any, ends: every sign-in
/// gets a new session id.
#[utoipa::path(post, path = "/api/login", tag = "sessions", request_body = LoginRequest, security(()),
    responses((status = 200, body = SessionInfo, description = "signed in; sets the session cookie"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "longer than any account's"),
        (status = 429, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody, description = "every password hasher busy; see Retry-After")))]
pub async fn login(
    State(ctx): State<ApiContext>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response> {
    let now = ctx.now();
    // What no account can hold is refused before it costs a key or a hash.
    let username = req.username.trim();
    check_len("username", Field::Username, username)?;
    check_len("password", Field::Password, &req.password)?;
    let account = username_key(username);
    reserve_attempt(&ctx, &account, address, now)?;
    let user_pk = match password_matches(&ctx, &account, req.password).await {
        Ok(Some(user_pk)) => user_pk,
        Ok(None) => {
            // The attempt stays counted: it is the failure.
            tracing::warn!(account = ?shown(&account), address = ?address, "failed sign-in");
            return Err(Error::BadCredentials);
        }
        Err(e) => {
            ctx.limiter.release(&account, address);
            return Err(e);
        }
    };
    ctx.limiter.release(&account, address);

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
        "INSERT INTO sessions (id, user_pk, csrf_token, created_at, expires_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $4)",
    )
    .bind(session_id(&token))
    .bind(user_pk)
    .bind(&csrf_token)
    .bind(now)
    .bind(now + ctx.config.session_ttl_secs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(user = user_pk, address = ?address, "signed in");

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
        (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn change_own_password(
    State(ctx): State<ApiContext>,
    ClientAddress(address): ClientAddress,
    auth: AuthUser,
    Json(req): Json<PasswordChange>,
) -> Result<StatusCode> {
    let now = ctx.now();
    check_len("current_password", Field::Password, &req.current_password)?;
    check_new_password(
        "new_password",
        &req.new_password,
        ctx.config.password.min_len,
    )?;
    let (username, hash): (String, Option<String>) =
        sqlx::query_as("SELECT username_key, password_hash FROM users WHERE id = $1")
            .bind(auth.user_pk)
            .fetch_one(&ctx.db)
            .await?;
    // Guessing the current password is rate-limited like signing in.
    reserve_attempt(&ctx, &username, address, now)?;
    let policy = ctx.config.password;
    match policy.verify_async(req.current_password, hash).await {
        Ok(true) => ctx.limiter.release(&username, address),
        Ok(false) => {
            tracing::warn!(account = ?shown(&username), address = ?address,
                "wrong current password on a password change");
            return Err(Error::invalid(
                "current_password",
                "wrong_password",
                "Current password: this is not your password",
            ));
        }
        Err(e) => {
            ctx.limiter.release(&username, address);
            return Err(e.into());
        }
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
        assert!(limiter.reserve("ann", ip, 0).is_ok());
        assert!(limiter.reserve("ann", ip, 1).is_ok());
        // Both attempts are counted before their passwords are checked.
        assert!(limiter.reserve("ann", ip, 2).is_err());
        assert!(limiter.reserve("bob", ip, 2).is_ok());
        assert!(limiter.reserve("ann", ip, WINDOW_SECS + 1).is_ok());
    }

    #[test]
    fn a_right_password_gives_its_attempt_back() {
        let limiter = LoginLimiter::new(2, 10);
        assert!(limiter.reserve("ann", None, 0).is_ok());
        limiter.release("ann", None);
        assert!(limiter.reserve("ann", None, 0).is_ok());
        assert!(limiter.reserve("ann", None, 0).is_ok());
        assert!(limiter.reserve("ann", None, 0).is_err());
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn limiter_keeps_at_most_max_tracked_keys_whatever_is_sent() {
        let limiter = LoginLimiter::new(5, 20);
        for i in 0..3 * MAX_TRACKED {
            let ip = IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
            // Some windows expire, most are live: both kinds are swept.
            let now = i64::try_from(i / 200).unwrap_or(0);
            let _ = limiter.reserve(&format!("user{i}"), Some(ip), now);
            assert!(limiter.tracked() <= MAX_TRACKED);
        }
        assert!(limiter.tracked() > MAX_TRACKED / 4, "{}", limiter.tracked());
        // A key is a hash, 32 bytes whatever its account's length.
        let bytes = limiter.tracked() * (32 + std::mem::size_of::<Window>());
        assert!(bytes < 10 << 20, "{bytes}");
    }

    #[test]
    fn long_usernames_and_passwords_are_refused_by_length() {
        assert!(check_len("username", Field::Username, &"a".repeat(100)).is_ok());
        assert!(check_len("username", Field::Username, &"é".repeat(101)).is_err());
        assert!(check_len("password", Field::Password, &"a".repeat(1 << 20)).is_err());
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
