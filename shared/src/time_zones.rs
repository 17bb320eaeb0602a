//! The IANA time zone names Roster accepts (chrono-tz's list, exactly):
//! the browser's picker offers them and the server's checks parse them, so
//! both agree on one list.

/// Every IANA time zone name, in chrono-tz's order.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

#[cfg(test)]
mod tests {
    use super::time_zone_names;

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
