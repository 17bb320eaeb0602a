//! Which column fills which field. Suggested from the header texts (section
//! 2's synonyms, ignoring case, spaces, `-` and `_`, forgiving one typo), and
//! changed by the administrator in the browser or with `--map`.

use std::collections::BTreeMap;

use crate::error::ReadError;
use crate::fields::Field;

/// A column index per field; `None` where no column is mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    columns: [Option<usize>; Field::ALL.len()],
}

impl Mapping {
    pub fn get(&self, field: Field) -> Option<usize> {
        self.columns[field.index()]
    }

    /// Maps `field` to `column`, releasing the column from any other field
    /// (a column fills one field).
    pub fn set(&mut self, field: Field, column: Option<usize>) {
        if column.is_some() {
            for c in self.columns.iter_mut() {
                if *c == column {
                    *c = None;
                }
            }
        }
        self.columns[field.index()] = column;
    }

    /// Required fields with no column, in section 2's order.
    pub fn missing_required(&self) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|f| f.is_required() && self.get(*f).is_none())
            .collect()
    }

    /// Field → header text, for the report.
    pub fn describe(&self, headers: &[String]) -> BTreeMap<Field, String> {
        Field::ALL
            .into_iter()
            .filter_map(|f| Some((f, headers.get(self.get(f)?)?.clone())))
            .collect()
    }

    /// Non-empty headers that fill no field.
    pub fn unmapped_headers(&self, headers: &[String]) -> Vec<String> {
        headers
            .iter()
            .enumerate()
            .filter(|(i, h)| !h.is_empty() && !self.columns.contains(&Some(*i)))
            .map(|(_, h)| h.clone())
            .collect()
    }

    /// Suggests a column for each field. Exact synonyms first; then a header
    /// one edit away from exactly one field's synonym ("Emial"). Where two
    /// headers match one field, the leftmost wins.
    pub fn suggest(headers: &[String]) -> Mapping {
        let normalised: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
        let mut mapping = Mapping::default();
        let mut taken = vec![false; headers.len()];
        for (col, header) in normalised.iter().enumerate() {
            if let Some(field) = exact_field(header)
                && mapping.get(field).is_none()
            {
                mapping.columns[field.index()] = Some(col);
                taken[col] = true;
            }
        }
        for (col, header) in normalised.iter().enumerate() {
            if taken[col] || header.chars().count() < 4 {
                continue;
            }
            let mut near = Field::ALL.into_iter().filter(|f| {
                f.synonyms()
                    .iter()
                    .any(|s| s.len() >= 4 && within_one_edit(header, &normalise_header(s)))
            });
            if let (Some(field), None) = (near.next(), near.next())
                && mapping.get(field).is_none()
            {
                mapping.columns[field.index()] = Some(col);
                taken[col] = true;
            }
        }
        mapping
    }

    /// Applies `--map FIELD=HEADER`: the header is found by its exact text,
    /// else by its normalised form.
    pub fn override_with(
        &mut self,
        field: Field,
        header: &str,
        headers: &[String],
    ) -> Result<(), ReadError> {
        let wanted = normalise_header(header);
        let col = headers
            .iter()
            .position(|h| h == header)
            .or_else(|| {
                headers
                    .iter()
                    .position(|h| normalise_header(h) == wanted && !wanted.is_empty())
            })
            .ok_or_else(|| ReadError::UnknownHeader {
                field,
                header: header.to_string(),
            })?;
        self.set(field, Some(col));
        Ok(())
    }
}

/// Lower case, without spaces, `-` and `_`: "E-mail Address" → "emailaddress".
pub fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| !crate::text::is_space(*c) && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn exact_field(normalised: &str) -> Option<Field> {
    Field::ALL.into_iter().find(|f| {
        f.synonyms()
            .iter()
            .any(|s| normalise_header(s) == normalised)
    })
}

/// Damerau–Levenshtein distance ≤ 1: one letter added, removed, changed, or
/// two neighbours swapped.
fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return true;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len() as isize - rb.len() as isize {
        0 => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        1 => ra[1..] == *rb,
        -1 => *ra == rb[1..],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn synonyms_match_ignoring_case_spaces_dashes_and_underscores() {
        let h = headers(&[
            "FIRST_NAME",
            "Surname",
            "User-Name",
            "E-mail Address",
            "Student Number",
            "Sub Level 2",
            "Sub-hierarchy",
        ]);
        let m = Mapping::suggest(&h);
        assert_eq!(m.get(Field::FirstName), Some(0));
        assert_eq!(m.get(Field::LastName), Some(1));
        assert_eq!(m.get(Field::Username), Some(2));
        assert_eq!(m.get(Field::Email), Some(3));
        assert_eq!(m.get(Field::UserId), Some(4));
        assert_eq!(m.get(Field::SubLevel2), Some(5));
        assert_eq!(m.get(Field::SubLevel1), Some(6));
    }

    #[test]
    fn one_letter_typos_are_forgiven() {
        let m = Mapping::suggest(&headers(&["Emial", "Usernme", "Passwords"]));
        assert_eq!(m.get(Field::Email), Some(0));
        assert_eq!(m.get(Field::Username), Some(1));
        assert_eq!(m.get(Field::Password), Some(2));
    }

    #[test]
    fn ambiguous_or_short_typos_are_not_guessed() {
        // "sublevel6" is one edit from every sub-level: no guess.
        let m = Mapping::suggest(&headers(&["Sub-level-6", "ip"]));
        assert_eq!(m, Mapping::default());
    }

    #[test]
    fn leftmost_header_wins_and_the_other_is_unmapped() {
        let h = headers(&["Email", "Mail", "Notes", ""]);
        let m = Mapping::suggest(&h);
        assert_eq!(m.get(Field::Email), Some(0));
        assert_eq!(m.unmapped_headers(&h), vec!["Mail", "Notes"]);
    }

    #[test]
    fn an_override_moves_the_column() {
        let h = headers(&["Email", "Work mail"]);
        let mut m = Mapping::suggest(&h);
        m.override_with(Field::Email, "work mail", &h).unwrap();
        assert_eq!(m.get(Field::Email), Some(1));
        assert_eq!(
            m.override_with(Field::UserId, "Nope", &h),
            Err(ReadError::UnknownHeader {
                field: Field::UserId,
                header: "Nope".into()
            })
        );
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit("email", "emial"));
        assert!(within_one_edit("email", "emai"));
        assert!(within_one_edit("email", "emaill"));
        assert!(within_one_edit("email", "emall"));
        assert!(!within_one_edit("email", "emxxl"));
    }
}
