//! The mapping an administrator chose, remembered in `localStorage` for the
//! next file with the same set of headers (in any order).

use std::collections::BTreeMap;

use roster_shared::{Field, Mapping};

const KEY_PREFIX: &str = "roster.mapping.v1:";

/// The storage key of a header set: its non-empty headers, sorted.
fn key(headers: &[String]) -> String {
    let mut set: Vec<&str> = headers
        .iter()
        .map(String::as_str)
        .filter(|h| !h.is_empty())
        .collect();
    set.sort_unstable();
    set.dedup();
    format!(
        "{KEY_PREFIX}{}",
        serde_json::to_string(&set).unwrap_or_default()
    )
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The mapping saved for this header set, if any. Fields whose header is no
/// longer found stay unmapped.
pub fn load(headers: &[String]) -> Option<Mapping> {
    let text = storage()?.get_item(&key(headers)).ok().flatten()?;
    let saved: BTreeMap<String, String> = serde_json::from_str(&text).ok()?;
    let mut mapping = Mapping::default();
    for (field_key, header) in saved {
        let (Some(field), Some(column)) = (
            Field::from_key(&field_key),
            headers.iter().position(|h| *h == header),
        ) else {
            continue;
        };
        mapping.set(field, Some(column));
    }
    Some(mapping)
}

/// Saves the mapping for this header set. Storage may be full or disabled
/// (private windows); the mapping is then simply not remembered.
pub fn save(headers: &[String], mapping: &Mapping) {
    let saved: BTreeMap<&str, String> = mapping
        .describe(headers)
        .into_iter()
        .map(|(field, header)| (field.key(), header))
        .collect();
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(&saved)) {
        let _ = storage.set_item(&key(headers), &text);
    }
}
