//! Regional settings (SPEC section 1).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionalSettings {
    /// An IANA time zone name, e.g. `Europe/Amsterdam`.
    pub time_zone: String,
}
