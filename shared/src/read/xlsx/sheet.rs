//! A worksheet's cells, one at a time, straight from its XML: only cells
//! that exist cost anything, whatever the sheet's declared dimension.

use calamine::{ExcelDateTime, ExcelDateTimeType};

use std::io::Read;

use super::package::PartReader;
use super::shared_strings::SharedStrings;
use super::xml::{Scanner, decoded, push_text};
use crate::cells::{CellValue, date_text};
use crate::error::ReadError;
use crate::read::{Reporter, RowCollector};

pub(super) struct Context<'a> {
    pub strings: &'a SharedStrings,
    pub date_styles: &'a [bool],
    pub is_1904: bool,
    /// Progress units before the sheet: the shared strings' XML.
    pub strings_size: u64,
}

/// Inflated bytes handed to the scanner at a time: the sheet is never held
/// whole, so its size does not add to the peak memory of a read.
const CHUNK: usize = 256 * 1024;

/// Streams the sheet part through the scanner, a run of whole rows at a time.
pub(super) fn read_sheet(
    part: &mut PartReader<'_>,
    cx: &Context<'_>,
    rows: &mut RowCollector<'_>,
    progress: &mut Reporter<'_>,
) -> Result<(), ReadError> {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    let mut position = Position::default();
    loop {
        progress.at(cx.strings_size.saturating_add(part.inflated()));
        // read_to_end fills spare capacity without zeroing it first.
        let n = (&mut *part)
            .take(CHUNK as u64)
            .read_to_end(&mut buf)
            .map_err(|e| part.error(e))?;
        let at_end = n == 0;
        let cut = if at_end {
            buf.len()
        } else {
            last_row_end(&buf)
        };
        if cut > 0 && read_cells(&buf[..cut], cx, rows, &mut position)? {
            return Ok(());
        }
        if at_end {
            return Ok(());
        }
        buf.drain(..cut);
    }
}

/// Where the last complete `</row>` (any namespace prefix) in `buf` ends; 0
/// if there is none yet.
fn last_row_end(buf: &[u8]) -> usize {
    let mut end = buf.len();
    while let Some(i) = memchr::memmem::rfind(&buf[..end], b"row>") {
        let before = &buf[..i];
        let closes = before.ends_with(b"</")
            || before
                .iter()
                .rposition(|&b| b == b'<')
                .is_some_and(|lt| before[lt..].starts_with(b"</") && before.ends_with(b":"));
        if closes {
            return i + 4;
        }
        end = i;
    }
    0
}

/// Where the scan stands between chunks.
#[derive(Default)]
struct Position {
    row: u32,
    next_col: u32,
}

/// Reads the cells of `xml` (whole rows); true once the sheet data ends.
fn read_cells(
    xml: &[u8],
    cx: &Context<'_>,
    rows: &mut RowCollector<'_>,
    at: &mut Position,
) -> Result<bool, ReadError> {
    let mut scanner = Scanner::new(xml);
    let (mut row, mut next_col) = (at.row, at.next_col);
    while let Some(tag) = scanner.next_tag() {
        match (tag.name, tag.closing) {
            (b"row", false) => {
                row = tag
                    .attr(b"r")
                    .and_then(parse_u32)
                    .unwrap_or_else(|| row.saturating_add(1));
                next_col = 0;
            }
            (b"c", false) => {
                if tag.self_closing {
                    next_col = next_col.saturating_add(1);
                    continue;
                }
                let (mut reference, mut kind, mut style) = (None, &b"n"[..], 0usize);
                for (name, value) in tag.attrs() {
                    match name {
                        b"r" => reference = parse_ref(value),
                        b"t" => kind = value,
                        b"s" => style = parse_u32(value).unwrap_or(0) as usize,
                        _ => {}
                    }
                }
                let (ref_row, col) = reference.unwrap_or((row.max(1), next_col));
                next_col = col.saturating_add(1);
                let value = cell_value(&mut scanner, kind, style, cx)?;
                rows.cell(ref_row, col, value)?;
            }
            (b"sheetData", true) => return Ok(true),
            _ => {}
        }
    }
    (at.row, at.next_col) = (row, next_col);
    Ok(false)
}

/// Reads a cell's content up to `</c>`: its cached `<v>` (formulas
/// included) or its inline string.
fn cell_value(
    scanner: &mut Scanner<'_>,
    kind: &[u8],
    style: usize,
    cx: &Context<'_>,
) -> Result<CellValue, ReadError> {
    if kind != b"inlineStr"
        && let Some(raw) = scanner.simple_element(b"v", b"c")
    {
        return value(raw, kind, style, cx);
    }
    let mut raw: Option<&[u8]> = None;
    let mut inline = String::new();
    let mut in_inline = false;
    while let Some(tag) = scanner.next_tag() {
        match (tag.name, tag.closing) {
            (b"c", true) => break,
            (b"v", false) if !tag.self_closing => raw = Some(scanner.text()),
            (b"is", closing) => in_inline = !closing,
            (b"rPh", false) => in_inline = false,
            (b"t", false) if in_inline && !tag.self_closing => {
                push_text(scanner.text(), true, &mut inline)
            }
            _ => {}
        }
    }
    if kind == b"inlineStr" {
        return Ok(text(inline));
    }
    match raw {
        Some(raw) => value(raw, kind, style, cx),
        None => Ok(CellValue::Empty),
    }
}

/// A cell's value from its raw `<v>` text and its type attribute.
fn value(raw: &[u8], kind: &[u8], style: usize, cx: &Context<'_>) -> Result<CellValue, ReadError> {
    Ok(match kind {
        b"s" => {
            let index =
                parse_u32(raw).ok_or_else(|| bad("a shared string index is not a number"))?;
            let s = cx
                .strings
                .get(index as usize)
                .ok_or_else(|| bad("a cell names a shared string that does not exist"))?;
            text(s.to_string())
        }
        b"str" => text(decoded(raw)),
        b"b" => CellValue::Bool(raw == b"1" || raw == b"true"),
        b"e" => CellValue::Error(decoded(raw).into()),
        b"d" => CellValue::Date(decoded(raw).replace('T', " ").into()),
        _ => {
            let s = std::str::from_utf8(raw).map_err(|_| bad("a number cell is not text"))?;
            let n: f64 = s
                .trim()
                .parse()
                .map_err(|_| bad(&format!("\"{s}\" is not a number")))?;
            if cx.date_styles.get(style).copied().unwrap_or(false)
                && (0.0..2_958_466.0).contains(&n)
            {
                let (y, mo, d, h, mi, s, _) =
                    ExcelDateTime::new(n, ExcelDateTimeType::DateTime, cx.is_1904)
                        .to_ymd_hms_milli();
                CellValue::Date(date_text(y, mo, d, h, mi, s).into())
            } else {
                CellValue::Number(n)
            }
        }
    })
}

fn text(s: String) -> CellValue {
    if s.is_empty() {
        CellValue::Empty
    } else {
        CellValue::Text(s.into())
    }
}

fn parse_u32(raw: &[u8]) -> Option<u32> {
    if raw.is_empty() || raw.len() > 10 {
        return None;
    }
    raw.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u32::from(b - b'0')))
            .flatten()
    })
}

/// `AB12` → (row 12, column index 27).
fn parse_ref(raw: &[u8]) -> Option<(u32, u32)> {
    let letters = raw.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let col = raw[..letters].iter().fold(0u32, |n, b| {
        n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1
    });
    let row = parse_u32(&raw[letters..])?;
    Some((row, col - 1))
}

fn bad(detail: &str) -> ReadError {
    ReadError::Damaged {
        format: ".xlsx",
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_after_a_closing_row_tag() {
        assert_eq!(last_row_end(b"<row r=\"1\"><c/></row><row>"), 21);
        assert_eq!(last_row_end(b"<x:row><x:c/></x:row><x:row r=\"2\">"), 21);
        assert_eq!(last_row_end(b"<row><c><v>arrow></v>"), 0);
    }

    #[test]
    fn cell_references() {
        assert_eq!(parse_ref(b"A1"), Some((1, 0)));
        assert_eq!(parse_ref(b"XFD1048576"), Some((1_048_576, 16_383)));
        assert_eq!(parse_ref(b"AA10"), Some((10, 26)));
        assert_eq!(parse_ref(b"1A"), None);
        assert_eq!(parse_ref(b"A99999999999"), None);
    }
}
