//! Character classes of SPEC section 4, used by the rules and the readers,
//! and the search's folding of case and accents (also the warnings' sense of
//! "normalised", SPEC section 4b).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

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

/// Lowercase, compatibility-decomposed, without combining marks, with the
/// Latin letters that do not decompose folded by hand: `Müller` → `muller`,
/// `Øre` → `ore`, `Straße` → `strasse`. The server's search folds its terms
/// and queries with it; the warnings compare names and emails with it.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            match lower {
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'þ' => out.push_str("th"),
                'ø' => out.push('o'),
                'đ' | 'ð' => out.push('d'),
                'ł' => out.push('l'),
                'ı' => out.push('i'),
                'ħ' => out.push('h'),
                other => out.push(other),
            }
        }
    }
    out
}

/// The optimal-string-alignment distance between `a` and `b` (letters
/// added, removed, changed, or two neighbours swapped), counted in bytes,
/// if it is at most `max`; `None` past it. Stops as soon as no alignment
/// can stay within `max`, so comparing one value with a list costs about
/// `max` × its length per entry.
pub fn edit_distance_within(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // Three rows of the table: two back (for a swap), one back, this one.
    let n = b.len();
    let mut two_back = vec![0; n + 1];
    let mut one_back: Vec<usize> = (0..=n).collect();
    let mut current = vec![0; n + 1];
    for i in 1..=a.len() {
        current[0] = i;
        let mut best = i;
        for j in 1..=n {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (one_back[j] + 1)
                .min(current[j - 1] + 1)
                .min(one_back[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            current[j] = d;
            best = best.min(d);
        }
        if best > max {
            return None;
        }
        std::mem::swap(&mut two_back, &mut one_back);
        std::mem::swap(&mut one_back, &mut current);
    }
    let d = one_back[n];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one_and_stops_past_the_bound() {
        let d = |a: &str, b: &str| edit_distance_within(a.as_bytes(), b.as_bytes(), 2);
        assert_eq!(d("gmail.com", "gmail.com"), Some(0));
        assert_eq!(d("gmial.com", "gmail.com"), Some(1));
        assert_eq!(d("gmail.co", "gmail.com"), Some(1));
        assert_eq!(d("gnail.con", "gmail.com"), Some(2));
        assert_eq!(d("Europe/Amsterdm", "Europe/Amsterdam"), Some(1));
        assert_eq!(d("hotmail.com", "gmail.com"), None);
        assert_eq!(d("", "abc"), None);
        assert_eq!(d("", "ab"), Some(2));
    }

    #[test]
    fn normalize_folds_case_and_accents() {
        assert_eq!(normalize("Müller"), "muller");
        assert_eq!(normalize("ZOË Ångström"), "zoe angstrom");
        assert_eq!(normalize("Straße Øre Łódź"), "strasse ore lodz");
        assert_eq!(normalize("ﬁle"), "file");
    }

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
