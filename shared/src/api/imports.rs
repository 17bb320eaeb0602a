//! Try Import, Import and the import history (SPEC sections 5, 6 and 9).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::{MappedRow, RowError, RowWarning};

/// Most rows one import holds (SPEC section 3's limit).
pub const MAX_ROWS: usize = 250_000;

/// The 422 message of an import of more than [`MAX_ROWS`] rows.
pub fn too_many_rows_message() -> String {
    format!("rows: at most {MAX_ROWS} rows in one import")
}

/// Try Import's body: the mapped rows, as `roster check --json` prints them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportInput<'a> {
    /// The spreadsheet's name, for the history.
    pub file_name: String,
    /// The role every imported user gets.
    pub role_id: i64,
    /// The start hierarchy node; sub-levels name nodes below it.
    pub hierarchy_id: i64,
    /// `{"row": 2, "first_name": …}`, row numbers increasing; at most 250,000.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    // A `Cow`: the browser sends its rows without copying them; the
    // server reads them owned.
    #[serde(deserialize_with = "bounded_rows")]
    pub rows: Cow<'a, [MappedRow]>,
}

/// Deserialises the rows array, failing at row `MAX_ROWS + 1`: a body of
/// millions of tiny rows never becomes millions of rows in memory.
fn bounded_rows<'de, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Cow<'a, [MappedRow]>, D::Error> {
    struct Rows;
    impl<'de> Visitor<'de> for Rows {
        type Value = Vec<MappedRow>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array of at most {MAX_ROWS} rows")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut rows = Vec::new();
            while let Some(row) = seq.next_element()? {
                if rows.len() == MAX_ROWS {
                    return Err(de::Error::custom(too_many_rows_message()));
                }
                rows.push(row);
            }
            Ok(rows)
        }
    }
    deserializer.deserialize_seq(Rows).map(Cow::Owned)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommitInput {
    /// Import the other rows when some have errors (else 422).
    #[serde(default)]
    pub skip_errors: bool,
}

/// `{"rows", "to_create", "to_sync", "unchanged", "with_errors", "with_warnings"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    pub rows: usize,
    pub to_create: usize,
    /// Rows matching an existing user (trash can included), unchanged ones too.
    pub to_sync: usize,
    /// Of `to_sync`, the rows that would change nothing.
    pub unchanged: usize,
    pub with_errors: usize,
    /// Rows with at least one warning (SPEC 4b; they are imported all the
    /// same). Absent from previews stored before warnings were counted.
    #[serde(default)]
    pub with_warnings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRow {
    pub row: u32,
    pub username: String,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrashRow {
    pub row: u32,
    pub username: String,
}

/// The answer of Try Import (SPEC section 9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    pub id: i64,
    pub summary: ImportSummary,
    /// Every error of the first 15 rows with errors, as in `roster check`
    /// (`held_by` for `in_use`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub errors: Vec<RowError>,
    /// Every warning of the first 15 rows with warnings (SPEC 4b), as in
    /// `roster check`, `{row, field, code, message}`, plus the directory's
    /// `possible_duplicate` for a row that would create someone already
    /// there. A warning never stops a row.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    #[serde(default)]
    pub warnings: Vec<RowWarning>,
    /// The first 15 rows to be synchronised.
    pub sync: Vec<SyncRow>,
    /// Paths of the hierarchy nodes the import would create.
    pub hierarchy_to_create: Vec<String>,
    /// Every row matching a user in the trash can (updated, stays there).
    pub in_trash: Vec<TrashRow>,
}

/// The commit's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitResult {
    pub created: usize,
    pub synced: usize,
    pub skipped: usize,
}

/// Where an import is: a `preview` waiting for its commit, `running`
/// (being committed now) or `done`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    Preview,
    Running,
    Done,
}

impl ImportState {
    /// The name on the wire.
    pub fn key(self) -> &'static str {
        match self {
            ImportState::Preview => "preview",
            ImportState::Running => "running",
            ImportState::Done => "done",
        }
    }
}

/// An import in the history (or a preview waiting for its commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportOut {
    pub id: i64,
    /// `preview` (waiting), `running` (being committed now) or `done`.
    pub state: ImportState,
    pub file_name: String,
    /// SHA-256 of the uploaded file, or of the rows' JSON.
    pub sha256: String,
    /// The username of who ran it.
    pub created_by: String,
    pub created_at: String,
    pub committed_at: Option<String>,
    pub role_id: i64,
    pub role_name: String,
    pub hierarchy_id: i64,
    pub hierarchy_path: String,
    /// The preview's counts.
    pub summary: ImportSummary,
    pub created: i64,
    pub synced: i64,
    pub skipped: i64,
    /// While `running`: rows written so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressOut>,
    /// The undo that took this import back (its own entry's id).
    #[serde(default)]
    pub undone_by: Option<i64>,
    /// For an undo: the import it took back.
    #[serde(default)]
    pub undo_of: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgressOut {
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportList {
    /// Imports done or running (not previews), newest first.
    pub imports: Vec<ImportOut>,
    pub total: i64,
    pub page: u32,
}

/// What an import did to one user (`import_changes.action`, the history's
/// `action`): an import creates or synchronises; an undo's own entry
/// trashes the users the import created and restores the ones it
/// synchronised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Create,
    Sync,
    Trash,
    Restore,
}

impl ChangeAction {
    const ALL: [ChangeAction; 4] = [
        ChangeAction::Create,
        ChangeAction::Sync,
        ChangeAction::Trash,
        ChangeAction::Restore,
    ];

    /// The name on the wire and in the database.
    pub fn key(self) -> &'static str {
        match self {
            ChangeAction::Create => "create",
            ChangeAction::Sync => "sync",
            ChangeAction::Trash => "trash",
            ChangeAction::Restore => "restore",
        }
    }

    /// The action named `key`, if any.
    pub fn from_key(key: &str) -> Option<ChangeAction> {
        Self::ALL.into_iter().find(|a| a.key() == key)
    }
}

/// One user an import created or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeOut {
    pub row: i64,
    /// The user's id in the directory.
    pub user: i64,
    /// `create` or `sync` (an undo's entry: `trash` or `restore`).
    pub action: ChangeAction,
    /// The values before (`null` for `create`); never a password.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: serde_json::Value,
}

/// An import with its changes, 200 per page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportDetail {
    #[serde(flatten)]
    pub import: ImportOut,
    pub changes: Vec<ChangeOut>,
    pub changes_total: i64,
    pub page: u32,
}

/// The query of the history's pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct PageParams {
    /// 1-based.
    #[serde(default = "first_page")]
    pub page: u32,
}

fn first_page() -> u32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_states_are_their_names_on_the_wire() {
        super::super::assert_keys_are_wire_names(
            &[
                (ImportState::Preview, "preview"),
                (ImportState::Running, "running"),
                (ImportState::Done, "done"),
            ],
            ImportState::key,
        );
    }

    #[test]
    fn the_change_actions_are_their_names_on_the_wire_and_in_the_database() {
        let cases = [
            (ChangeAction::Create, "create"),
            (ChangeAction::Sync, "sync"),
            (ChangeAction::Trash, "trash"),
            (ChangeAction::Restore, "restore"),
        ];
        super::super::assert_keys_are_wire_names(&cases, ChangeAction::key);
        for (action, name) in cases {
            assert_eq!(ChangeAction::from_key(name), Some(action));
        }
        assert_eq!(ChangeAction::from_key("created"), None);
    }

    #[test]
    fn an_import_of_too_many_rows_stops_at_the_first_row_too_many() {
        let rows = vec![serde_json::json!({"row": 2}); MAX_ROWS + 1];
        let body =
            serde_json::json!({"file_name": "f", "role_id": 1, "hierarchy_id": 1, "rows": rows});
        let e = serde_json::from_value::<ImportInput>(body).unwrap_err();
        assert!(e.to_string().contains(&too_many_rows_message()), "{e}");
    }
}
