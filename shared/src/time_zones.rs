//! The IANA time zone names Roster accepts (chrono-tz's list, exactly):
//! the browser's picker offers them and the server's checks parse them, so
//! both agree on one list.

/// Every IANA time zone name, in chrono-tz's order.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

/// Longest value a suggestion is looked for: every IANA name is shorter, and
/// a longer text is no typo of one.
const MAX_SUGGESTED_FROM: usize = 40;

/// The one IANA name one or two edits from `name` (SPEC section 4b: "did
/// you mean Europe/Amsterdam?"): the nearest, if no other name is as near.
/// `None` when there is none or the nearest are tied: a guess between two
/// names would mislead. Case counts as an edit (`europe/amsterdam` is two).
pub fn similar_time_zone(name: &str) -> Option<&'static str> {
    if name.len() > MAX_SUGGESTED_FROM {
        return None;
    }
    let mut best: Option<(usize, &'static str)> = None;
    let mut tied = false;
    for candidate in time_zone_names() {
        let Some(d) = crate::text::edit_distance_within(name.as_bytes(), candidate.as_bytes(), 2)
        else {
            continue;
        };
        match best {
            Some((b, _)) if d > b => {}
            Some((b, _)) if d == b => tied = true,
            _ => {
                best = Some((d, candidate));
                tied = false;
            }
        }
    }
    match best {
        Some((d, candidate)) if d > 0 && !tied => Some(candidate),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{similar_time_zone, time_zone_names};

    #[test]
    fn a_near_name_is_suggested_and_a_tie_or_a_far_one_is_not() {
        assert_eq!(
            similar_time_zone("Europe/Amsterdm"),
            Some("Europe/Amsterdam")
        );
        assert_eq!(
            similar_time_zone("europe/amsterdam"),
            Some("Europe/Amsterdam")
        );
        assert_eq!(similar_time_zone("Europe/Amsterdam"), None);
        assert_eq!(similar_time_zone("Mars/Olympus_Mons"), None);
        // One edit from both `Etc/GMT+12` and `Etc/GMT-13`: no guess.
        assert_eq!(similar_time_zone("Etc/GMT+13"), None);
        assert_eq!(similar_time_zone(&"x".repeat(1000)), None);
    }

    #[test]
    fn the_list_holds_the_usual_names_once_each() {
        let names: Vec<&str> = time_zone_names().collect();
        for name in ["Europe/Amsterdam", "UTC", "America/New_York", "Asia/Tokyo"] {
            assert!(names.contains(&name), "{name} is missing");
        }
        // Exact names only: case matters.
        assert!(!names.contains(&"europe/amsterdam"));
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names.len() > 400, "{} names", names.len());
    }
}
