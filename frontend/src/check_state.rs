//! The check page's state, shared by the page and its components.

use roster_shared::Field;
use roster_shared::table::SourceInfo;

use crate::protocol::Stage;

/// Where the page is, for the status line and the progress indicator.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// The worker is loading.
    Starting,
    /// Waiting for a file.
    Ready,
    Working {
        stage: Stage,
    },
    /// A required field has no column: the mapping step asks for it.
    NeedsMapping {
        missing: Vec<Field>,
    },
    Done,
    Failed {
        message: String,
    },
}

/// The file being worked on, as chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenFile {
    pub name: String,
    pub size: f64,
    /// Milliseconds since 1970, as the browser's `File` says: with the name
    /// and size, what makes it "the same file" for dismissed warnings.
    pub last_modified: f64,
}

/// The file once read: what the mapping step needs.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenFile {
    pub headers: Vec<String>,
    pub source: SourceInfo,
}
