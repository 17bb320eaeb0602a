//! The warnings of SPEC section 4b: values that pass every rule of section 4
//! but are probably not what the administrator meant (what a spreadsheet
//! did to good data on the way, and people who are probably in the file
//! twice). A warning never makes a row invalid and never changes an exit
//! status; [`crate::check_rows`] finds them after the errors.
//!
//! Every warning needs the whole column, so they are found in one pass over
//! the rows that gathers what each needs, then a second look only where the
//! first found something: a file without warnings costs one pass.

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::cells::CellProblem;
use crate::fields::Field;
use crate::rows::MappedRow;
use crate::rules::{RowError, username_key};
use crate::text::{edit_distance_within, is_blank, normalize, trim};

/// Every warning's code, as it appears in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    LeadingZerosLost,
    ScientificNotation,
    DateInId,
    EmailDomainTypo,
    PossibleDuplicate,
}

impl WarningCode {
    pub const ALL: [WarningCode; 5] = [
        WarningCode::LeadingZerosLost,
        WarningCode::ScientificNotation,
        WarningCode::DateInId,
        WarningCode::EmailDomainTypo,
        WarningCode::PossibleDuplicate,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            WarningCode::LeadingZerosLost => "leading_zeros_lost",
            WarningCode::ScientificNotation => "scientific_notation",
            WarningCode::DateInId => "date_in_id",
            WarningCode::EmailDomainTypo => "email_domain_typo",
            WarningCode::PossibleDuplicate => "possible_duplicate",
        }
    }
}

/// One warning about one field of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowWarning {
    pub row: u32,
    pub field: Field,
    pub code: WarningCode,
    pub message: String,
}

/// The identifier columns whose numbers and text `leading_zeros_lost` and
/// `scientific_notation` compare.
const NUMBERED_IDS: [Field; 2] = [Field::UserId, Field::SyncKey];

/// The columns where a date is an identifier Excel turned into a date.
const DATED_IDS: [Field; 3] = [Field::Username, Field::UserId, Field::SyncKey];

/// Longest identifier whose length `leading_zeros_lost` counts: the longest
/// value of its fields (a sync key's 255 characters).
const MAX_ID_LEN: usize = 255;

/// A domain is a probable typo when at most this many rows use it…
const RARE_DOMAIN_ROWS: u32 = 2;
/// …and it is near one that at least this many rows use.
const COMMON_DOMAIN_ROWS: u32 = 10;
/// Distinct domains counted; a file with more (one per row?) has no common
/// domain to be a typo of, and the map stays bounded.
const MAX_DOMAINS: usize = 20_000;
/// The file's common domains compared with, most used first.
const MAX_COMMON_DOMAINS: usize = 50;
/// Rare domains compared with the common ones and the providers, in the
/// order of the file: each comparison costs about twice its length.
const MAX_RARE_DOMAINS: usize = 2_000;
/// Rows listed in a `possible_duplicate` message before "and N more".
const DUPLICATE_ROWS_LISTED: usize = 10;

/// Common providers' domains: a typo of one is caught even in a file that
/// uses it only once. Each is a real domain, so never itself a typo; real
/// domains near them (`ymail.com`, `gmx.net`) are listed for that reason.
pub const COMMON_PROVIDERS: [&str; 20] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "mail.com",
];

/// Every warning of `rows`, by row then field. `errors[i]` are the errors
/// of `rows[i]`: a field with an error gets no warning but `date_in_id`
/// (a date in an identifier column is `wrong_type`; the warning says why).
pub fn find_warnings(rows: &[MappedRow], errors: &[Vec<RowError>]) -> Vec<RowWarning> {
    let has_error = |i: usize, field: Field| {
        errors
            .get(i)
            .is_some_and(|e| e.iter().any(|e| e.field == field))
    };
    let mut warnings = Vec::new();
    let mut ids = NUMBERED_IDS.map(|_| ZeroLedIds::default());
    let mut dates = DATED_IDS.map(|_| DateCount::default());
    let mut domains = DomainCounts::default();
    let mut emails = SameEmail::with_capacity(rows.len());
    let mut folded = String::new();

    for (i, row) in rows.iter().enumerate() {
        let clean = errors.get(i).is_none_or(Vec::is_empty);
        for (k, &field) in NUMBERED_IDS.iter().enumerate() {
            let value = row.get(field);
            if value.is_empty() || (!clean && has_error(i, field)) {
                continue;
            }
            if row.was_number(field) {
                ids[k].numbers = true;
            } else if value.as_bytes()[0] == b'0' {
                ids[k].count(i, value);
            } else if is_scientific(value) {
                warnings.push(scientific(row.row, field, value));
            }
        }
        for (k, &field) in DATED_IDS.iter().enumerate() {
            if row.problem(field) == Some(CellProblem::WrongType) {
                dates[k].dates += 1;
            } else if !row.get(field).is_empty() {
                dates[k].others += 1;
            }
        }
        let email = row.get(Field::Email);
        if !is_blank(email) {
            if clean || !has_error(i, Field::Email) {
                domains.count(i, email);
            }
            emails.add(i, folded_email(&mut folded, email));
        }
    }

    for (k, &field) in NUMBERED_IDS.iter().enumerate() {
        if ids[k].numbers
            && let Some((length, example)) = ids[k].usual()
        {
            let example = rows[example].get(field);
            for (i, row) in rows.iter().enumerate() {
                let value = row.get(field);
                if row.was_number(field)
                    && value.len() < length
                    && value.bytes().all(|b| b.is_ascii_digit())
                    && !has_error(i, field)
                {
                    warnings.push(RowWarning {
                        row: row.row,
                        field,
                        code: WarningCode::LeadingZerosLost,
                        message: format!(
                            "{}: {value} may have lost its leading zeros (other IDs in this column look like {example})",
                            field.label()
                        ),
                    });
                }
            }
        }
    }
    for (k, &field) in DATED_IDS.iter().enumerate() {
        let count = dates[k];
        // A column of dates only is a mapping mistake, not Excel's doing.
        if count.dates > 0 && count.others > count.dates {
            for row in rows {
                if row.problem(field) == Some(CellProblem::WrongType) {
                    warnings.push(RowWarning {
                        row: row.row,
                        field,
                        code: WarningCode::DateInId,
                        message: format!(
                            "{}: {} is a date where the other rows hold IDs: Excel may have turned an ID such as 1-2 into a date",
                            field.label(),
                            row.get(field)
                        ),
                    });
                }
            }
        }
    }
    domains.find_typos(rows, &mut warnings);
    emails.find_duplicates(rows, &mut warnings);
    warnings.sort_by_key(|w| (w.row, w.field));
    warnings
}

/// An email folded as [`fold_into`] does; most are ASCII without capitals
/// and need no copy.
fn folded_email<'a>(buffer: &'a mut String, email: &'a str) -> &'a str {
    if email.bytes().all(|b| UNFOLDED[usize::from(b)]) {
        return email;
    }
    fold_into(buffer, trim(email));
    buffer
}

/// The bytes folding leaves as they are and that are no whitespace (so an
/// email of them needs no trimming either): printable ASCII but capitals.
const UNFOLDED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        table[b] = !(b as u8).is_ascii_uppercase();
        b += 1;
    }
    table
};

/// `value` folded as the search folds it (SPEC 4b's "normalised") into
/// `out`; ASCII, as every valid email is, without [`normalize`]'s tables.
fn fold_into(out: &mut String, value: &str) {
    out.clear();
    if value.is_ascii() {
        out.extend(value.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&normalize(value));
    }
}

/// The text identifiers of one column that start with a zero, by length.
#[derive(Default)]
struct ZeroLedIds {
    /// Whether the column holds a number cell at all.
    numbers: bool,
    /// Length → (how many, the first row's index); filled on first use.
    lengths: Vec<(u32, usize)>,
}

impl ZeroLedIds {
    fn count(&mut self, i: usize, value: &str) {
        let length = value.len();
        if !(2..=MAX_ID_LEN).contains(&length) || !value.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        if self.lengths.is_empty() {
            self.lengths = vec![(0, 0); MAX_ID_LEN + 1];
        }
        let slot = &mut self.lengths[length];
        if slot.0 == 0 {
            slot.1 = i;
        }
        slot.0 += 1;
    }

    /// The most used length of zero-led text IDs (the shorter on a tie),
    /// and the index of the first row with one.
    fn usual(&self) -> Option<(usize, usize)> {
        let (length, &(count, first)) = self
            .lengths
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(&a.0)))?;
        (count > 0).then_some((length, first))
    }
}

#[derive(Default, Clone, Copy)]
struct DateCount {
    dates: u32,
    others: u32,
}

/// Text such as `1.23457E+11` or `1E+15`: how Excel's General format shows a
/// long number, saved as text with its digits gone.
fn is_scientific(value: &str) -> bool {
    let b = value.as_bytes();
    let Some(e) = b.iter().position(|&c| c == b'E' || c == b'e') else {
        return false;
    };
    let (mantissa, exponent) = (&b[..e], &b[e + 1..]);
    let mantissa = mantissa.strip_prefix(b"-").unwrap_or(mantissa);
    let (int, frac) = match mantissa.iter().position(|&c| c == b'.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, &b""[..]),
    };
    let exponent = exponent
        .strip_prefix(b"+")
        .or_else(|| exponent.strip_prefix(b"-"))
        .unwrap_or(exponent);
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    int.len() == 1
        && digits(int)
        && (frac.is_empty() || digits(frac))
        && digits(exponent)
        && exponent.len() <= 3
}

fn scientific(row: u32, field: Field, value: &str) -> RowWarning {
    RowWarning {
        row,
        field,
        code: WarningCode::ScientificNotation,
        message: format!(
            "{}: {value} is a number in scientific notation: its last digits were lost when the file was saved; format the column as text and type the IDs again",
            field.label()
        ),
    }
}

/// How many rows use each email domain, case folded, and the first two of
/// them (a rare domain's rows).
#[derive(Default)]
struct DomainCounts<'a> {
    /// Domain → its entry in `uses`.
    index: FxHashMap<Cow<'a, str>, usize>,
    uses: Vec<DomainUse>,
    /// The last domain counted, as written, and its entry: consecutive rows
    /// mostly share one, and comparing it costs less than hashing it.
    last: Option<(&'a str, usize)>,
}

#[derive(Clone, Copy)]
struct DomainUse {
    rows: u32,
    first: [usize; RARE_DOMAIN_ROWS as usize],
}

impl<'a> DomainCounts<'a> {
    fn count(&mut self, i: usize, email: &'a str) {
        let Some(at) = email.rfind('@') else { return };
        let domain = &email[at + 1..];
        let k = match self.last {
            Some((last, k)) if last == domain => k,
            _ => {
                let key = if domain.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(domain.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(domain)
                };
                let k = match self.index.get(&key) {
                    Some(&k) => k,
                    None if self.uses.len() < MAX_DOMAINS => {
                        self.uses.push(DomainUse {
                            rows: 0,
                            first: [i; RARE_DOMAIN_ROWS as usize],
                        });
                        self.index.insert(key, self.uses.len() - 1);
                        self.uses.len() - 1
                    }
                    None => return,
                };
                self.last = Some((domain, k));
                k
            }
        };
        let used = &mut self.uses[k];
        if let Some(slot) = used.first.get_mut(used.rows as usize) {
            *slot = i;
        }
        used.rows = used.rows.saturating_add(1);
    }

    /// Every domain counted, with its use.
    fn domains(&self) -> impl Iterator<Item = (&str, &DomainUse)> {
        self.index.iter().map(|(d, &k)| (&**d, &self.uses[k]))
    }

    fn find_typos(&self, rows: &[MappedRow], warnings: &mut Vec<RowWarning>) {
        let mut common: Vec<(&str, u32)> = self
            .domains()
            .filter(|(_, u)| u.rows >= COMMON_DOMAIN_ROWS)
            .map(|(d, u)| (d, u.rows))
            .collect();
        common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        common.truncate(MAX_COMMON_DOMAINS);
        let candidates: Vec<(&str, u32)> = common
            .iter()
            .copied()
            .chain(
                COMMON_PROVIDERS
                    .iter()
                    .filter(|p| !common.iter().any(|(d, _)| d == *p))
                    .map(|p| (*p, 0)),
            )
            .collect();
        let mut rare: Vec<(&str, &DomainUse)> = self
            .domains()
            .filter(|(d, u)| u.rows <= RARE_DOMAIN_ROWS && !COMMON_PROVIDERS.contains(d))
            .collect();
        if rare.is_empty() {
            return;
        }
        rare.sort_by_key(|(_, u)| u.first[0]);
        rare.truncate(MAX_RARE_DOMAINS);
        for (domain, used) in rare {
            // The nearest; on a tie the one more rows use.
            let Some((_, suggestion)) = candidates
                .iter()
                .filter_map(|&(c, n)| {
                    let d = edit_distance_within(domain.as_bytes(), c.as_bytes(), 2)?;
                    (d > 0).then_some(((d, std::cmp::Reverse(n)), c))
                })
                .min_by_key(|&(key, _)| key)
            else {
                continue;
            };
            for &i in &used.first[..used.rows as usize] {
                warnings.push(RowWarning {
                    row: rows[i].row,
                    field: Field::Email,
                    code: WarningCode::EmailDomainTypo,
                    message: format!("{}: did you mean @{suggestion}?", Field::Email.label()),
                });
            }
        }
    }
}

/// Rows that share a folded email: the only ones that can be the same
/// person under two usernames. Keyed by a hash of the email so that
/// 100,000 distinct addresses cost no allocation each; a shared hash is
/// confirmed on the text before anything is said.
struct SameEmail {
    first: FxHashMap<u64, usize>,
    /// (index of the first row with the hash, index of a later one).
    later: Vec<(usize, usize)>,
}

impl SameEmail {
    fn with_capacity(rows: usize) -> SameEmail {
        let mut first = FxHashMap::default();
        first.reserve(rows);
        SameEmail {
            first,
            later: Vec::new(),
        }
    }

    fn add(&mut self, i: usize, folded_email: &str) {
        use std::hash::Hasher;
        let mut hasher = rustc_hash::FxHasher::default();
        hasher.write(folded_email.as_bytes());
        let at = *self.first.entry(hasher.finish()).or_insert(i);
        if at != i {
            self.later.push((at, i));
        }
    }

    fn find_duplicates(&self, rows: &[MappedRow], warnings: &mut Vec<RowWarning>) {
        if self.later.is_empty() {
            return;
        }
        // The candidate rows, grouped by their full key.
        let mut groups: FxHashMap<(String, String, String), Vec<usize>> = FxHashMap::default();
        let mut seen = FxHashSet::default();
        let mut buffer = String::new();
        for &(a, b) in &self.later {
            for i in [a, b] {
                if !seen.insert(i) {
                    continue;
                }
                let row = &rows[i];
                let (first, last) = (row.get(Field::FirstName), row.get(Field::LastName));
                if is_blank(first) || is_blank(last) {
                    continue;
                }
                let email = folded_email(&mut buffer, row.get(Field::Email)).to_string();
                let key = (normalize(trim(first)), normalize(trim(last)), email);
                groups.entry(key).or_default().push(i);
            }
        }
        for mut group in groups.into_values() {
            group.sort_unstable();
            // Each username's key once, and how many rows hold each: a
            // group of n rows costs O(n), not n² (thousands of rows may
            // share a name and an email).
            let keys: Vec<Cow<'_, str>> = group
                .iter()
                .map(|&i| username_key(rows[i].get(Field::Username)))
                .collect();
            let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
            for key in &keys {
                *counts.entry(key.as_ref()).or_default() += 1;
            }
            if counts.len() < 2 {
                continue;
            }
            // The rows any message lists are among the first
            // DUPLICATE_ROWS_LISTED rows of each of the first
            // DUPLICATE_ROWS_LISTED + 1 usernames (in the file's order):
            // whichever username a row has, at least
            // DUPLICATE_ROWS_LISTED of those usernames are others.
            let mut leaders: Vec<usize> = Vec::new();
            let mut taken: FxHashMap<&str, usize> = FxHashMap::default();
            for (at, key) in keys.iter().enumerate() {
                let usernames = taken.len();
                match taken.get_mut(key.as_ref()) {
                    Some(n) if *n < DUPLICATE_ROWS_LISTED => {
                        *n += 1;
                        leaders.push(at);
                    }
                    Some(_) => {}
                    None if usernames <= DUPLICATE_ROWS_LISTED => {
                        taken.insert(key.as_ref(), 1);
                        leaders.push(at);
                    }
                    None => {}
                }
            }
            for (at, &i) in group.iter().enumerate() {
                let own = keys[at].as_ref();
                let listed: Vec<u32> = leaders
                    .iter()
                    .filter(|&&l| keys[l] != own)
                    .take(DUPLICATE_ROWS_LISTED)
                    .map(|&l| rows[group[l]].row)
                    .collect();
                warnings.push(RowWarning {
                    row: rows[i].row,
                    field: Field::Username,
                    code: WarningCode::PossibleDuplicate,
                    message: duplicate_message(&listed, group.len() - counts[own]),
                });
            }
        }
    }
}

/// The one person a `possible_duplicate` compares (SPEC 4b): first name,
/// last name and email, each trimmed and folded as the search folds, joined
/// by U+001F (a control character, which no valid value holds). `None`
/// when the first or last name is blank: such rows are never compared, in
/// the file or against the directory. The server keeps it on every user
/// (`users.dup_key`) to find a row's match in the directory by an index;
/// rows of one file are compared as [`find_warnings`] groups them, on the
/// same folding.
pub fn duplicate_key(first: &str, last: &str, email: &str) -> Option<String> {
    if is_blank(first) || is_blank(last) {
        return None;
    }
    let mut key = normalize(trim(first));
    key.push(DUPLICATE_KEY_SEPARATOR);
    key.push_str(&normalize(trim(last)));
    key.push(DUPLICATE_KEY_SEPARATOR);
    key.push_str(&normalize(trim(email)));
    Some(key)
}

/// Between the parts of a [`duplicate_key`].
pub const DUPLICATE_KEY_SEPARATOR: char = '\u{1f}';

/// The `possible_duplicate` of a row that would create a user whose
/// [`duplicate_key`] an existing user already has (the server's check; a
/// user in the trash can counts too).
pub fn directory_duplicate_warning(
    row: u32,
    username: &str,
    user_id: &str,
    in_trash: bool,
) -> RowWarning {
    let where_ = if in_trash {
        "in the trash can"
    } else {
        "already in the directory"
    };
    RowWarning {
        row,
        field: Field::Username,
        code: WarningCode::PossibleDuplicate,
        message: format!(
            "{}: may be the same person as {username} (user ID {user_id}), {where_} (same name and email, another username)",
            Field::Username.label()
        ),
    }
}

/// `listed`: the first of the other rows (at most DUPLICATE_ROWS_LISTED);
/// `others`: how many there are.
fn duplicate_message(listed: &[u32], others: usize) -> String {
    let more = others - listed.len();
    let listed: Vec<String> = listed.iter().map(u32::to_string).collect();
    let (noun, rows) = match (others, more) {
        (1, _) => ("row", listed.join(", ")),
        (_, 0) => ("rows", listed.join(", ")),
        _ => ("rows", format!("{} and {more} more", listed.join(", "))),
    };
    format!(
        "{}: may be the same person as {noun} {rows} (same name and email, another username)",
        Field::Username.label()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scientific_notation_is_excels_general_format() {
        for yes in ["1.23457E+11", "1E+15", "-2.5e-3", "9.99999E+307"] {
            assert!(is_scientific(yes), "{yes}");
        }
        for no in [
            "12345", "E+11", "12.3E+4", "1.2E", "1.2E+", "1.2x+11", "Eve", "1e+1234",
        ] {
            assert!(!is_scientific(no), "{no}");
        }
    }

    #[test]
    fn the_duplicate_key_folds_as_the_file_check_does() {
        assert_eq!(
            duplicate_key(" Zoë ", "MÜLLER", "Zoe@Example.ORG "),
            duplicate_key("zoe", "muller", "zoe@example.org")
        );
        assert_eq!(
            duplicate_key("Zoe", "Muller", "zoe@example.org").unwrap(),
            "zoe\u{1f}muller\u{1f}zoe@example.org"
        );
        assert_ne!(
            duplicate_key("Zoe", "Muller", "zoe@example.org"),
            duplicate_key("Zoe", "Muller", "zoe2@example.org")
        );
        assert_eq!(duplicate_key(" ", "Muller", "zoe@example.org"), None);
        assert_eq!(
            directory_duplicate_warning(4, "jdoe", "1234", false).message,
            "Username: may be the same person as jdoe (user ID 1234), already in the directory (same name and email, another username)"
        );
        assert!(
            directory_duplicate_warning(4, "jdoe", "1234", true)
                .message
                .contains("jdoe (user ID 1234), in the trash can")
        );
    }

    #[test]
    fn a_duplicate_message_lists_ten_rows() {
        assert_eq!(
            duplicate_message(&[4], 1),
            "Username: may be the same person as row 4 (same name and email, another username)"
        );
        let listed: Vec<u32> = (2..12).collect();
        assert!(
            duplicate_message(&listed, 18)
                .contains("rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 8 more")
        );
    }
}
