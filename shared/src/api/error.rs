//! Every error's answer (SPEC section 9): `{"error": {"code", "message"}}`,
//! and the 409 of a stale preview, which also carries the fresh preview.

use serde::{Deserialize, Serialize};

use super::imports::ImportPreview;

/// One field's problem in a 422 answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// 409 on a stale preview: the error and the fresh preview to show.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StalePreview {
    pub error: ErrorDetail,
    pub preview: ImportPreview,
}

/// `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `not_found`, `forbidden`.
    pub code: String,
    /// A sentence for the administrator.
    pub message: String,
    /// For `invalid`: every field's problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldError>>,
}
