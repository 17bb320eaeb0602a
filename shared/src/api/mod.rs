//! The HTTP API's request and response types (SPEC section 9): the one home
//! of the wire, built by the server (which serves them) and the browser app
//! (which reads them), so a renamed field breaks the build, not a page.
//!
//! Plain serde data, one module per resource, no behaviour beyond a
//! permission's name, a user's full name and a user as a PUT body. With the `openapi` feature
//! (the server turns it on) each type also derives `utoipa::ToSchema` (a
//! query, `IntoParams`) for the OpenAPI document; the wasm app builds
//! without it and does not carry utoipa. The names are the OpenAPI
//! document's schema names. What holds server-only things (database rows,
//! extractors) stays in the server, which converts its rows into these.

pub mod auth;
pub mod duplicates;
pub mod error;
pub mod hierarchy;
pub mod imports;
pub mod roles;
pub mod settings;
pub mod undo;
pub mod users;

pub use auth::{LoginRequest, PasswordChange, SessionInfo};
pub use error::{ErrorBody, ErrorDetail, FieldError, StalePreview};
pub use hierarchy::{NodeInput, NodeList, NodeOut};
pub use imports::{
    ChangeAction, ChangeOut, CommitInput, CommitResult, ImportDetail, ImportInput, ImportList,
    ImportOut, ImportPreview, ImportState, ImportSummary, PageParams, ProgressOut, SyncRow,
    TrashRow,
};
pub use roles::{Permission, RoleInput, RoleList, RoleOut};
pub use settings::RegionalSettings;
pub use users::{EndedSessions, ExportParams, SearchParams, UserInput, UserOut, UserPage};

/// Asserts that each value's `key` is its name on the wire, serialised
/// and read back (the enums the server also names by their key).
#[cfg(test)]
fn assert_keys_are_wire_names<T>(cases: &[(T, &str)], key: fn(T) -> &'static str)
where
    T: Copy + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    for &(value, name) in cases {
        let quoted = format!("\"{name}\"");
        assert_eq!(key(value), name);
        assert_eq!(serde_json::to_string(&value).unwrap(), quoted);
        assert_eq!(serde_json::from_str::<T>(&quoted).unwrap(), value);
    }
}
