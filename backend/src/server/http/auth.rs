//! Sessions (SPEC sections 7 and 9): sign-in, sign-out, who am I, and the
//! sign-in limits. The extractor every endpoint starts with is
//! `extract.rs`.
//!
//! The cookie holds a random token; the database holds only its SHA-256, so
//! a copy of the database opens no session. Each session has its own CSRF
//! token, sent back in `X-CSRF-Token` on every state-changing request.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roster_shared::api::{ErrorBody, LoginRequest, PasswordChange, SessionInfo};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::ApiContext;
use super::extract::{AuthUser, COOKIE, session_id, session_token};
use super::json::Json;
use crate::Db;
use crate::db::DbKind;
use crate::db::roles;
use crate::db::users::{self, username_key};
use crate::error::{Error, Result};
use crate::password::{hex, random_hex};
use roster_shared::Field;

/// The window in which failed sign-ins are counted.
const WINDOW_SECS: i64 = 15 * 60;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/me/password", post(change_own_password))
}

/// Counts failed sign-ins per account and per client address (an IPv6 one
/// by its /64) in a 15-minute window; past the limit, sign-in answers 429 before any
/// password is checked. An attempt is counted (reserved) *before* its
/// password is checked and given back if it succeeds, so parallel guesses
/// cannot all pass the check before any is counted.
///
/// The counts live in the database (`sign_in_attempts`), so every process
/// on it counts the same attempts: one atomic upsert per key reserves an
/// attempt only while its window is under the limit. Keys are SHA-256
/// digests (never the username or address in clear), at most
/// `max_tracked` rows; past that a new key is counted in one of 256 shared
/// overflow rows of its kind, with the same limit, so a table filled by a
/// spray makes limits stricter for the keys it could not hold, never looser,
/// and the table never grows past the cap and those rows.
pub struct LoginLimiter {
    db: Db,
    per_account: u32,
    per_address: u32,
    max_tracked: i64,
}

/// Most keys counted at once (rows of about 100 bytes).
pub const MAX_TRACKED: i64 = 100_000;

/// The attempts [`LoginLimiter::reserve`] counted, to give back with
/// [`LoginLimiter::release`] when the password was right or never checked.
#[must_use = "a reservation not given back stays counted as a failure"]
pub struct Reservation {
    keys: Vec<String>,
}

/// One key's answer to a reservation.
enum Counted {
    /// Counted under this key (the key itself, or its overflow row).
    Yes(String),
    /// The key's window is full: seconds to wait.
    Full(i64),
}

impl LoginLimiter {
    pub fn new(db: Db, per_account: u32, per_address: u32) -> Self {
        Self::with_max_tracked(db, per_account, per_address, MAX_TRACKED)
    }

    /// A limiter that keeps at most `max_tracked` keys (tests use a few).
    pub fn with_max_tracked(db: Db, per_account: u32, per_address: u32, max_tracked: i64) -> Self {
        LoginLimiter {
            db,
            per_account,
            per_address,
            max_tracked,
        }
    }

    fn key(kind: &str, value: &str) -> String {
        hex(&Sha256::new()
            .chain_update(kind)
            .chain_update([0])
            .chain_update(value)
            .finalize())
    }

    /// The shared row a key of `kind` is counted in when the table is full:
    /// one of 256, by the key's first byte.
    fn overflow_key(kind: &str, key: &str) -> String {
        Self::key(
            &format!("overflow {kind}"),
            key.get(..2).unwrap_or_default(),
        )
    }

    fn keys(&self, account: &str, address: Option<IpAddr>) -> Vec<(&'static str, String, u32)> {
        let mut keys = vec![("account", Self::key("account", account), self.per_account)];
        if let Some(a) = address {
            keys.push((
                "address",
                Self::key("address", &address_key(a)),
                self.per_address,
            ));
        }
        keys
    }

    /// Counts one attempt for the account and the address, or `Err` with
    /// the seconds to wait when either limit is already reached (then
    /// neither is counted).
    pub async fn reserve(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: i64,
    ) -> Result<Reservation> {
        let mut reservation = Reservation { keys: Vec::new() };
        for (kind, key, limit) in self.keys(account, address) {
            let counted = self.count(kind, key, limit, now).await;
            match counted {
                Ok(Counted::Yes(key)) => reservation.keys.push(key),
                Ok(Counted::Full(wait)) => {
                    self.release(reservation).await;
                    return Err(Error::TooManyAttempts {
                        retry_after_secs: wait,
                    });
                }
                Err(e) => {
                    self.release(reservation).await;
                    return Err(e.into());
                }
            }
        }
        Ok(reservation)
    }

    /// Counts one attempt under `key`, or under its overflow row when the
    /// table holds `max_tracked` keys and `key` is not one of them.
    async fn count(&self, kind: &str, key: String, limit: u32, now: i64) -> sqlx::Result<Counted> {
        // A few rounds: a row may appear or expire between two statements.
        for _ in 0..3 {
            if self
                .upsert(&key, limit, now, Some(self.max_tracked))
                .await?
            {
                return Ok(Counted::Yes(key));
            }
            if let Some(wait) = self.wait(&key, limit, now).await? {
                return Ok(Counted::Full(wait));
            }
            // No row for the key and no room for it: expired windows go
            // first (the background job may not have run yet).
            if delete_expired_sign_in_windows(&self.db, now).await? > 0 {
                continue;
            }
            let overflow = Self::overflow_key(kind, &key);
            if self.upsert(&overflow, limit, now, None).await? {
                return Ok(Counted::Yes(overflow));
            }
            if let Some(wait) = self.wait(&overflow, limit, now).await? {
                return Ok(Counted::Full(wait));
            }
        }
        // Rows that keep changing under us: refuse rather than count nothing.
        Ok(Counted::Full(1))
    }

    /// One atomic statement: counts an attempt under `key` if its window is
    /// under `limit` (a new or expired window starts at `now` with 1); a
    /// new key only while the table holds fewer than `cap` rows. Whether it
    /// counted.
    async fn upsert(
        &self,
        key: &str,
        limit: u32,
        now: i64,
        cap: Option<i64>,
    ) -> sqlx::Result<bool> {
        let counted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO sign_in_attempts (key, window_start, attempts) \
             SELECT $1, $2, 1 \
             WHERE EXISTS (SELECT 1 FROM sign_in_attempts WHERE key = $1) \
                OR (SELECT COUNT(*) FROM sign_in_attempts) < $4 \
             ON CONFLICT (key) DO UPDATE SET \
                window_start = CASE WHEN sign_in_attempts.window_start <= $5 \
                    THEN $2 ELSE sign_in_attempts.window_start END, \
                attempts = CASE WHEN sign_in_attempts.window_start <= $5 \
                    THEN 1 ELSE sign_in_attempts.attempts + 1 END \
             WHERE sign_in_attempts.window_start <= $5 OR sign_in_attempts.attempts < $3 \
             RETURNING attempts",
        )
        .bind(key)
        .bind(now)
        .bind(i64::from(limit))
        .bind(cap.unwrap_or(i64::MAX))
        .bind(now - WINDOW_SECS)
        .fetch_optional(&self.db)
        .await?;
        Ok(counted.is_some())
    }

    /// The seconds until `key`'s window ends, if it is live and full.
    async fn wait(&self, key: &str, limit: u32, now: i64) -> sqlx::Result<Option<i64>> {
        let start: Option<i64> = sqlx::query_scalar(
            "SELECT window_start FROM sign_in_attempts \
             WHERE key = $1 AND attempts >= $2 AND window_start > $3",
        )
        .bind(key)
        .bind(i64::from(limit))
        .bind(now - WINDOW_SECS)
        .fetch_optional(&self.db)
        .await?;
        Ok(start.map(|start| (start + WINDOW_SECS - now).max(1)))
    }

    /// Gives back the attempts of a reservation: the password was right,
    /// or was never checked. A row back to no attempt is deleted. Best
    /// effort: an attempt not given back stays counted (logged).
    pub async fn release(&self, reservation: Reservation) {
        for key in reservation.keys {
            if let Err(e) = self.release_key(&key).await {
                tracing::warn!(error = %e, "could not give back a sign-in attempt");
            }
        }
    }

    async fn release_key(&self, key: &str) -> sqlx::Result<()> {
        let deleted = sqlx::query("DELETE FROM sign_in_attempts WHERE key = $1 AND attempts <= 1")
            .bind(key)
            .execute(&self.db)
            .await?
            .rows_affected();
        if deleted == 0 {
            sqlx::query(
                "UPDATE sign_in_attempts SET attempts = attempts - 1 \
                 WHERE key = $1 AND attempts > 0",
            )
            .bind(key)
            .execute(&self.db)
            .await?;
        }
        Ok(())
    }
}

/// Deletes the sign-in windows that ended by `now` (and rows given back to
/// no attempt); safe in every process at once (`db::clean_up`). How many
/// went.
pub async fn delete_expired_sign_in_windows(db: &Db, now: i64) -> sqlx::Result<u64> {
    crate::db::clean_up(
        db,
        crate::db::CleanUp::SignInWindows,
        "DELETE FROM sign_in_attempts WHERE window_start <= $1 OR attempts <= 0",
        now - WINDOW_SECS,
    )
    .await
}

/// The client's IP address, for the sign-in limiter and the log: the
/// connection's (behind a reverse proxy, the proxy's), or with
/// `--trust-forwarded-for` the address the proxy appended to
/// `X-Forwarded-For`: the last of its last header, which a client cannot
/// forge (it can only add addresses before it). `None` without connect info.
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<ApiContext> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &ApiContext,
    ) -> std::result::Result<Self, Self::Rejection> {
        let connection = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if !ctx.config.trust_forwarded_for {
            return Ok(ClientAddress(connection));
        }
        Ok(ClientAddress(forwarded_for(&parts.headers).or(connection)))
    }
}

/// The address a client is counted under: an IPv4 address (an IPv4-mapped
/// IPv6 one as its IPv4), an IPv6 one by its /64, since one client
/// commonly holds a whole /64 and would otherwise have unlimited addresses.
fn address_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = v6.to_bits() & !u128::from(u64::MAX);
            format!("{}/64", std::net::Ipv6Addr::from_bits(prefix))
        }
    }
}

/// The last address of the last `X-Forwarded-For` header, if it is one.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let address = last.to_str().ok()?.rsplit(',').next()?.trim();
    address
        .parse::<IpAddr>()
        .ok()
        // Some proxies add the port; IPv6 then comes in brackets.
        .or_else(|| address.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

async fn session_info(ctx: &ApiContext, user_pk: i64, csrf_token: String) -> Result<SessionInfo> {
    let user = users::load(&ctx.db, user_pk, false)
        .await?
        .ok_or(Error::Unauthorized)?;
    let role = roles::load(&ctx.db, user.role_id)
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
    super::check_not_common(key, password)
}

/// An account as the log shows it: its first 40 characters (logged with
/// `?`, so a line break in it is escaped, not a forged log line).
fn shown(account: &str) -> String {
    account.chars().take(40).collect()
}

/// Counts a sign-in attempt before its password is checked; 429 (logged)
/// past the limit.
/// Reserves a sign-in attempt, timed by the database's clock (shared by
/// every process), not this host's.
async fn reserve_attempt(
    ctx: &ApiContext,
    account: &str,
    address: Option<IpAddr>,
) -> Result<Reservation> {
    let now = crate::db::database_now(&ctx.db).await?;
    ctx.limiter
        .reserve(account, address, now)
        .await
        .inspect_err(|e| {
            if matches!(e, Error::TooManyAttempts { .. }) {
                tracing::warn!(account = ?shown(account), address = ?address,
                    "sign-in refused: too many failed attempts");
            }
        })
}

/// The active user an account (username key) signs in to, and their hash.
/// `lock`: in the transaction that opens the session, on PostgreSQL, the
/// row is locked `FOR SHARE NOWAIT`, so a write in flight to it (a new
/// password, the trash can, an import or an undo through its whole commit)
/// answers 503 at once rather than being read around or waited for with a
/// pooled connection held; on SQLite that transaction (`db::begin`) already
/// holds the write lock.
async fn active_account(
    conn: &mut AnyConnection,
    account: &str,
    lock: bool,
) -> Result<Option<(i64, Option<String>)>> {
    let lock = lock && DbKind::of(conn) == DbKind::Postgres;
    sqlx::query_as(&format!(
        "SELECT id, password_hash FROM users WHERE username_key = $1 AND deleted_at IS NULL{}",
        if lock { " FOR SHARE NOWAIT" } else { "" }
    ))
    .bind(account)
    .fetch_optional(conn)
    .await
    .map_err(|e| {
        // PostgreSQL's `lock_not_available` (SQLSTATE 55P03): `NOWAIT`.
        if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("55P03") {
            Error::Busy {
                message: "this account is being changed right now (an import or an undo \
                    may be writing it); try again in a moment"
                    .into(),
                retry_after_secs: 2,
            }
        } else {
            Error::from(e)
        }
    })
}

/// A session opened: its user, its cookie's token and its CSRF token.
struct Opened {
    user_pk: i64,
    token: String,
    csrf_token: String,
}

/// Checks the password and opens a session, or `None` when the password
/// is wrong (an unknown account costs a dummy hash, as long as a real one).
///
/// The hash is read, then verified (slow, holding no connection), then read
/// again in the transaction that inserts the session: a write that ended
/// the user's sessions meanwhile (a new password, the trash can, an
/// import or an undo) deleted them before this session existed, so the
/// session is opened only if the account still has the hash verified.
async fn open_session(
    ctx: &ApiContext,
    account: &str,
    password: String,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Opened>> {
    let found = active_account(&mut *ctx.db.acquire().await?, account, false).await?;
    let (user_pk, hash) = match found {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let ok = ctx
        .config
        .password
        .verify_async(password, hash.clone())
        .await?;
    let Some(user_pk) = user_pk.filter(|_| ok) else {
        return Ok(None);
    };

    let token = random_hex(32)?;
    let csrf_token = random_hex(32)?;
    let mut tx = crate::db::begin(&ctx.db).await?;
    // First, before any session row is touched: a write in flight locks the
    // user's row before it deletes sessions, so waiting here for it while
    // holding a session row could deadlock.
    let now_found = active_account(&mut tx, account, true).await?;
    if now_found != Some((user_pk, hash)) {
        tx.rollback().await?;
        tracing::warn!(
            user = user_pk,
            "sign-in refused: the password or the account \
            changed while the password was checked"
        );
        return Ok(None);
    }
    if let Some(old) = session_token(headers) {
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
    Ok(Some(Opened {
        user_pk,
        token,
        csrf_token,
    }))
}

/// Sign in. The old session of the browser, if any, ends: every sign-in
/// gets a new session id.
#[utoipa::path(post, path = "/api/login", tag = "sessions", request_body = LoginRequest, security(()),
    responses((status = 200, body = SessionInfo, description = "signed in; sets the session cookie"),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "longer than any account's"),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "every password hasher busy, or the account is being written right now (an import or an undo); see Retry-After")))]
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
    let reservation = reserve_attempt(&ctx, &account, address).await?;
    let opened = match open_session(&ctx, &account, req.password, &headers, now).await {
        Ok(Some(opened)) => opened,
        Ok(None) => {
            // The attempt stays counted: it is the failure (also a password
            // that was right until a change landed while it was checked).
            tracing::warn!(account = ?shown(&account), address = ?address, "failed sign-in");
            return Err(Error::BadCredentials);
        }
        Err(e) => {
            ctx.limiter.release(reservation).await;
            return Err(e);
        }
    };
    ctx.limiter.release(reservation).await;
    let user_pk = opened.user_pk;
    tracing::info!(user = user_pk, address = ?address, "signed in");

    let info = session_info(&ctx, user_pk, opened.csrf_token).await?;
    let cookie = set_cookie(
        &opened.token,
        ctx.config.session_ttl_secs,
        cookie_is_secure(&ctx, &headers),
    )?;
    Ok(([(header::SET_COOKIE, cookie)], Json(info)).into_response())
}

/// Sign out: the session ends on the server and the cookie is cleared.
#[utoipa::path(post, path = "/api/logout", tag = "sessions",
    responses((status = 204, description = "signed out"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
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
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody)))]
pub async fn me(State(ctx): State<ApiContext>, auth: AuthUser) -> Result<Json<SessionInfo>> {
    let csrf = auth.csrf_token.clone();
    Ok(Json(session_info(&ctx, auth.user_pk, csrf).await?))
}

/// Change one's own password (any signed-in user). The user's other
/// sessions end; this one goes on.
#[utoipa::path(post, path = "/api/me/password", tag = "sessions", request_body = PasswordChange,
    responses((status = 204, description = "changed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
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
    let reservation = reserve_attempt(&ctx, &username, address).await?;
    let policy = ctx.config.password;
    match policy.verify_async(req.current_password, hash).await {
        Ok(true) => ctx.limiter.release(reservation).await,
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
            ctx.limiter.release(reservation).await;
            return Err(e.into());
        }
    }
    let new_hash = policy.hash_async(req.new_password).await?;
    // Under the directory's write lock: an undo running now (SPEC 6b)
    // restores hashes it judged unchanged, and must not write over this one.
    let mut tx = crate::db::begin_directory_write(&ctx.db).await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(new_hash)
        .bind(now)
        .bind(auth.user_pk)
        .execute(&mut *tx)
        .await?;
    crate::db::users::forget_kept_hashes(&mut tx, auth.user_pk).await?;
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
    fn long_usernames_and_passwords_are_refused_by_length() {
        assert!(check_len("username", Field::Username, &"a".repeat(100)).is_ok());
        assert!(check_len("username", Field::Username, &"é".repeat(101)).is_err());
        assert!(check_len("password", Field::Password, &"a".repeat(1 << 20)).is_err());
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64() {
        let key = |a: &str| address_key(a.parse().unwrap());
        assert_eq!(key("2001:db8::1"), "2001:db8::/64");
        assert_eq!(key("2001:db8::ffff:1"), key("2001:db8::2"));
        assert_ne!(key("2001:db8:0:1::1"), key("2001:db8::1"));
        assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(key("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn the_forwarded_address_is_the_last_one_the_proxy_added() {
        let mut headers = HeaderMap::new();
        assert_eq!(forwarded_for(&headers), None);
        // What the client sent first, then the proxy's own addition.
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 7.7.7.7"),
        );
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("10.0.0.9 , 203.0.113.7"),
        );
        assert_eq!(forwarded_for(&headers), "203.0.113.7".parse().ok());
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("[2001:db8::1]:4711"),
        );
        assert_eq!(forwarded_for(&headers), "2001:db8::1".parse().ok());
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, unknown"),
        );
        assert_eq!(forwarded_for(&headers), None);
    }
}
