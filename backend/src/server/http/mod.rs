//! The HTTP side: one `router()` per resource, merged under `/api`, the web
//! app's files around it.

pub mod auth;
pub mod hierarchy;
pub mod imports;
pub mod json;
pub mod openapi;
pub mod roles;
pub mod settings;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::Error;
use crate::{Config, Db};

/// The state every handler gets.
#[derive(Clone)]
pub struct ApiContext {
    pub db: Db,
    pub config: Arc<Config>,
    pub limiter: Arc<auth::LoginLimiter>,
    /// The passwords of stored previews (never written to the database),
    /// the running commits, the previews being built.
    pub imports: Arc<crate::imports::ImportRegistry>,
}

impl ApiContext {
    pub fn new(db: Db, config: Config) -> Self {
        ApiContext {
            db,
            imports: crate::imports::ImportRegistry::with_sweeper(config.clock.clone()),
            limiter: Arc::new(auth::LoginLimiter::new(
                config.login_failures_per_account,
                config.login_failures_per_address,
            )),
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
    // Every route but the imports' (which have their own, larger limit)
    // takes at most `max_body_bytes`.
    let limited = Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(roles::router())
        .merge(hierarchy::router())
        .merge(settings::router())
        .merge(openapi::router())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body));
    let api = limited
        .merge(imports::router())
        .fallback(|| async { Error::not_found("no such API endpoint") })
        .with_state(ctx)
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
    app.layer(SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ))
    .layer(TraceLayer::new_for_http())
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

/// A role's or a node's name: trimmed, 1 to `max` characters, no control
/// characters; the messages follow the rules crate's.
pub(crate) fn check_name(name: &str, max: usize) -> crate::error::Result<String> {
    use crate::error::Error;
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(
            "name",
            "required",
            "Name: This value is required",
        ));
    }
    if name.chars().count() > max {
        return Err(Error::invalid(
            "name",
            "too_long",
            format!("Name: at most {max} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "invalid_characters",
            "Name: line breaks and control characters are not allowed",
        ));
    }
    Ok(name.to_string())
}
