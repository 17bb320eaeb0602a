//! Character classes of SPEC section 4, used by the rules and the readers.

/// Unicode White_Space plus the invisible characters people paste from web
/// pages and word processors (zero-width space/joiners, word joiner, BOM).
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Control characters (Unicode Cc: tab and line breaks included) and the
/// Unicode line and paragraph separators.
pub fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Empty, or whitespace only: counts as empty in every field.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(is_space)
}

/// `s` without leading and trailing whitespace (in the sense of [`is_space`]).
pub fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_whitespace() {
        for c in [
            '\u{00A0}', '\u{200B}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\t', '\u{3000}',
        ] {
            assert!(is_space(c), "{c:?}");
        }
        assert!(!is_space('a'));
        assert_eq!(trim("\u{FEFF} Zoë\u{00A0}"), "Zoë");
        assert!(is_blank(" \u{200B}\t"));
        assert!(!is_blank(" x "));
    }

    #[test]
    fn tab_and_line_breaks_are_control_characters() {
        for c in ['\t', '\n', '\r', '\u{0085}', '\u{2028}', '\u{0007}'] {
            assert!(is_control(c), "{c:?}");
        }
        assert!(!is_control(' '));
    }
}
