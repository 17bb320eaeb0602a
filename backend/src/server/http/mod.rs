//! The HTTP side: one `router()` per resource, merged under `/api`, the web
//! app's files around it.
//!
//! Arrows point down: a resource's module (auth, users, roles, hierarchy,
//! settings, imports) calls the domain (`crate::imports`, `crate::password`,
//! ...) and `crate::db`, never another resource's module. What they share
//! is here: [`ApiContext`], [`json`] (extractors answering in the API's
//! error shape), [`extract`] (the session extractors) and the form checks
//! below. Only this module and [`openapi`] name every resource.

pub mod auth;
pub mod duplicates;
pub mod extract;
pub mod hierarchy;
pub mod imports;
pub mod json;
pub mod openapi;
pub mod roles;
pub mod settings;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::Error;
use crate::{Config, CookieSecure, Db, Timeouts};

/// The state every handler gets.
#[derive(Clone)]
pub struct ApiContext {
    pub db: Db,
    pub config: Arc<Config>,
    pub limiter: Arc<auth::LoginLimiter>,
    /// The key sealing previews' passwords, the previews being built (and
    /// on SQLite the running commits).
    pub imports: Arc<crate::imports::ImportRegistry>,
    /// The tasks that outlive their request's client (a preview's
    /// classification, a commit), which a graceful shutdown waits for.
    pub tasks: tokio_util::task::TaskTracker,
    /// Turns to run a search: half the pool's connections (at least one),
    /// so that a burst of broad searches cannot take every connection from
    /// user pages and sign-ins.
    pub searches: Arc<tokio::sync::Semaphore>,
    /// Turns to export users (`export::AT_ONCE`).
    pub exports: Arc<tokio::sync::Semaphore>,
}

impl ApiContext {
    pub fn new(db: Db, config: Config, key: crate::secret::SecretKey) -> Self {
        let limiter = Arc::new(auth::LoginLimiter::new(
            db.clone(),
            config.login_failures_per_account,
            config.login_failures_per_address,
        ));
        ApiContext {
            imports: crate::imports::ImportRegistry::with_sweeper(
                db.clone(),
                config.clock.clone(),
                key,
            ),
            searches: Arc::new(tokio::sync::Semaphore::new(
                (db.options().get_max_connections() as usize / 2).max(1),
            )),
            exports: Arc::new(tokio::sync::Semaphore::new(crate::export::AT_ONCE)),
            db,
            limiter,
            tasks: tokio_util::task::TaskTracker::new(),
            config: Arc::new(config),
        }
    }

    pub fn now(&self) -> i64 {
        self.config.clock.now()
    }
}

/// The whole application: `/api/…` and, if configured, the web app.
pub fn router(ctx: ApiContext) -> Router {
    let max_body = ctx.config.max_body_bytes;
    let static_dir = ctx.config.static_dir.clone();
    let timeouts = ctx.config.timeouts;
    // Every route but the imports' (which have their own, larger limit)
    // takes at most `max_body_bytes`.
    let limited = Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(duplicates::router())
        .merge(roles::router())
        .merge(hierarchy::router())
        .merge(settings::router())
        .merge(openapi::router())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body));
    let api = limited
        .merge(imports::router())
        // After routing, so that the time limit can tell the routes apart.
        .route_layer(middleware::from_fn_with_state(timeouts, time_limit))
        .fallback(|| async { Error::not_found("no such API endpoint") })
        .with_state(ctx.clone())
        .layer(middleware::from_fn(json_errors))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let app = Router::new().nest("/api", api);
    let app = match static_dir {
        Some(dir) => {
            let index = dir.join("index.html");
            app.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        None => app,
    };
    app.layer(RequestBodyTimeoutLayer::new(timeouts.body_idle))
        .layer(middleware::from_fn_with_state(ctx.config, security_headers))
        .layer(TraceLayer::new_for_http())
}

/// What the browser may load and run for the app: its own scripts, styles
/// and wasm (`'wasm-unsafe-eval'` lets it compile WebAssembly), no inline
/// script (index.html's loader is a file: Trunk.toml), style attributes
/// (the pages set a few), the inline SVG icon (`data:`), the check worker
/// from this server, and no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; style-src-attr 'unsafe-inline'; \
     img-src 'self' data:; \
     worker-src 'self'; \
     connect-src 'self'; \
     object-src 'none'; \
     base-uri 'none'; \
     form-action 'self'; \
     frame-ancestors 'none'";

/// The security headers of every answer, pages and API alike; HSTS only
/// over HTTPS (a browser ignores it over plain HTTP, and a site that is
/// reached by plain HTTP must stay reachable).
async fn security_headers(
    State(config): State<Arc<Config>>,
    request: Request,
    next: Next,
) -> Response {
    let https = came_over_https(&config, request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Whether the request came over HTTPS, for the cookie's `Secure` and HSTS:
/// as `--cookie-secure` says, and by default as a reverse proxy's
/// `X-Forwarded-Proto: https` says.
pub(crate) fn came_over_https(config: &Config, headers: &HeaderMap) -> bool {
    match config.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")),
    }
}

/// Bounds the time of a request, its body included: 408 after. Try
/// Import's upload gets longer; an import's commit and an undo's are not
/// cut, as they can take long (passwords to hash, 100,000 users to write)
/// and their work goes on in a task of its own anyway: the answer would be
/// lost, not the work.
async fn time_limit(
    State(timeouts): State<Timeouts>,
    path: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let limit = match (request.method(), path.as_str()) {
        (
            &Method::POST,
            "/api/imports/{id}/commit"
            | "/imports/{id}/commit"
            | "/api/imports/{id}/undo/commit"
            | "/imports/{id}/undo/commit",
        ) => {
            return next.run(request).await;
        }
        (&Method::POST, "/api/imports" | "/imports") => timeouts.upload,
        _ => timeouts.request,
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Rejected {
            status: StatusCode::REQUEST_TIMEOUT,
            message: format!(
                "the request took longer than {} seconds and was stopped",
                limit.as_secs()
            ),
        }
        .into_response(),
    }
}

/// Gives the error shape to the answers that layers and axum make on their
/// own (413 from the body limit, 405), which come without a JSON body.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here".to_string(),
        other => other
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_string(),
    };
    let mut replaced = Error::Rejected { status, message }.into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        replaced.headers_mut().insert(header::ALLOW, allow.clone());
    }
    replaced
}

/// A node's or a role's name, held by the rules crate to the rules of the
/// import field whose cells hold the same kind of value
/// ([`roster_shared::rules::check_form_value`]), so its whitespace and
/// control characters are the rules crate's (U+200B and U+FEFF are
/// whitespace, U+2028 a line break):
/// - a node's name is what a sub-level cell names (`Field::SubLevel1`: at
///   most 255 characters). An import refuses a sub-level " School" or
///   "\u{200B}School" as `untrimmed`, so the API refuses it too rather than
///   store a node no import row could name, or trim it into another name.
/// - a role's name is in no import row; as a person's name
///   (`Field::FirstName`: at most 100) it is trimmed silently.
pub(crate) fn check_name(name: &str, like: roster_shared::Field) -> crate::error::Result<String> {
    roster_shared::rules::check_form_value(like, "Name", name)
        .map_err(|(code, message)| crate::error::Error::invalid("name", code.key(), message))
}

/// 422 when `password` is on the list of common passwords.
pub(crate) fn check_not_common(key: &str, password: &str) -> crate::error::Result<()> {
    if crate::password::is_common(password) {
        return Err(Error::invalid(
            key,
            "too_common",
            "Password: too common, choose another",
        ));
    }
    Ok(())
}
