//! The row rules of SPEC section 4: the table of codes and messages, and the
//! order in which a field's first error is chosen. The browser, the server
//! and `roster check` all call [`check_rows`]; no rule lives anywhere else.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cells::CellProblem;
use crate::fields::Field;
use crate::rows::MappedRow;
use crate::text::{is_blank, is_control, is_space, trim};
use crate::warnings::{RowWarning, find_warnings};

/// Every rule's code, as it appears in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Required,
    InvalidCharacters,
    SpacesNotAllowed,
    Untrimmed,
    TooLong,
    InvalidEmail,
    PasswordTooShort,
    InvalidYesNo,
    LevelGap,
    InvalidTimeZone,
    WrongType,
    CellError,
    ImpreciseNumber,
    DuplicateInFile,
    InUse,
}

impl ErrorCode {
    pub const fn key(self) -> &'static str {
        match self {
            ErrorCode::Required => "required",
            ErrorCode::InvalidCharacters => "invalid_characters",
            ErrorCode::SpacesNotAllowed => "spaces_not_allowed",
            ErrorCode::Untrimmed => "untrimmed",
            ErrorCode::TooLong => "too_long",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::PasswordTooShort => "password_too_short",
            ErrorCode::InvalidYesNo => "invalid_yes_no",
            ErrorCode::LevelGap => "level_gap",
            ErrorCode::InvalidTimeZone => "invalid_time_zone",
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::CellError => "cell_error",
            ErrorCode::ImpreciseNumber => "imprecise_number",
            ErrorCode::DuplicateInFile => "duplicate_in_file",
            ErrorCode::InUse => "in_use",
        }
    }
}

/// One error of one field of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: u32,
    pub field: Field,
    pub code: ErrorCode,
    pub message: String,
    /// For `in_use`: the username that holds the user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

impl RowError {
    pub fn new(row: u32, field: Field, code: ErrorCode, message: String) -> Self {
        RowError {
            row,
            field,
            code,
            message,
            held_by: None,
        }
    }

    /// The server's `in_use` error (section 5).
    pub fn in_use(row: u32, held_by: &str) -> Self {
        RowError {
            held_by: Some(held_by.to_string()),
            ..RowError::new(
                row,
                Field::UserId,
                ErrorCode::InUse,
                format!("{}: This value is already in use", Field::UserId.label()),
            )
        }
    }
}

/// Settings the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOptions {
    /// The password policy's minimum length.
    pub password_min_len: usize,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            password_min_len: 8,
        }
    }
}

/// Rows after the rules: names trimmed, every error and warning found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedRows {
    pub rows: Vec<MappedRow>,
    /// Every error, by row then field order.
    pub errors: Vec<RowError>,
    /// Every warning (SPEC section 4b), by row then field order.
    pub warnings: Vec<RowWarning>,
}

impl CheckedRows {
    /// How many rows have at least one error.
    pub fn rows_with_errors(&self) -> usize {
        let mut count = 0;
        let mut last = None;
        for e in &self.errors {
            if last != Some(e.row) {
                count += 1;
                last = Some(e.row);
            }
        }
        count
    }

    /// How many rows have at least one warning.
    pub fn rows_with_warnings(&self) -> usize {
        let mut rows: Vec<u32> = self.warnings.iter().map(|w| w.row).collect();
        rows.dedup();
        rows.len()
    }
}

/// Rows listed in a duplicate message before "and N more".
const DUPLICATE_ROWS_LISTED: usize = 10;

/// Checks every row; each field gets at most its first error (section 4).
pub fn check_rows(mut rows: Vec<MappedRow>, options: &RuleOptions) -> CheckedRows {
    let mut errors: Vec<Vec<RowError>> = Vec::with_capacity(rows.len());
    let mut known_zones = KnownZones::default();
    for row in rows.iter_mut() {
        errors.push(check_row_with(row, options, &mut known_zones));
    }
    for field in [Field::Username, Field::UserId] {
        flag_duplicates(&rows, &mut errors, field);
    }
    let warnings = find_warnings(&rows, &errors);
    let mut all = Vec::new();
    for mut row_errors in errors {
        row_errors.sort_by_key(|e| e.field);
        all.extend(row_errors);
    }
    CheckedRows {
        rows,
        errors: all,
        warnings,
    }
}

/// The errors of one row, without duplicates (which need every row).
/// Trims first and last names in place.
pub fn check_row(row: &mut MappedRow, options: &RuleOptions) -> Vec<RowError> {
    check_row_with(row, options, &mut KnownZones::default())
}

/// Distinct unknown time zones of one file given a "did you mean?": each
/// costs a comparison with every IANA name, so a column of 100,000 distinct
/// wrong values must not cost 100,000 of them; past this, the message has
/// no suggestion.
const MAX_ZONE_SUGGESTIONS: usize = 1_000;

/// The last time zone found valid: most files use one or two, and a name
/// lookup per row is a measurable share of checking 100,000 rows. Also the
/// suggestions already found for unknown names.
#[derive(Default)]
struct KnownZones {
    last_valid: String,
    suggestions: FxHashMap<String, Option<&'static str>>,
}

impl KnownZones {
    fn is_valid(&mut self, name: &str) -> bool {
        if !self.last_valid.is_empty() && self.last_valid == name {
            return true;
        }
        let valid = chrono_tz::Tz::from_str(name).is_ok();
        if valid {
            name.clone_into(&mut self.last_valid);
        }
        valid
    }

    /// [`crate::time_zones::similar_time_zone`], once per distinct name.
    fn suggestion(&mut self, name: &str) -> Option<&'static str> {
        if let Some(known) = self.suggestions.get(name) {
            return *known;
        }
        if self.suggestions.len() >= MAX_ZONE_SUGGESTIONS {
            return None;
        }
        let found = crate::time_zones::similar_time_zone(name);
        self.suggestions.insert(name.to_string(), found);
        found
    }
}

fn check_row_with(
    row: &mut MappedRow,
    options: &RuleOptions,
    zones: &mut KnownZones,
) -> Vec<RowError> {
    let mut errors = Vec::new();
    for field in Field::ALL {
        if field.is_name() {
            row.trim(field);
        }
        if let Some((code, message)) = first_error(row, field, options, zones) {
            errors.push(RowError::new(row.row, field, code, message));
        }
    }
    errors
}

fn first_error(
    row: &MappedRow,
    field: Field,
    options: &RuleOptions,
    zones: &mut KnownZones,
) -> Option<(ErrorCode, String)> {
    let value = row.get(field);
    let label = field.label();
    // Most values are printable ASCII without spaces: one pass over the bytes
    // settles every whitespace and control-character rule for them.
    let plain = !value.is_empty() && value.bytes().all(|b| (0x21..0x7f).contains(&b));
    if !plain {
        match character_error(value, field, label) {
            Spacing::Blank => {
                return field.is_required().then(|| required(label));
            }
            Spacing::Error(code, message) => return Some((code, message)),
            Spacing::Fine => {}
        }
    }
    let max = field.max_len();
    let length = if plain {
        value.len()
    } else {
        value.chars().count()
    };
    if length > max {
        return Some((
            ErrorCode::TooLong,
            format!("{label}: at most {max} characters"),
        ));
    }
    // A cell that held an error, a date or a rounded number says nothing
    // reliable about the field's format, so its problem is told first.
    if let Some(problem) = row.problem(field) {
        return Some(match problem {
            CellProblem::WrongType => (
                ErrorCode::WrongType,
                format!("{label}: a date is not allowed here; format the column as text"),
            ),
            CellProblem::CellError => (
                ErrorCode::CellError,
                format!("{label}: the cell holds an error ({value})"),
            ),
            CellProblem::ImpreciseNumber => (
                ErrorCode::ImpreciseNumber,
                format!(
                    "{label}: the number is too long to be exact in Excel; format the column as text"
                ),
            ),
        });
    }
    format_error(row, field, value, options, zones).map(|code| {
        let message = match code {
            ErrorCode::InvalidEmail => format!("{label}: Please enter a valid email address"),
            ErrorCode::PasswordTooShort => format!(
                "{label}: must be at least {} characters",
                options.password_min_len
            ),
            ErrorCode::InvalidYesNo => format!("{label}: use yes or no"),
            ErrorCode::LevelGap => {
                let above = Field::SUB_LEVELS[sub_level(field).saturating_sub(2)];
                format!("{label}: {} must be filled in first", above.label())
            }
            ErrorCode::InvalidTimeZone => match zones.suggestion(value) {
                Some(zone) => format!("{label}: unknown time zone; did you mean {zone}?"),
                None => format!("{label}: unknown time zone"),
            },
            _ => format!("{label}: {}", code.key()),
        };
        (code, message)
    })
}

/// A value typed into one of the server's forms rather than read from a
/// file: checked as a cell of `field` alone in its row is (section 4, for a
/// field without a rule across fields: not `sub_level_2`…), and required;
/// its messages start with `label`. Returns the value to store: trimmed
/// where `field` is a name (an import trims those silently), else exactly as
/// given, so a form saves no value that an import row of the same text would
/// have refused or read as another.
pub fn check_form_value(
    field: Field,
    label: &str,
    value: &str,
) -> Result<String, (ErrorCode, String)> {
    // Through `check_row`, not as a second caller of the per-cell functions:
    // the compiler then stopped inlining those into the loop over a file's
    // cells (callgrind, 100,000 rows checked: 5 to 10 % more instructions;
    // this way under 1 %).
    let mut row = MappedRow::new(0).with(field, value);
    let errors = check_row(&mut row, &RuleOptions::default());
    let checked = row.get(field);
    if is_blank(checked) {
        return Err(required(label));
    }
    match errors.into_iter().find(|e| e.field == field) {
        // Every message starts with the field's label; the form names its own.
        Some(e) => {
            let message = match e.message.strip_prefix(field.label()) {
                Some(rest) => format!("{label}{rest}"),
                None => e.message,
            };
            Err((e.code, message))
        }
        None => Ok(checked.to_string()),
    }
}

fn required(label: &str) -> (ErrorCode, String) {
    (
        ErrorCode::Required,
        format!("{label}: This value is required"),
    )
}

/// What the whitespace and control-character rules say of a value.
enum Spacing {
    Blank,
    Error(ErrorCode, String),
    Fine,
}

/// The whitespace and control-character rules, in section 4's order.
fn character_error(value: &str, field: Field, label: &str) -> Spacing {
    if is_blank(value) {
        return Spacing::Blank;
    }
    if value.chars().any(is_control) {
        return Spacing::Error(
            ErrorCode::InvalidCharacters,
            format!("{label}: line breaks and control characters are not allowed"),
        );
    }
    if field == Field::Username && value.chars().any(is_space) {
        return Spacing::Error(
            ErrorCode::SpacesNotAllowed,
            format!("{label}: spaces not allowed"),
        );
    }
    if !field.is_name() && trim(value).len() != value.len() {
        return Spacing::Error(
            ErrorCode::Untrimmed,
            format!("{label}: leading or trailing spaces are not allowed"),
        );
    }
    Spacing::Fine
}

/// The field's own format rule, if it has one.
fn format_error(
    row: &MappedRow,
    field: Field,
    value: &str,
    options: &RuleOptions,
    zones: &mut KnownZones,
) -> Option<ErrorCode> {
    match field {
        Field::Email => (!is_valid_email(value)).then_some(ErrorCode::InvalidEmail),
        Field::Password => (value.chars().count() < options.password_min_len)
            .then_some(ErrorCode::PasswordTooShort),
        Field::SpecialNeeds => parse_yes_no(value)
            .is_none()
            .then_some(ErrorCode::InvalidYesNo),
        Field::TimeZone => (!zones.is_valid(value)).then_some(ErrorCode::InvalidTimeZone),
        f if sub_level(f) >= 2 => {
            let above = Field::SUB_LEVELS[sub_level(f) - 2];
            is_blank(row.get(above)).then_some(ErrorCode::LevelGap)
        }
        _ => None,
    }
}

/// 1..=5 for the sub-level fields, 0 for the others.
fn sub_level(field: Field) -> usize {
    Field::SUB_LEVELS
        .iter()
        .position(|&f| f == field)
        .map_or(0, |i| i + 1)
}

/// `yes`/`no` in any case.
pub fn parse_yes_no(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if value.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// A WHATWG HTML "valid e-mail address" whose domain has a dot. Read as
/// bytes: every accepted character is ASCII, and 100,000 addresses are
/// checked per file.
pub fn is_valid_email(value: &str) -> bool {
    let bytes = value.as_bytes();
    let Some(at) = memchr::memchr(b'@', bytes) else {
        return false;
    };
    let (local, domain) = (&bytes[..at], &bytes[at + 1..]);
    let local_ok = !local.is_empty() && local.iter().all(|&b| EMAIL_LOCAL[usize::from(b)]);
    let label_ok = |b: &[u8]| {
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    local_ok && domain.contains(&b'.') && domain.split(|&b| b == b'.').all(label_ok)
}

/// The bytes allowed before the `@`: ASCII letters, digits and
/// `.!#$%&'*+/=?^_`{|}~-`.
const EMAIL_LOCAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let specials = b".!#$%&'*+/=?^_`{|}~-";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] = true;
        i += 1;
    }
    table
};

/// The key two values of `field` are compared by (section 4).
pub fn identity_key(field: Field, value: &str) -> String {
    match field {
        Field::Username => username_key(value).into_owned(),
        _ => value.to_string(),
    }
}

/// A username in full Unicode lowercase (section 4): every character,
/// titlecase letters such as `ǅ` too, not only those `is_uppercase` names.
/// The server's unique key for a username is this one. Borrowed when
/// nothing changes: an ASCII username without capitals, nearly every one,
/// costs no allocation (100,000 are compared per file).
pub fn username_key(username: &str) -> Cow<'_, str> {
    // One pass over the bytes: a non-ASCII byte needs Unicode's tables.
    let mut upper = false;
    for &b in username.as_bytes() {
        if !b.is_ascii() {
            return Cow::Owned(username.to_lowercase());
        }
        upper |= b.is_ascii_uppercase();
    }
    if upper {
        Cow::Owned(username.to_ascii_lowercase())
    } else {
        Cow::Borrowed(username)
    }
}

fn flag_duplicates(rows: &[MappedRow], errors: &mut [Vec<RowError>], field: Field) {
    // The first row of each value; a list only for values seen again, so
    // that 100,000 distinct values cost no allocation each.
    let mut first: FxHashMap<Cow<'_, str>, usize> = FxHashMap::default();
    first.reserve(rows.len());
    let mut repeated: FxHashMap<usize, Vec<usize>> = FxHashMap::default();
    for (i, row) in rows.iter().enumerate() {
        let value = row.get(field);
        // An error cell has no value (section 3): `#N/A` is no one's duplicate.
        if !is_blank(value) && row.problem(field) != Some(CellProblem::CellError) {
            let key = match field {
                Field::Username => username_key(value),
                _ => Cow::Borrowed(value),
            };
            let at = *first.entry(key).or_insert(i);
            if at != i {
                repeated.entry(at).or_insert_with(|| vec![at]).push(i);
            }
        }
    }
    for indexes in repeated.values() {
        let message = duplicate_message(field, indexes.iter().map(|&i| rows[i].row));
        for &i in indexes {
            if !errors[i].iter().any(|e| e.field == field) {
                errors[i].push(RowError::new(
                    rows[i].row,
                    field,
                    ErrorCode::DuplicateInFile,
                    message.clone(),
                ));
            }
        }
    }
}

fn duplicate_message(field: Field, row_numbers: impl ExactSizeIterator<Item = u32>) -> String {
    let total = row_numbers.len();
    let listed: Vec<String> = row_numbers
        .take(DUPLICATE_ROWS_LISTED)
        .map(|n| n.to_string())
        .collect();
    let more = total - listed.len();
    let rows = if more > 0 {
        format!("{} and {more} more", listed.join(", "))
    } else {
        listed.join(", ")
    };
    format!(
        "{}: This value is used more than once in the file (rows {rows})",
        field.label()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_follows_whatwg_and_needs_a_dot() {
        for ok in ["a@b.nl", "first.last+tag@mail.example.com", "x_y@a-b.co"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "a@b",
            "@b.nl",
            "a@-b.nl",
            "a@b-.nl",
            "a b@c.nl",
            "a@b..nl",
            "zoë@b.nl",
            "a@b.nl@c.nl",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn long_duplicate_lists_are_shortened() {
        let m = duplicate_message(Field::UserId, (2..20).collect::<Vec<u32>>().into_iter());
        assert_eq!(
            m,
            "User ID: This value is used more than once in the file (rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 8 more)"
        );
    }

    #[test]
    fn a_form_value_is_judged_as_the_same_cell_in_an_import() {
        let options = RuleOptions::default();
        let long = "x".repeat(256);
        for value in [
            "School",
            " School",
            "\u{200B}School",
            "School\u{FEFF}",
            "Sch\u{2028}ool",
            "\u{200B}",
            "",
            long.as_str(),
        ] {
            for field in [Field::SubLevel1, Field::FirstName] {
                let mut row = MappedRow::new(2).with(field, value);
                let import = check_row(&mut row, &options)
                    .into_iter()
                    .find(|e| e.field == field)
                    .map(|e| (e.code, e.message));
                let form = check_form_value(field, field.label(), value);
                match form {
                    Ok(stored) => {
                        assert_eq!(import, None, "{field} {value:?}");
                        assert_eq!(stored, row.get(field), "{field} {value:?}");
                    }
                    // A form value is required where a sub-level may be empty.
                    Err(e) if e.0 == ErrorCode::Required => {
                        assert!(is_blank(row.get(field)), "{field} {value:?}")
                    }
                    Err(e) => assert_eq!(import, Some(e), "{field} {value:?}"),
                }
            }
        }
        assert_eq!(
            check_form_value(Field::SubLevel1, "Name", "\u{200B}School"),
            Err((
                ErrorCode::Untrimmed,
                "Name: leading or trailing spaces are not allowed".to_string()
            ))
        );
        assert_eq!(
            check_form_value(Field::FirstName, "Name", "\u{200B}Teachers "),
            Ok("Teachers".to_string())
        );
    }
}
