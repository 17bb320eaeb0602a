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
/// if it is at most `max`; `None` past it. Only the band of the table
/// within `max` of its diagonal is filled (a cell farther out is already
/// past `max`), so a comparison costs about (2 × `max` + 1) × its length.
pub fn edit_distance_within(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let n = b.len();
    // Any distance past `max`: what the cells outside the band hold.
    let over = max + 1;
    // Three rows of the table: two back (for a swap), one back, this one.
    let mut two_back = vec![over; n + 2];
    let mut one_back: Vec<usize> = (0..n + 2).map(|j| j.min(over)).collect();
    let mut current = vec![over; n + 2];
    for i in 1..=a.len() {
        let from = i.saturating_sub(max).max(1);
        let to = (i + max).min(n);
        // The cells just outside this row's band, read by this row and the
        // next; the rest of the buffer holds older rows' values.
        current[from - 1] = if from == 1 { i.min(over) } else { over };
        current[to + 1] = over;
        let mut best = current[from - 1];
        for j in from..=to {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (one_back[j] + 1)
                .min(current[j - 1] + 1)
                .min(one_back[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            current[j] = d.min(over);
            best = best.min(current[j]);
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

    /// The whole table, for comparison.
    fn full_distance(a: &[u8], b: &[u8]) -> usize {
        let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    #[test]
    fn the_band_gives_what_the_whole_table_gives() {
        // Short words over a three-letter alphabet: every kind of edit,
        // near and far, deterministic.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut word = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 9) as usize;
            (0..len)
                .map(|k| b"abc"[((seed >> (8 + 2 * k)) % 3) as usize])
                .collect::<Vec<u8>>()
        };
        for _ in 0..20_000 {
            let (a, b) = (word(), word());
            for max in 0..=3 {
                let full = full_distance(&a, &b);
                assert_eq!(
                    edit_distance_within(&a, &b, max),
                    (full <= max).then_some(full),
                    "{:?} {:?} within {max}",
                    String::from_utf8_lossy(&a),
                    String::from_utf8_lossy(&b)
                );
            }
        }
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
