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
        if let Some(hash) = email_hash(email, &mut folded) {
            if clean || !has_error(i, Field::Email) {
                domains.count(i, email);
            }
            emails.add(i, hash);
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

/// A hash of `email` folded as [`fold_into`] does, or `None` when it is
/// blank. Nearly every email is printable ASCII, which folding only
/// lowercases: those are lowercased and hashed in one pass, 8 bytes at a
/// time, without a copy; any other is folded into `buffer` first. Equal
/// folded emails get equal hashes either way (`email_hash_is_the_folded_comparison`).
fn email_hash(email: &str, buffer: &mut String) -> Option<u64> {
    if !email.is_empty()
        && let Some(hash) = hash_words(email.as_bytes(), lowercase_printable)
    {
        return Some(hash);
    }
    let email = trim(email);
    if email.is_empty() {
        return None;
    }
    fold_into(buffer, email);
    hash_words(buffer.as_bytes(), Some)
}

/// Hashes `bytes` 8 at a time, each word first passed through `word`
/// (`None` from it stops the hash): the whole words, then the last 8 bytes
/// (overlapping) if the length is no multiple of 8; fewer than 8 bytes are
/// padded with `a`. The length goes in first, so neither the overlap nor
/// the padding makes two texts alike.
#[inline(always)]
fn hash_words(bytes: &[u8], mut word: impl FnMut(u64) -> Option<u64>) -> Option<u64> {
    // Each word xored in, multiplied, and the well-mixed top half folded
    // down (a multiply alone never carries a high bit down: FxHash's step
    // let 4,536 of 100,000 emails like `user1234@example.com` collide).
    let mix = |hash: u64| {
        let hash = hash.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        hash ^ hash >> 32
    };
    // The length mixed first: xored in as it is, `a` and `ba` collided.
    let mut hash = mix(bytes.len() as u64);
    let mut add = |w: u64| -> Option<()> {
        hash = mix(hash ^ word(w)?);
        Some(())
    };
    let (words, rest) = bytes.as_chunks::<8>();
    if words.is_empty() {
        let mut padded = [b'a'; 8];
        padded[..rest.len()].copy_from_slice(rest);
        add(u64::from_le_bytes(padded))?;
    }
    for w in words {
        add(u64::from_le_bytes(*w))?;
    }
    if !words.is_empty()
        && !rest.is_empty()
        && let Some(last) = bytes.last_chunk::<8>()
    {
        add(u64::from_le_bytes(*last))?;
    }
    Some(hash)
}

/// Each byte of a word, repeated.
const BYTES: u64 = 0x0101_0101_0101_0101;
/// The top bit of each byte of a word.
const TOPS: u64 = 0x8080_8080_8080_8080;

/// `w` with its ASCII capitals lowercased, if each of its 8 bytes is
/// printable ASCII other than a space (`!` to `~`), which is all folding
/// changes in them and leaves nothing to trim; `None` otherwise. Word at a
/// time: a byte's top bit says what is asked of it.
fn lowercase_printable(w: u64) -> Option<u64> {
    // A byte below `!` borrows into its top bit; one above `~` carries into
    // it or has it already (the usual "has a byte less/more than" tests).
    let below = w.wrapping_sub(BYTES * 0x21) & !w;
    let above = w.wrapping_add(BYTES) | w;
    if (below | above) & TOPS != 0 {
        return None;
    }
    // Every byte is now below 0x7f, so these sums carry into no neighbour:
    // the top bit is set from `A` up, and from past `Z` up.
    let from_a = w + BYTES * u64::from(0x80 - b'A');
    let past_z = w + BYTES * u64::from(0x80 - b'Z' - 1);
    let capitals = from_a & !past_z & TOPS;
    // 0x80 >> 2 is 0x20, the bit between a capital and its small letter.
    Some(w | capitals >> 2)
}

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
        let k = match self.last {
            // The last domain holds no `@`, so an email that ends in `@` and
            // it has it as its domain, found without searching for the `@`.
            Some((last, k))
                if email.len() > last.len()
                    && email.as_bytes()[email.len() - last.len() - 1] == b'@'
                    && email.ends_with(last) =>
            {
                k
            }
            _ => {
                let Some(at) = email.rfind('@') else { return };
                let domain = &email[at + 1..];
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

    /// Row `i`, whose folded email has [`email_hash`] `hash`.
    fn add(&mut self, i: usize, hash: u64) {
        let at = *self.first.entry(hash).or_insert(i);
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
                let mut email = String::new();
                fold_into(&mut email, trim(row.get(Field::Email)));
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

    /// The folding the first pass's hash stands for.
    fn folded(email: &str) -> Option<String> {
        (!is_blank(email)).then(|| normalize(trim(email)))
    }

    fn hash(email: &str) -> Option<u64> {
        email_hash(email, &mut String::new())
    }

    #[test]
    fn email_hash_is_the_folded_comparison() {
        let same = [
            // The fast path against the slow one: capitals, an accented
            // capital, surrounding spaces (a tab, a zero-width space).
            ["zoe@example.org", "Zoe@Example.ORG", "ZOË@EXAMPLE.ORG"],
            [
                "zoe@example.org",
                " zoe@example.org\t",
                "\u{200B}Zoë@example.org ",
            ],
            // Shorter than a word (padded), a word, a word and a byte
            // (the last word overlaps), two words.
            ["a@b.co", "A@B.CO", "À@b.co "],
            ["ab@cd.ef", "AB@CD.EF", "áb@cd.ef"],
            ["abc@de.fgh", "ABC@DE.FGH", " abc@dé.fgh"],
            ["abcdefgh@ijklmno", "ABCDEFGH@IJKLMNO", "abcdefgh@ijklmnö"],
            // Letters that fold to two; punctuation next to the capitals.
            ["strasse@x.de", "STRASSE@X.DE", "straße@x.de"],
            ["@[\\]^_`{@x.y", "@[\\]^_`{@X.Y", "@[\\]^_`{@x.ý"],
        ];
        for group in same {
            for email in group {
                assert_eq!(folded(email), folded(group[0]), "{email}");
                assert_eq!(hash(email), hash(group[0]), "{email}");
            }
        }
        // Text that pads or overlaps into the same words, and neighbours
        // of the capitals' range.
        let different = [
            "a@b.co",
            "a@b.coa",
            "aaaaaaa",
            "aaaaaaaa",
            "aaaaaaaaa",
            "abcdefghi",
            "abcdefgi",
            "a@b.c@",
            "a@b.c[",
            "a@b.c`",
            "a@b.c{",
            "zoe@example.org",
            "zoe2@example.org",
            "zoe@example.or",
            "zoe @example.org",
            "zoé@example.org.",
        ];
        for (k, a) in different.iter().enumerate() {
            for b in &different[k + 1..] {
                assert_ne!(folded(a), folded(b), "{a} {b}");
                assert_ne!(hash(a), hash(b), "{a} {b}");
            }
        }
        for blank in ["", " ", "\t\u{200B} "] {
            assert_eq!(hash(blank), None, "{blank:?}");
        }
        // Not blank, though it folds to nothing (a lone combining accent):
        // counted as the old fold counted it.
        assert_eq!(folded("\u{301}"), Some(String::new()));
        assert!(hash("\u{301}").is_some());
    }

    #[test]
    fn email_hashes_of_numbered_emails_do_not_collide() {
        // Like the bench file's: only digits in the middle differ. A
        // collision costs a second look, not a wrong warning.
        let mut seen = FxHashSet::default();
        for i in 0..200_000 {
            for email in [format!("user{i}@example.com"), format!("{i}@x.org")] {
                assert!(seen.insert(hash(&email)), "{email}");
            }
        }
    }

    #[test]
    fn lowercase_printable_is_the_byte_rule() {
        // Every byte at every place of a word of printable letters, and
        // pairs of neighbours (a borrow or carry must not hide one).
        let scalar = |w: [u8; 8]| -> Option<[u8; 8]> {
            w.iter()
                .all(|b| (0x21..=0x7e).contains(b))
                .then(|| w.map(|b| b.to_ascii_lowercase()))
        };
        let check = |w: [u8; 8]| {
            let fast = lowercase_printable(u64::from_le_bytes(w)).map(u64::to_le_bytes);
            assert_eq!(fast, scalar(w), "{w:?}");
        };
        for place in 0..8 {
            for b in 0..=255u8 {
                let mut w = *b"mIxEd@Z~";
                w[place] = b;
                check(w);
                if place < 7 {
                    for c in [
                        0x00, 0x20, 0x21, 0x40, 0x41, 0x5a, 0x5b, 0x7e, 0x7f, 0x80, 0xff,
                    ] {
                        w[place + 1] = c;
                        check(w);
                    }
                }
            }
        }
    }

    #[test]
    fn email_hash_agrees_with_folding_on_random_emails() {
        // Emails built from letters whose case, accents and spaces fold
        // away, so that many pairs fold alike and many do not.
        let letters = [
            "a", "A", "á", "Á", "b", "B", "@", ".", " ", "ß", "ss", "SS", "\t", "z",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut emails = Vec::new();
        for _ in 0..3000 {
            let len = next() % 12;
            let email: String = (0..len)
                .map(|_| letters[(next() % letters.len() as u64) as usize])
                .collect();
            emails.push(email);
        }
        let mut by_fold: FxHashMap<Option<String>, Option<u64>> = FxHashMap::default();
        let mut by_hash: FxHashMap<Option<u64>, Option<String>> = FxHashMap::default();
        for email in &emails {
            let (f, h) = (folded(email), hash(email));
            assert_eq!(*by_fold.entry(f.clone()).or_insert(h), h, "{email:?}");
            assert_eq!(*by_hash.entry(h).or_insert(f.clone()), f, "{email:?}");
        }
        // The test compared something: many emails shared a folding.
        assert!(emails.len() - by_fold.len() > 500, "{}", by_fold.len());
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
