//! The server's one error type, returned by handlers, the import and the
//! queries alike: each variant knows its status and code, and becomes
//! `{"error": {"code", "message"}}` (SPEC section 9). Database and internal
//! errors are logged and never shown. Below `http/`: the domain returns it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_shared::api::undo::{StaleUndo, UndoPreview};
use roster_shared::api::{ErrorBody, ErrorDetail, FieldError, ImportPreview, StalePreview};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sign in first")]
    Unauthorized,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("the X-CSRF-Token header is missing or does not match the session")]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<FieldError>,
    },
    /// The request itself is refused (malformed, too large, too slow...):
    /// its status says how, with the code that status has.
    #[error("{message}")]
    Rejected { status: StatusCode, message: String },
    /// Import refused because the directory changed since the preview:
    /// nothing was written; the fresh preview (already stored) goes back.
    #[error("the directory changed since the preview: nothing was imported; check the new preview")]
    StalePreview(Box<ImportPreview>),
    /// Undo refused because the directory changed since its preview:
    /// nothing was written; the fresh undo preview goes back.
    #[error(
        "the directory changed since the undo preview: nothing was undone; check the new preview"
    )]
    StaleUndo(Box<UndoPreview>),
    /// 409: the import was undone before (an import is undone once).
    #[error("{0}")]
    AlreadyUndone(String),
    #[error("too many sign-in attempts; try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: i64 },
    /// 503: a bounded resource is full for now.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: i64,
    },
    #[error("database error")]
    Database(sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Retry-After` when every hasher is busy: one frees up within a second or so.
const HASHERS_RETRY_AFTER_SECS: i64 = 2;

/// `Retry-After` when every pooled database connection stayed busy.
const POOL_RETRY_AFTER_SECS: i64 = 2;

impl From<sqlx::Error> for Error {
    /// Waiting too long for a pooled connection is the server being busy
    /// (503, try again), not a fault (500).
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => Error::Busy {
                message: "the server is busy (every database connection is in use); \
                    try again in a moment"
                    .into(),
                retry_after_secs: POOL_RETRY_AFTER_SECS,
            },
            e => Error::Database(e),
        }
    }
}

impl From<crate::password::HashError> for Error {
    fn from(e: crate::password::HashError) -> Self {
        match e {
            crate::password::HashError::Busy => Error::Busy {
                message: "the server is busy checking other passwords; try again in a moment"
                    .into(),
                retry_after_secs: HASHERS_RETRY_AFTER_SECS,
            },
            crate::password::HashError::Failed(e) => Error::Internal(e),
        }
    }
}

impl Error {
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::Rejected {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::Invalid {
            message: message.clone(),
            details: vec![FieldError {
                field: field.into(),
                code: code.into(),
                message,
            }],
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Error::Rejected { status, .. } => (
                *status,
                match status.as_u16() {
                    405 => "method_not_allowed",
                    408 => "timeout",
                    413 => "too_large",
                    415 => "unsupported_media_type",
                    422 => "invalid",
                    _ => "bad_request",
                },
            ),
            Error::StalePreview(_) => (StatusCode::CONFLICT, "stale_preview"),
            Error::StaleUndo(_) => (StatusCode::CONFLICT, "stale_undo"),
            Error::AlreadyUndone(_) => (StatusCode::CONFLICT, "already_undone"),
            Error::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            Error::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Error::Database(_) | Error::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let retry_after = match &self {
            Error::TooManyAttempts { retry_after_secs }
            | Error::Busy {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        match &self {
            Error::Database(e) => tracing::error!(error = %e, "database error"),
            Error::Internal(e) => tracing::error!(error = %format!("{e:#}"), "internal error"),
            _ => {}
        }
        let details = match &self {
            Error::Invalid { details, .. } => Some(details.clone()),
            _ => None,
        };
        let error = ErrorDetail {
            code: code.into(),
            message: self.to_string(),
            details,
        };
        let mut response = match self {
            Error::StalePreview(preview) => (
                status,
                Json(StalePreview {
                    error,
                    preview: *preview,
                }),
            )
                .into_response(),
            Error::StaleUndo(preview) => (
                status,
                Json(StaleUndo {
                    error,
                    preview: *preview,
                }),
            )
                .into_response(),
            _ => (status, Json(ErrorBody { error })).into_response(),
        };
        if let Some(retry_after_secs) = retry_after
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        // A body that stalled (the server's body timeout) is the client's
        // slowness, not a malformed request.
        let status = if caused_by_body_timeout(&r) {
            StatusCode::REQUEST_TIMEOUT
        } else {
            r.status()
        };
        Error::Rejected {
            status,
            message: r.body_text(),
        }
    }
}

impl From<axum::extract::multipart::MultipartError> for Error {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        // As a JSON body's: a stalled upload is 408, not a malformed form
        // (nor the 500 axum gives a body's read error).
        if caused_by_body_timeout(&e) {
            return Error::Rejected {
                status: StatusCode::REQUEST_TIMEOUT,
                message: "the upload stalled: nothing arrived for too long; send the file again"
                    .into(),
            };
        }
        Error::Rejected {
            status: e.status(),
            message: e.body_text(),
        }
    }
}

fn caused_by_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    // Bounded: a chain of causes is a few links; 16 is plenty.
    for _ in 0..16 {
        match cause {
            Some(e) if e.is::<tower_http::timeout::TimeoutError>() => return true,
            Some(e) => cause = e.source(),
            None => return false,
        }
    }
    false
}

impl From<axum::extract::rejection::PathRejection> for Error {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        Error::bad_request(r.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for Error {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        Error::bad_request(r.body_text())
    }
}

/// realworld's `on_constraint`, for the one constraint kind Roster answers
/// with a 409: a unique index that a concurrent write reached first (the
/// caller's own check had passed). Any other database error is what
/// `From<sqlx::Error>` makes of it.
pub trait ResultExt<T> {
    /// A unique violation becomes 409 with `message`.
    fn conflict_on_unique(self, message: &str) -> Result<T>;
}

impl<T> ResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn conflict_on_unique(self, message: &str) -> Result<T> {
        self.map_err(|e| {
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation())
            {
                Error::conflict(message)
            } else {
                // A pool timeout here is still 503, as everywhere.
                Error::from(e)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_timeout_is_busy_also_where_a_unique_violation_is_a_conflict() {
        let e = Err::<(), _>(sqlx::Error::PoolTimedOut)
            .conflict_on_unique("taken")
            .unwrap_err();
        assert_eq!(e.into_response().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
