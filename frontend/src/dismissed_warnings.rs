//! The warnings an administrator dismissed, kept for the file (SPEC section
//! 4b: "dismiss a warning for the file").
//!
//! "For the file" means: the same file name, size in bytes and last-modified
//! time, as the browser's `File` gives them, in this tab's `sessionStorage`.
//! Choosing the same file again (or reloading the page and choosing it)
//! brings its dismissals back; another file, or the same file saved again,
//! starts with none; closing the tab forgets them all. A warning is keyed by
//! its row number, field and code, which do not change while the file does
//! not.

use crate::check_state::ChosenFile;
use crate::protocol::WarningKey;

const KEY_PREFIX: &str = "roster.dismissed-warnings.v1:";

/// Most warnings kept dismissed for one file: a bound on what the page
/// stores and sends to the worker with every check.
pub const MAX_DISMISSED: usize = 10_000;

fn key(file: &ChosenFile) -> String {
    format!(
        "{KEY_PREFIX}{}",
        serde_json::to_string(&(&file.name, file.size, file.last_modified)).unwrap_or_default()
    )
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The warnings dismissed for this file in this tab; none if storage is
/// unavailable or holds something else.
pub fn load(file: &ChosenFile) -> Vec<WarningKey> {
    storage()
        .and_then(|s| s.get_item(&key(file)).ok().flatten())
        .and_then(|text| serde_json::from_str::<Vec<WarningKey>>(&text).ok())
        .map(|mut keys| {
            keys.truncate(MAX_DISMISSED);
            keys
        })
        .unwrap_or_default()
}

/// Remembers the warnings dismissed for this file. Failing to store (private
/// mode, a full quota) only means they come back next time the file is chosen.
pub fn save(file: &ChosenFile, dismissed: &[WarningKey]) {
    let Some(storage) = storage() else { return };
    if dismissed.is_empty() {
        let _ = storage.remove_item(&key(file));
    } else if let Ok(text) = serde_json::to_string(dismissed) {
        let _ = storage.set_item(&key(file), &text);
    }
}
