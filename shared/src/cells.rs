//! Cell values as the readers find them, and their conversion to text
//! (SPEC section 3). Every reader produces [`CellValue`]s; this is the only
//! place that decides how a number, a boolean or a date becomes a string.

use std::sync::Arc;

use crate::fields::Field;

/// Largest integer an IEEE double holds exactly. Excel stores numbers as
/// doubles, so a whole number above this has already lost digits.
pub const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0; // 2^53

/// One cell as read from the file, before it is given to a field.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Empty,
    /// Shared, not copied, with the mapped rows made from it (the worker
    /// keeps both: the table for a change of mapping, the rows for the
    /// grid), so mapping 100,000 rows allocates no text.
    Text(Arc<str>),
    Number(f64),
    Int(i64),
    Bool(bool),
    /// A date or time, already formatted as ISO 8601 (`2024-05-01`,
    /// `2024-05-01 13:30:00`).
    Date(Box<str>),
    /// An error cell, as Excel shows it (`#N/A`).
    Error(Box<str>),
}

/// Why a cell's value cannot be used as it is (the last rules of section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellProblem {
    /// A date in an identifier column.
    WrongType,
    /// An error cell such as `#N/A` or `#REF!`.
    CellError,
    /// A whole number above 2^53: Excel has already lost its last digits.
    ImpreciseNumber,
}

/// A cell's text for one field, and what is wrong with it, if anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub text: String,
    pub problem: Option<CellProblem>,
}

impl CellValue {
    /// True for an empty cell and for text that is whitespace only.
    pub fn is_blank(&self) -> bool {
        match self {
            CellValue::Empty => true,
            CellValue::Text(s) => crate::text::is_blank(s),
            _ => false,
        }
    }

    /// The text of a header cell (no field yet, so booleans stay `TRUE`/`FALSE`).
    pub fn header_text(&self) -> String {
        self.convert(None).text
    }

    /// The value of this cell for `field` (section 3).
    pub fn to_field_text(&self, field: Field) -> Converted {
        self.convert(Some(field))
    }

    fn convert(&self, field: Option<Field>) -> Converted {
        let ok = |text: String| Converted {
            text,
            problem: None,
        };
        match self {
            CellValue::Empty => ok(String::new()),
            CellValue::Text(s) => ok(s.to_string()),
            CellValue::Number(n) => number_text(*n),
            CellValue::Int(i) => {
                let problem =
                    (i.unsigned_abs() > 1u64 << 53).then_some(CellProblem::ImpreciseNumber);
                Converted {
                    text: i.to_string(),
                    problem,
                }
            }
            CellValue::Bool(b) => ok(match (field, b) {
                (Some(Field::SpecialNeeds), true) => "yes".into(),
                (Some(Field::SpecialNeeds), false) => "no".into(),
                (_, true) => "TRUE".into(),
                (_, false) => "FALSE".into(),
            }),
            CellValue::Date(s) => Converted {
                text: s.to_string(),
                problem: field
                    .is_some_and(Field::is_identifier)
                    .then_some(CellProblem::WrongType),
            },
            CellValue::Error(s) => Converted {
                text: s.to_string(),
                problem: Some(CellProblem::CellError),
            },
        }
    }
}

/// `1005.0` → `1005`, `12.5` → `12.5`: Rust's `Display` for `f64` is the
/// shortest text that reads back to the same double, and never uses an
/// exponent, which is what a spreadsheet user expects to see.
pub fn number_text(n: f64) -> Converted {
    if !n.is_finite() {
        return Converted {
            text: n.to_string(),
            problem: Some(CellProblem::CellError),
        };
    }
    let whole = n.fract() == 0.0;
    let text = if whole && n == 0.0 {
        "0".to_string() // not "-0"
    } else {
        n.to_string()
    };
    let problem = (whole && n.abs() > MAX_EXACT_INTEGER).then_some(CellProblem::ImpreciseNumber);
    Converted { text, problem }
}

/// A number cell the file writes as `written` and that parses to `n`. A
/// whole number written with more digits than the double holds keeps the
/// file's digits (section 3 judges them, not the double): `9007199254740993`
/// parses to 2^53, which alone would pass as exact.
pub fn written_number(written: &str, n: f64) -> CellValue {
    // Only a double of at least 2^53 can stand for a longer whole number.
    if n.abs() >= MAX_EXACT_INTEGER
        && let Some(i) = whole_number_written(written)
    {
        return CellValue::Int(i);
    }
    CellValue::Number(n)
}

/// The whole number a decimal text writes (`-12`, `9007199254740993`,
/// `9.007199254740993E15`, `1.0e3`), exactly; `None` if it is not whole or
/// not within `i64`.
fn whole_number_written(written: &str) -> Option<i64> {
    let s = written.trim();
    let (negative, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // The value is `digits` × 10^`scale`, trailing zeros moved into `scale`.
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    let scale = i64::from(exponent) - frac.len() as i64 + (digits.len() - significant.len()) as i64;
    if significant.is_empty() {
        return Some(0);
    }
    if scale < 0 || significant.len() as i64 + scale > 19 {
        return None;
    }
    let magnitude = significant.parse::<i128>().ok()? * 10i128.pow(scale as u32);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// ISO 8601 text for a date and time given as parts; the time is left out
/// when it is midnight, so a plain date reads as a date.
pub fn date_text(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> String {
    if (h, mi, s) == (0, 0, 0) {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_lose_their_decimal_part() {
        assert_eq!(number_text(1005.0).text, "1005");
        assert_eq!(number_text(-3.0).text, "-3");
        assert_eq!(number_text(-0.0).text, "0");
    }

    #[test]
    fn other_numbers_use_their_shortest_exact_form() {
        assert_eq!(number_text(12.5).text, "12.5");
        assert_eq!(number_text(0.1).text, "0.1");
        assert_eq!(number_text(1e-7).text, "0.0000001");
    }

    #[test]
    fn whole_numbers_above_two_to_the_53_are_flagged() {
        assert_eq!(number_text(MAX_EXACT_INTEGER).problem, None);
        assert_eq!(
            number_text(12345678901234567890.0).problem,
            Some(CellProblem::ImpreciseNumber)
        );
        assert_eq!(
            CellValue::Int(9_007_199_254_740_993)
                .to_field_text(Field::UserId)
                .problem,
            Some(CellProblem::ImpreciseNumber)
        );
    }

    #[test]
    fn whole_numbers_keep_the_digits_the_file_writes() {
        for (written, exact) in [
            ("9007199254740993", 9_007_199_254_740_993),
            ("-9007199254740993", -9_007_199_254_740_993),
            ("9.007199254740993E15", 9_007_199_254_740_993),
            ("9007199254740993.000", 9_007_199_254_740_993),
            ("90071992547409930e-1", 9_007_199_254_740_993),
            ("9007199254740992", 9_007_199_254_740_992),
        ] {
            let n: f64 = written.parse().unwrap();
            assert_eq!(
                written_number(written, n),
                CellValue::Int(exact),
                "{written}"
            );
        }
        let flagged = |written: &str| {
            written_number(written, written.parse().unwrap())
                .to_field_text(Field::UserId)
                .problem
        };
        assert_eq!(
            flagged("9007199254740993"),
            Some(CellProblem::ImpreciseNumber)
        );
        assert_eq!(flagged("9.007199254740992e15"), None);
        assert_eq!(flagged("9007199254740992"), None);
        // Not whole, or beyond i64: the double, as before.
        for written in ["9007199254740992.5", "1e30", "12.5", "7"] {
            let n: f64 = written.parse().unwrap();
            assert_eq!(
                written_number(written, n),
                CellValue::Number(n),
                "{written}"
            );
        }
        assert_eq!(whole_number_written("0.000e5"), Some(0));
        assert_eq!(whole_number_written("1e-3"), None);
        assert_eq!(whole_number_written("."), None);
        assert_eq!(whole_number_written("1e999999999999"), None);
        assert_eq!(whole_number_written("9223372036854775808"), None);
    }

    #[test]
    fn booleans_are_yes_no_only_in_special_needs() {
        assert_eq!(
            CellValue::Bool(true)
                .to_field_text(Field::SpecialNeeds)
                .text,
            "yes"
        );
        assert_eq!(
            CellValue::Bool(false)
                .to_field_text(Field::SpecialNeeds)
                .text,
            "no"
        );
        assert_eq!(
            CellValue::Bool(true).to_field_text(Field::SyncKey).text,
            "TRUE"
        );
    }

    #[test]
    fn dates_are_wrong_only_in_identifier_columns() {
        let d = CellValue::Date(date_text(2024, 1, 12, 0, 0, 0).into());
        assert_eq!(
            d.to_field_text(Field::UserId).problem,
            Some(CellProblem::WrongType)
        );
        let c = d.to_field_text(Field::FirstName);
        assert_eq!((c.text.as_str(), c.problem), ("2024-01-12", None));
    }
}
