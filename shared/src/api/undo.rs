//! Undo an import (SPEC section 6b): the preview `POST
//! /api/imports/{id}/undo` answers, the commit's body and its answer.

use serde::{Deserialize, Serialize};

/// What undoing an import would do, computed from the directory as it is
/// now. The lists hold the first 100 of each; `summary` counts them all.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoPreview {
    pub import_id: i64,
    /// Sent back to commit: a digest of what this preview would do,
    /// computed from the directory as it is now.
    pub fingerprint: String,
    pub summary: UndoSummary,
    /// Users the import created, to go to the trash can; first 100.
    pub to_trash: Vec<UndoUser>,
    /// Users it synchronised, to get their earlier values back; first 100.
    pub to_restore: Vec<UndoRestore>,
    /// Paths of nodes it created that will be empty, to be removed; first 100.
    pub nodes_to_remove: Vec<String>,
    /// Users left as they are, and why; first 100.
    pub untouched: Vec<UndoUntouched>,
}

/// How many users and nodes each list of [`UndoPreview`] holds in all.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoSummary {
    pub to_trash: u64,
    pub to_restore: u64,
    pub nodes_to_remove: u64,
    pub untouched: u64,
}

/// A user the import created.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoUser {
    pub id: i64,
    pub username: String,
    pub user_id: String,
}

/// A user the import synchronised. `fields`: the field keys (SPEC section 2
/// keys, plus "role", "hierarchy", "password") whose earlier values come back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoRestore {
    pub id: i64,
    pub username: String,
    pub fields: Vec<String>,
}

/// Why an undo leaves a user alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UntouchedReason {
    /// Changed since the import (`fields` says what; none: moved to or
    /// out of the trash can).
    ChangedSince,
    /// Another user holds the user's earlier user ID now.
    UserIdTaken,
    /// Deleted for good (purged) since.
    Gone,
}

impl UntouchedReason {
    /// The name on the wire.
    pub fn key(self) -> &'static str {
        match self {
            UntouchedReason::ChangedSince => "changed_since",
            UntouchedReason::UserIdTaken => "user_id_taken",
            UntouchedReason::Gone => "gone",
        }
    }
}

/// A user the undo leaves alone: why (`fields`: what changed since, for
/// `changed_since`), `message` one sentence.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoUntouched {
    pub id: i64,
    pub username: String,
    pub reason: UntouchedReason,
    pub fields: Vec<String>,
    pub message: String,
}

/// The body of `POST /api/imports/{id}/undo/commit`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoCommit {
    /// The fingerprint of the preview shown.
    pub fingerprint: String,
}

/// What an undo did; `undo_import_id` is its own history entry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UndoResult {
    pub undo_import_id: i64,
    pub trashed: u64,
    pub restored: u64,
    pub nodes_removed: u64,
    pub untouched: u64,
}

/// 409 on a stale undo preview: the error and the fresh undo preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaleUndo {
    pub error: super::ErrorDetail,
    pub preview: UndoPreview,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_untouched_reasons_are_their_names_on_the_wire() {
        super::super::assert_keys_are_wire_names(
            &[
                (UntouchedReason::ChangedSince, "changed_since"),
                (UntouchedReason::UserIdTaken, "user_id_taken"),
                (UntouchedReason::Gone, "gone"),
            ],
            UntouchedReason::key,
        );
    }
}
