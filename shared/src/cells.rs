//! Cell values as the readers find them, and their conversion to text
//! (SPEC section 3). Every reader produces [`CellValue`]s; this is the only
//! place that decides how a number, a boolean or a date becomes a string.

use std::sync::Arc;

use calamine::ExcelDateTime;
use chrono::{Datelike, NaiveDate};

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
    /// A date, date-time, time of day or elapsed time, already written as
    /// section 3 says (`2024-05-01`, `2024-05-01 13:30:00`, `09:30:00`,
    /// `26:30:00`): each is a `wrong_type` in an identifier column.
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

/// How a cell's number format shows a number (.xlsx styles): as a number,
/// as a date, date-time or time of day, or as an elapsed time (`[h]:mm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shown {
    #[default]
    Number,
    Date,
    Elapsed,
}

/// Excel's dates run from serial 0 to 9999-12-31; past them (or below 0)
/// Excel shows `#####`, and a date-formatted number stays a number here.
const MAX_SERIAL: f64 = 2_958_466.0;
const MS_PER_DAY: i64 = 86_400_000;

/// A number cell that its format shows as a date or a time (.xlsx, .xls;
/// section 3): an elapsed time as `H:MM:SS`; a serial below 1 as a time of
/// day `HH:MM:SS` (day 0 is no date: it is how Excel stores a time typed
/// alone, and how openpyxl, xlrd and python-calamine read it); any other as
/// a date or date-time. `None` past Excel's dates: the number stays a number.
pub fn serial(dt: ExcelDateTime) -> Option<CellValue> {
    let n = dt.as_f64();
    if dt.is_duration() {
        // An elapsed time may be negative (the 1904 system shows it).
        return (n.abs() < MAX_SERIAL).then(|| elapsed(ms_of_days(n)));
    }
    if !(0.0..MAX_SERIAL).contains(&n) {
        return None;
    }
    if ms_of_days(n) < MS_PER_DAY {
        return Some(time_of_day(ms_of_days(n)));
    }
    let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
    Some(CellValue::Date(date_text(y, mo, d, h, mi, s).into()))
}

/// Days as whole milliseconds, Excel's precision (as calamine rounds a
/// date's time): 09:30 stored as 0.3958333… is 09:30:00, not 09:29:59.
fn ms_of_days(days: f64) -> i64 {
    (days * MS_PER_DAY as f64).round() as i64
}

/// `HH:MM:SS`; the milliseconds are dropped.
fn time_of_day(ms: i64) -> CellValue {
    let s = ms / 1000;
    CellValue::Date(format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60).into())
}

/// `H:MM:SS` (`26:30:00`, `-1:30:00`); the milliseconds are dropped.
fn elapsed(ms: i64) -> CellValue {
    let s = ms.unsigned_abs() / 1000;
    let sign = if ms < 0 && s > 0 { "-" } else { "" };
    CellValue::Date(format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60).into())
}

/// A date written as ISO 8601 text: an .xlsx `t="d"` cell (Strict OOXML,
/// openpyxl's `iso_dates`) under the cell's number format, or an .ods date
/// value (`Shown::Date`). Read as section 3 reads a serial:
/// `2009-01-01T11:00:00.00000020954757600` is `2009-01-01 11:00:00`,
/// `1900-01-11T00:00:00` is `1900-01-11`, `10:10:10` is a time of day;
/// under an elapsed-time format, or as an ISO duration (`PT26H30M`), a
/// duration stays a duration. Seconds are rounded to the millisecond, as
/// serials are, and the milliseconds dropped; a time zone (`Z`, `+01:00`,
/// which Strict OOXML does not allow) is ignored: the clock as written.
/// Text that is none of these is kept as written.
pub fn iso_date(s: &str, shown: Shown, is_1904: bool) -> CellValue {
    let value = match iso_duration_ms(s) {
        Some(ms) => Some(elapsed(ms)),
        None if shown == Shown::Elapsed => iso_elapsed(s, is_1904),
        None => iso_date_time(s),
    };
    value.unwrap_or_else(|| CellValue::Date(s.replace('T', " ").into()))
}

/// An .ods time value (`office:time-value`, an ISO 8601 duration): a time
/// of day under 24 hours (`PT10H10M10S` is `10:10:10`), else an elapsed
/// time (`PT26H30M00S` is `26:30:00`). calamine does not give the cell's
/// style, so an elapsed time under 24 hours reads as a time of day. Text
/// that is no duration is kept as written.
pub fn ods_time(s: &str) -> CellValue {
    match iso_duration_ms(s) {
        Some(ms) if (0..MS_PER_DAY).contains(&ms) => time_of_day(ms),
        Some(ms) => elapsed(ms),
        None => CellValue::Text(s.into()),
    }
}

fn iso_date_time(s: &str) -> Option<CellValue> {
    let (date, ms) = parse_iso(s)?;
    let Some(date) = date else {
        // A time alone: 23:59:59.9996 does not round into another day.
        return ms.map(|ms| time_of_day(ms.min(MS_PER_DAY - 1)));
    };
    let (date, ms) = match ms.unwrap_or(0) {
        ms if ms >= MS_PER_DAY => (date.succ_opt()?, ms - MS_PER_DAY),
        ms => (date, ms),
    };
    let s = ms / 1000;
    let part = |n: i64| n as u8;
    Some(CellValue::Date(
        date_text(
            u16::try_from(date.year()).ok()?,
            date.month() as u8,
            date.day() as u8,
            part(s / 3600),
            part(s / 60 % 60),
            part(s % 60),
        )
        .into(),
    ))
}

/// An ISO date under an elapsed-time format: the time since the
/// workbook's day 0, which is what Excel's serial holds
/// (`1900-01-01T02:30:00` is serial 1.104…, `26:30:00`).
fn iso_elapsed(s: &str, is_1904: bool) -> Option<CellValue> {
    let (date, ms) = parse_iso(s)?;
    let days = match date {
        None => 0,
        Some(date) => {
            let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
            let day_0 = if is_1904 {
                ymd(1904, 1, 1)?
            } else if date < ymd(1900, 3, 1)? {
                ymd(1899, 12, 31)?
            } else {
                // Excel counts 1900-02-29, which no calendar has.
                ymd(1899, 12, 30)?
            };
            date.signed_duration_since(day_0).num_days()
        }
    };
    if days.unsigned_abs() >= MAX_SERIAL as u64 {
        return None;
    }
    Some(elapsed(days * MS_PER_DAY + ms.unwrap_or(0)))
}

/// `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.f…]][zone]` or `hh:mm[:ss[.f…]][zone]`:
/// the date, if any, and the time of day in milliseconds (rounded), if any.
fn parse_iso(s: &str) -> Option<(Option<NaiveDate>, Option<i64>)> {
    let b = s.trim().as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        let date = NaiveDate::from_ymd_opt(
            i32::try_from(digits_value(&b[..4])?).ok()?,
            digits_value(&b[5..7])?,
            digits_value(&b[8..10])?,
        )?;
        return match &b[10..] {
            [] => Some((Some(date), None)),
            [b'T' | b' ', time @ ..] => Some((Some(date), Some(parse_time(time)?))),
            _ => None,
        };
    }
    Some((None, Some(parse_time(b)?)))
}

/// `hh:mm[:ss[.f…]][zone]` as milliseconds from midnight, rounded; the
/// zone is checked and ignored.
fn parse_time(b: &[u8]) -> Option<i64> {
    fn two(b: &[u8]) -> Option<(u32, &[u8])> {
        Some((digits_value(b.get(..2)?)?, &b[2..]))
    }
    let (h, rest) = two(b)?;
    let (mi, mut rest) = two(rest.strip_prefix(b":")?)?;
    let (mut sec, mut ms) = (0, 0);
    if let Some(after) = rest.strip_prefix(b":") {
        (sec, rest) = two(after)?;
        if let [b'.' | b',', fraction @ ..] = rest {
            let n = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            ms = fraction_ms(&fraction[..n]);
            rest = &fraction[n..];
        }
    }
    if h > 23 || mi > 59 || sec > 59 || !is_zone(rest) {
        return None;
    }
    Some(i64::from((h * 60 + mi) * 60 + sec) * 1000 + ms)
}

/// Decimal fraction digits as milliseconds, rounded half up (0 to 1000).
fn fraction_ms(digits: &[u8]) -> i64 {
    let digit = |i: usize| digits.get(i).map_or(0, |d| i64::from(d - b'0'));
    digit(0) * 100 + digit(1) * 10 + digit(2) + i64::from(digit(3) >= 5)
}

/// Nothing, `Z`, or an offset `+01`, `+01:00`, `-0500`.
fn is_zone(b: &[u8]) -> bool {
    let digits = |b: &[u8]| b.iter().all(u8::is_ascii_digit);
    match b {
        [] | [b'Z'] => true,
        [b'+' | b'-', h @ ..] => match h {
            [_, _] => digits(h),
            [h1, h2, b':', m1, m2] => digits(&[*h1, *h2, *m1, *m2]),
            [_, _, _, _] => digits(h),
            _ => false,
        },
        _ => false,
    }
}

/// One or more ASCII digits (at most 9) as a number.
fn digits_value(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// An ISO 8601 duration (`PT26H30M00S`, `-PT1H`, `P1DT2H`,
/// `PT10H10M10.123456S`) in milliseconds, rounded. `None` for other text,
/// for years, months or weeks (no fixed length), and past Excel's range.
fn iso_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut rest = s.strip_prefix('P')?.as_bytes();
    let (mut total, mut in_time, mut any) = (0i64, false, false);
    while let Some((&first, after)) = rest.split_first() {
        if first == b'T' && !in_time {
            (in_time, rest) = (true, after);
            continue;
        }
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        // At most twelve digits: the product below cannot overflow.
        if n == 0 || n > 12 {
            return None;
        }
        let whole = rest[..n]
            .iter()
            .fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
        rest = &rest[n..];
        let mut fraction = None;
        if let [b'.' | b',', after @ ..] = rest {
            let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
            fraction = Some(fraction_ms(&after[..n]));
            rest = &after[n..];
        }
        let (&unit, after) = rest.split_first()?;
        rest = after;
        let unit_ms = match (in_time, unit) {
            (false, b'D') => MS_PER_DAY,
            (true, b'H') => 3_600_000,
            (true, b'M') => 60_000,
            (true, b'S') => 1000,
            _ => return None,
        };
        if fraction.is_some() && unit != b'S' {
            return None;
        }
        total = total.checked_add(whole.checked_mul(unit_ms)? + fraction.unwrap_or(0))?;
        any = true;
    }
    if !any || total >= MAX_SERIAL as i64 * MS_PER_DAY {
        return None;
    }
    Some(if negative { -total } else { total })
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

    fn text(value: CellValue) -> String {
        match value {
            CellValue::Date(s) => s.into(),
            other => panic!("not a date: {other:?}"),
        }
    }

    #[test]
    fn serials_under_a_date_format() {
        use calamine::ExcelDateTimeType::{DateTime, TimeDelta};
        let date = |n: f64, is_1904: bool| serial(ExcelDateTime::new(n, DateTime, is_1904));
        let elapsed = |n: f64| serial(ExcelDateTime::new(n, TimeDelta, false));
        assert_eq!(text(date(0.0, false).unwrap()), "00:00:00");
        assert_eq!(
            text(date(0.395_833_333_333_333_3, false).unwrap()),
            "09:30:00"
        );
        assert_eq!(text(date(0.5, true).unwrap()), "12:00:00", "1904 too");
        // Just under a day rounds to the next day, as calamine rounds it.
        assert_eq!(text(date(1.0 - 1e-10, false).unwrap()), "1900-01-01");
        assert_eq!(text(date(1.0, false).unwrap()), "1900-01-01");
        assert_eq!(
            text(date(45413.5625, false).unwrap()),
            "2024-05-01 13:30:00"
        );
        assert_eq!(text(date(2_958_465.0, false).unwrap()), "9999-12-31");
        for outside in [-1.0, 2_958_466.0, f64::NAN, f64::INFINITY] {
            assert_eq!(date(outside, false), None, "{outside}");
        }
        assert_eq!(text(elapsed(1.104_166_666_666_667).unwrap()), "26:30:00");
        assert_eq!(text(elapsed(0.0625).unwrap()), "1:30:00");
        assert_eq!(text(elapsed(-0.0625).unwrap()), "-1:30:00");
        assert_eq!(text(elapsed(-1e-9).unwrap()), "0:00:00", "no -0");
        assert_eq!(text(elapsed(1000.0).unwrap()), "24000:00:00");
        assert_eq!(elapsed(f64::NAN), None);
        assert_eq!(elapsed(-3e6), None);
    }

    #[test]
    fn iso_dates_times_and_zones() {
        let read = |s: &str| text(iso_date(s, Shown::Date, false));
        assert_eq!(read("1900-01-11"), "1900-01-11");
        assert_eq!(read("1900-01-11T00:00:00"), "1900-01-11");
        assert_eq!(read("2024-05-01 13:30"), "2024-05-01 13:30:00");
        assert_eq!(read(" 2024-05-01T13:30:05,5 "), "2024-05-01 13:30:05");
        assert_eq!(read("2024-05-01T13:30:05.9994"), "2024-05-01 13:30:05");
        assert_eq!(read("2024-05-01T13:30:05.9995"), "2024-05-01 13:30:06");
        assert_eq!(read("2024-02-28T23:59:59.9999"), "2024-02-29");
        assert_eq!(read("2024-05-01T13:30:00+02:00"), "2024-05-01 13:30:00");
        assert_eq!(read("2024-05-01T13:30:00-0500"), "2024-05-01 13:30:00");
        assert_eq!(read("23:59:59.9999"), "23:59:59", "a time stays in its day");
        assert_eq!(read("00:00"), "00:00:00");
        // Not dates: kept as written.
        for s in [
            "2023-02-29",
            "2024-13-01",
            "24:00:00",
            "12:60",
            "2024-05-01T",
            "2024-05-01T13:30:00.",
            "2024-05-01T13:30:00+1",
            "2024-05-01T13:30:00 UTC",
            "+2024-05-01",
            "soon",
            "",
        ] {
            assert_eq!(read(s), s.replace('T', " "), "{s:?}");
        }
    }

    #[test]
    fn iso_durations() {
        assert_eq!(iso_duration_ms("PT26H30M00S"), Some(95_400_000));
        assert_eq!(iso_duration_ms("P1DT2H30M"), Some(95_400_000));
        assert_eq!(iso_duration_ms("-PT1H"), Some(-3_600_000));
        assert_eq!(iso_duration_ms("PT10H10M10.123456S"), Some(36_610_123));
        assert_eq!(iso_duration_ms("PT0.0005S"), Some(1));
        assert_eq!(iso_duration_ms("P2D"), Some(2 * MS_PER_DAY));
        for s in [
            "P1Y",
            "P1M",
            "P1W",
            "PT",
            "P",
            "PT1.5H",
            "PT1H2",
            "P1H",
            "PTT1H",
            "T1H",
            "PT-1H",
            "PT999999999999H",
            "PT9999999999999S",
            "",
        ] {
            assert_eq!(iso_duration_ms(s), None, "{s:?}");
        }
        let ods = |s: &str| ods_time(s).header_text();
        assert_eq!(ods("PT10H10M10S"), "10:10:10");
        assert_eq!(ods("PT26H30M00S"), "26:30:00");
        assert_eq!(ods("-PT1H30M"), "-1:30:00");
        // calamine gives no style: under a day is a time of day.
        assert_eq!(ods("PT01H30M00S"), "01:30:00");
        assert_eq!(ods_time("P1Y"), CellValue::Text("P1Y".into()));
    }

    #[test]
    fn iso_dates_under_an_elapsed_format_are_durations_since_day_0() {
        let elapsed = |s: &str, is_1904| text(iso_date(s, Shown::Elapsed, is_1904));
        assert_eq!(elapsed("1900-01-01T02:30:00", false), "26:30:00");
        assert_eq!(elapsed("1899-12-31T02:30:00", false), "2:30:00");
        assert_eq!(elapsed("1900-03-01", false), "1464:00:00", "serial 61");
        assert_eq!(elapsed("1904-01-02T02:30:00", true), "26:30:00");
        assert_eq!(elapsed("02:30", false), "2:30:00");
        assert_eq!(elapsed("PT2H30M", false), "2:30:00");
        // A duration is a duration whatever the format.
        assert_eq!(text(iso_date("PT26H30M", Shown::Date, false)), "26:30:00");
    }
}
