//! Mapped rows: one text value per field, with the spreadsheet's row number.
//! This is what the browser sends to the server (section 8's `rows`), so its
//! JSON form is flat: `{"row": 2, "first_name": "Zoë", "user_id": "1001"}`.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cells::CellProblem;
use crate::cells::CellValue;
use crate::fields::Field;
use crate::mapping::Mapping;
use crate::read::SheetRow;
use crate::table::Table;

/// One row's values for every field (`""` where empty), and what the
/// spreadsheet cell said was wrong with any of them (section 3).
#[derive(Debug, Clone, Default)]
pub struct MappedRow {
    pub row: u32,
    /// Text cells are shared with the table they were mapped from; an
    /// empty value allocates nothing (`Arc::default` is a shared static).
    values: [Arc<str>; Field::ALL.len()],
    problems: [Option<CellProblem>; Field::ALL.len()],
    /// One bit per field (by [`Field::index`]): the cell was a number, not
    /// text. The least that `leading_zeros_lost` needs (`123` typed where
    /// text `00123` was meant); a date already says so by its problem.
    /// Not sent in JSON: posted rows are text.
    numbers: u16,
}

// `numbers` holds one bit per field.
const _: () = assert!(Field::ALL.len() <= 16);

/// Rows are equal when their values and cell problems are: a number cell
/// and a text cell of the same text hold the same value (section 4 compares
/// `1001` and `"1001"` as equal), so the same users read from an .xlsx and
/// a .csv are the same rows.
impl PartialEq for MappedRow {
    fn eq(&self, other: &Self) -> bool {
        self.row == other.row && self.values == other.values && self.problems == other.problems
    }
}

impl MappedRow {
    pub fn new(row: u32) -> Self {
        MappedRow {
            row,
            ..MappedRow::default()
        }
    }

    pub fn get(&self, field: Field) -> &str {
        &self.values[field.index()]
    }

    pub fn set(&mut self, field: Field, value: impl Into<String>) {
        self.values[field.index()] = value.into().into();
        self.problems[field.index()] = None;
        self.numbers &= !(1 << field.index());
    }

    /// True when the field's cell was a number in the file (not text).
    pub fn was_number(&self, field: Field) -> bool {
        self.numbers & (1 << field.index()) != 0
    }

    pub fn problem(&self, field: Field) -> Option<CellProblem> {
        self.problems[field.index()]
    }

    /// Trims leading and trailing whitespace (names only, section 4).
    pub(crate) fn trim(&mut self, field: Field) {
        let value = &self.values[field.index()];
        let trimmed = crate::text::trim(value);
        if trimmed.len() != value.len() {
            self.values[field.index()] = trimmed.into();
        }
    }

    /// Builder-style [`MappedRow::set`], handy in tests and tools.
    pub fn with(mut self, field: Field, value: impl Into<String>) -> Self {
        self.set(field, value);
        self
    }

    /// The non-empty values in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        Field::ALL
            .into_iter()
            .map(|f| (f, self.get(f)))
            .filter(|(_, v)| !v.is_empty())
    }
}

/// Every data row of `table`, converted for the fields `mapping` fills.
pub fn map_rows(table: &Table, mapping: &Mapping) -> Vec<MappedRow> {
    let columns = mapped_columns(mapping);
    table
        .rows
        .iter()
        .map(|sheet_row| {
            let mut row = MappedRow::new(sheet_row.number);
            for &(field, col) in &columns {
                row.fill(field, Table::cell(sheet_row, col).clone());
            }
            row
        })
        .collect()
}

/// [`map_rows`] for a table that is no longer needed: cells are moved, not
/// copied, which halves the memory of a large file at its peak.
pub fn into_mapped_rows(rows: Vec<SheetRow>, mapping: &Mapping) -> Vec<MappedRow> {
    let columns = mapped_columns(mapping);
    rows.into_iter()
        .map(|mut sheet_row| {
            let mut row = MappedRow::new(sheet_row.number);
            for &(field, col) in &columns {
                if let Some(cell) = sheet_row.cells.get_mut(col) {
                    row.fill(field, std::mem::replace(cell, CellValue::Empty));
                }
            }
            row
        })
        .collect()
}

fn mapped_columns(mapping: &Mapping) -> Vec<(Field, usize)> {
    Field::ALL
        .into_iter()
        .filter_map(|f| Some((f, mapping.get(f)?)))
        .collect()
}

impl MappedRow {
    // Runs for every mapped cell. LLVM stopped inlining it into the row
    // loops when cells.rs gained the date parsers, though this code did not
    // change: 20 M more instructions on the 100,000-row bench.
    #[inline]
    fn fill(&mut self, field: Field, cell: CellValue) {
        if cell.is_blank() {
            return;
        }
        let slot = field.index();
        match cell {
            CellValue::Text(text) => self.values[slot] = text,
            other => {
                if matches!(other, CellValue::Number(_) | CellValue::Int(_)) {
                    self.numbers |= 1 << slot;
                }
                let converted = other.to_field_text(field);
                self.values[slot] = converted.text.into();
                self.problems[slot] = converted.problem;
            }
        }
    }
}

impl Serialize for MappedRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("row", &self.row)?;
        for (field, value) in self.iter() {
            map.serialize_entry(field.key(), value)?;
        }
        map.end()
    }
}

/// The keys a row's JSON may have: `row` and every field's.
const ROW_KEYS: [&str; Field::ALL.len() + 1] = {
    let mut keys = ["row"; Field::ALL.len() + 1];
    let mut i = 0;
    while i < Field::ALL.len() {
        keys[i + 1] = Field::KEYS[i];
        i += 1;
    }
    keys
};

impl<'de> Deserialize<'de> for MappedRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = MappedRow;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a row: {\"row\": number, field: text, ...}")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MappedRow, A::Error> {
                let mut row = MappedRow::default();
                let mut number = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "row" {
                        number = Some(map.next_value::<u32>()?);
                        continue;
                    }
                    let field = Field::from_key(&key)
                        .ok_or_else(|| de::Error::unknown_field(&key, &ROW_KEYS))?;
                    row.values[field.index()] = map.next_value::<SharedText>()?.0;
                }
                row.row = number.ok_or_else(|| de::Error::missing_field("row"))?;
                Ok(row)
            }
        }
        deserializer.deserialize_map(RowVisitor)
    }
}

/// A value read straight into its `Arc<str>`: one allocation, where
/// `String` then `Arc` would be two (the server reads 100,000 rows at a time).
struct SharedText(Arc<str>);

impl<'de> Deserialize<'de> for SharedText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = SharedText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("text")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<SharedText, E> {
                // The readers' bound on a cell holds for posted rows too.
                if crate::limits::over_cell_limit(value) {
                    return Err(E::custom(format_args!(
                        "a value holds more than {} characters, more than a spreadsheet cell can hold",
                        crate::limits::MAX_CELL_CHARS
                    )));
                }
                Ok(SharedText(value.into()))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MAX_CELL_CHARS;

    #[test]
    fn json_is_flat_and_leaves_empty_fields_out() {
        let row = MappedRow::new(2)
            .with(Field::FirstName, "Zoë")
            .with(Field::UserId, "1001");
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"row":2,"first_name":"Zoë","user_id":"1001"}"#);
        let back: MappedRow = serde_json::from_str(&json).unwrap();
        assert_eq!(back, row);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        let e = serde_json::from_str::<MappedRow>(r#"{"row":2,"nickname":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `nickname`"), "{e}");
        assert!(serde_json::from_str::<MappedRow>(r#"{"row":2,"user_id":1001}"#).is_err());
        assert!(serde_json::from_str::<MappedRow>(r#"{"user_id":"1"}"#).is_err());
    }

    #[test]
    fn a_value_longer_than_a_cell_can_hold_is_refused() {
        let row = |chars: usize| format!(r#"{{"row":2,"first_name":"{}"}}"#, "é".repeat(chars));
        let at_limit = serde_json::from_str::<MappedRow>(&row(MAX_CELL_CHARS)).unwrap();
        assert_eq!(
            at_limit.get(Field::FirstName).chars().count(),
            MAX_CELL_CHARS
        );
        let e = serde_json::from_str::<MappedRow>(&row(MAX_CELL_CHARS + 1)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a value holds more than 32767 characters"),
            "{e}"
        );
    }
}
