//! A worksheet's cells, one at a time, straight from its XML: only cells
//! that exist cost anything, whatever the sheet's declared dimension.

use calamine::{ExcelDateTime, ExcelDateTimeType};

use std::io::Read;
use std::sync::Arc;

use super::package::PartReader;
use super::shared_strings::SharedStrings;
use super::xml::{Scanner, after_prefix, decoded, escaped_text, wrapped_text};
use crate::cells::{self, CellValue, Shown, written_number};
use crate::error::ReadError;
use crate::read::{Reporter, RowCollector};

pub(super) struct Context<'a> {
    pub strings: &'a SharedStrings,
    /// How each style's number format shows a number.
    pub number_formats: &'a [Shown],
    pub is_1904: bool,
    /// Progress units before the sheet: the shared strings' XML.
    pub strings_size: u64,
}

impl Context<'_> {
    fn shown(&self, style: usize) -> Shown {
        self.number_formats.get(style).copied().unwrap_or_default()
    }
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
    // Zeroed once and reused: `read_to_end` would zero its spare capacity
    // again for every chunk (45 MB of writes for a 100,000-row sheet).
    let mut buf = vec![0u8; 2 * CHUNK];
    let mut filled = 0;
    let mut position = Position::default();
    loop {
        progress.at(cx.strings_size.saturating_add(part.inflated()));
        if buf.len() < filled + CHUNK {
            // A row longer than the buffer: keep it whole.
            buf.resize(filled + CHUNK, 0);
        }
        let n = fill(part, &mut buf[filled..filled + CHUNK])?;
        let searched = filled;
        filled += n;
        let at_end = n == 0;
        let cut = if at_end {
            filled
        } else {
            last_row_end(&buf[..filled], searched)
        };
        if cut > 0 && read_cells(&buf[..cut], cx, rows, &mut position)? {
            return Ok(());
        }
        if at_end {
            return Ok(());
        }
        buf.copy_within(cut..filled, 0);
        filled -= cut;
    }
}

/// Reads until `buf` is full or the part ends; the bytes read.
fn fill(part: &mut PartReader<'_>, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut n = 0;
    while n < buf.len() {
        match part.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(read) => n += read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(part.error(e)),
        }
    }
    Ok(n)
}

/// Where the last complete `</row>` (any namespace prefix of up to 32
/// bytes) in `buf` ends; 0 if there is none. Only a `row>` that ends past
/// `from` is looked for: the bytes before it were searched already, so a
/// row longer than many chunks is not searched again for each (nor, for
/// each `row>` in it, searched back to its last `<`).
fn last_row_end(buf: &[u8], from: usize) -> usize {
    let from = from.saturating_sub(3).min(buf.len());
    let mut end = buf.len();
    while let Some(i) = memchr::memmem::rfind(&buf[from..end], b"row>").map(|i| from + i) {
        let before = &buf[i.saturating_sub(35)..i];
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
    loop {
        if let Some(cell) = PlainCell::at(scanner.rest()) {
            scanner.skip(cell.len);
            let (ref_row, col) = cell.reference.unwrap_or((row.max(1), next_col));
            next_col = col.saturating_add(1);
            rows.cell(ref_row, col, value(cell.raw, cell.kind, cell.style, cx)?)?;
            continue;
        }
        let Some(tag) = scanner.next_tag() else {
            break;
        };
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

/// A cell as nearly every writer writes it, `<c r="B7" t="s" s="3"><v>12</v></c>`,
/// read in one pass: about half the time of the general path, which reads
/// the same cell as four tags. Anything else (another attribute, a
/// namespace prefix, a formula, an inline string, no value, an unexpected
/// character) is left to the general path, so both read a cell alike.
struct PlainCell<'a> {
    reference: Option<(u32, u32)>,
    kind: &'a [u8],
    style: usize,
    raw: &'a [u8],
    /// Bytes from the scanner's position to just after `</c>`.
    len: usize,
}

impl<'a> PlainCell<'a> {
    fn at(xml: &'a [u8]) -> Option<PlainCell<'a>> {
        let start = xml.len();
        let mut rest = after_prefix(xml.trim_ascii_start(), b"<c ")?;
        let mut cell = PlainCell {
            reference: None,
            kind: b"n",
            style: 0,
            raw: b"",
            len: 0,
        };
        loop {
            rest = rest.trim_ascii_start();
            if let Some(after) = rest.strip_prefix(b">") {
                rest = after;
                break;
            }
            let eq = rest.iter().take(2).position(|&b| b == b'=')?;
            let name = &rest[..eq];
            let quoted = rest[eq + 1..].strip_prefix(b"\"")?;
            let end = quoted.iter().position(|&b| b == b'"' || b == b'>')?;
            let value = &quoted[..end];
            rest = quoted[end..].strip_prefix(b"\"")?;
            match name {
                b"r" => cell.reference = Some(parse_ref(value)?),
                b"t" if value != b"inlineStr" => cell.kind = value,
                b"s" => cell.style = parse_u32(value)? as usize,
                _ => return None,
            }
        }
        let (raw, after) = wrapped_text(rest, b"<v>", b"</v></c>")?;
        cell.raw = raw;
        cell.len = start - after.len();
        Some(cell)
    }
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
        && let Some(raw) = scanner.wrapped(b"<v>", b"</v></c>")
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
            (b"t", false) if in_inline && !tag.self_closing => scanner.push_text_here(&mut inline),
            _ => {}
        }
    }
    if kind == b"inlineStr" {
        return Ok(text(&inline));
    }
    match raw {
        Some(raw) => value(raw, kind, style, cx),
        None => Ok(CellValue::Empty),
    }
}

/// A cell's value from its raw `<v>` text and its type attribute.
fn value(raw: &[u8], kind: &[u8], style: usize, cx: &Context<'_>) -> Result<CellValue, ReadError> {
    // `<v></v>`: some writers (Apache POI) write an empty cell so. (`all`
    // stops at the first byte of a real value: this runs for every cell.)
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(CellValue::Empty);
    }
    Ok(match kind {
        b"s" => {
            let index =
                parse_u32(raw).ok_or_else(|| bad("a shared string index is not a number"))?;
            let s = cx
                .strings
                .get(index as usize)
                .ok_or_else(|| bad("a cell names a shared string that does not exist"))?;
            if s.is_empty() {
                CellValue::Empty
            } else {
                CellValue::Text(Arc::clone(s))
            }
        }
        b"str" => text(&escaped_text(raw)),
        b"b" => CellValue::Bool(raw == b"1" || raw == b"true"),
        b"e" => CellValue::Error(decoded(raw).into()),
        b"d" => cells::iso_date(&decoded(raw), cx.shown(style), cx.is_1904),
        _ => {
            let (n, number) = match whole_number(raw) {
                Some(i) => (i as f64, CellValue::Int(i)),
                None => {
                    let s =
                        std::str::from_utf8(raw).map_err(|_| bad("a number cell is not text"))?;
                    let n = s
                        .trim()
                        .parse()
                        .map_err(|_| bad(&format!("\"{s}\" is not a number")))?;
                    (n, written_number(s, n))
                }
            };
            let kind = match cx.shown(style) {
                Shown::Number => return Ok(number),
                Shown::Date => ExcelDateTimeType::DateTime,
                Shown::Elapsed => ExcelDateTimeType::TimeDelta,
            };
            cells::serial(ExcelDateTime::new(n, kind, cx.is_1904)).unwrap_or(number)
        }
    })
}

/// A number cell of up to 15 digits (an ID, a year): read without the float
/// parser, and later written without the float formatter. Below 2^53, so
/// the same value and text as the double Excel stored.
fn whole_number(raw: &[u8]) -> Option<i64> {
    digits(raw, 15).and_then(|n| i64::try_from(n).ok())
}

fn text(s: &str) -> CellValue {
    if s.is_empty() {
        CellValue::Empty
    } else {
        CellValue::Text(s.into())
    }
}

/// Up to ten ASCII digits as a `u32` (a reference's row, a shared string's
/// index).
fn parse_u32(raw: &[u8]) -> Option<u32> {
    digits(raw, 10).and_then(|n| u32::try_from(n).ok())
}

/// One to `max_len` (at most 19) ASCII digits as a number. Runs for every
/// cell, hence the plain loop.
fn digits(raw: &[u8], max_len: usize) -> Option<u64> {
    if raw.is_empty() || raw.len() > max_len {
        return None;
    }
    let mut n = 0u64;
    for &b in raw {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + u64::from(digit);
    }
    Some(n)
}

/// `AB12` → (row 12, column index 27).
fn parse_ref(raw: &[u8]) -> Option<(u32, u32)> {
    let letters = raw
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(raw.len());
    if !(1..=3).contains(&letters) {
        return None;
    }
    // `| 0x20` lower-cases an ASCII letter.
    let col = raw[..letters]
        .iter()
        .fold(0u32, |n, &b| n * 26 + u32::from((b | 0x20) - b'a') + 1);
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
        assert_eq!(last_row_end(b"<row r=\"1\"><c/></row><row>", 0), 21);
        assert_eq!(last_row_end(b"<x:row><x:c/></x:row><x:row r=\"2\">", 0), 21);
        assert_eq!(last_row_end(b"<row><c><v>arrow></v>", 0), 0);
        // Only what ends past `from` counts; a tag split at `from` is found.
        assert_eq!(last_row_end(b"<row></row><row><c/>", 12), 0);
        assert_eq!(last_row_end(b"<row></row><row><c/></row>", 23), 26);
    }

    #[test]
    fn plain_cells_are_read_in_one_pass_and_the_rest_left_alone() {
        let cell = PlainCell::at(b"\n <c r=\"B7\" s=\"3\" t=\"s\"><v>12</v></c><c").unwrap();
        assert_eq!(cell.reference, Some((7, 1)));
        assert_eq!(
            (cell.kind, cell.style, cell.raw),
            (&b"s"[..], 3, &b"12"[..])
        );
        assert_eq!(cell.len, 37, "up to and with </c>");
        let number = PlainCell::at(b"<c r=\"A1\"><v>1.5</v></c>").unwrap();
        assert_eq!((number.kind, number.raw), (&b"n"[..], &b"1.5"[..]));
        for other in [
            &b"<c r=\"A1\" t=\"inlineStr\"><is><t>x</t></is></c>"[..],
            b"<c r=\"A1\"><f>1+1</f><v>2</v></c>",
            b"<c r=\"A1\" cm=\"1\"><v>2</v></c>",
            b"<c r=\"A1\"/>",
            b"<x:c r=\"A1\"><x:v>2</x:v></x:c>",
            b"<c r=\"A1\" s=\"x\"><v>2</v></c>",
            b"<c r=\"1A\"><v>2</v></c>",
            b"<c r=\"A>1\"><v>2</v></c>",
            b"<c r=\"A1\"><v>2</v>",
            b"<c r=\"A1\"> <v>2</v></c>",
        ] {
            assert!(
                PlainCell::at(other).is_none(),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    /// The one-pass path and the general one, mixed in a sheet, read the
    /// same values.
    #[test]
    fn plain_and_general_cells_read_alike() {
        let strings = SharedStrings::parse(b"<sst><si><t>Zo\xc3\xab</t></si></sst>", 1).unwrap();
        let cx = Context {
            strings: &strings,
            number_formats: &[Shown::Number, Shown::Date],
            is_1904: false,
            strings_size: 0,
        };
        let limits = crate::Limits::default();
        let mut rows = RowCollector::new(&limits);
        let xml = br#"<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s">
            <v>0</v></c><c t="s"><v>0</v></c><c r="D1" t="inlineStr"><is><t>Zo&#235;</t></is></c></row>
            <row r="2"><c r="A2" s="1"><v>45413</v></c><c r="B2" s="1"><f>A2</f><v>45413</v></c><c r="C2" t="b"><v>1</v></c><x:c r="D2" t="str"><x:v>a&amp;b</x:v></x:c></row></sheetData>"#;
        assert!(read_cells(xml, &cx, &mut rows, &mut Position::default()).unwrap());
        let rows = rows.finish().unwrap();
        let text = |s: &str| CellValue::Text(s.into());
        let date = CellValue::Date("2024-05-01".into());
        assert_eq!(
            rows[0].cells,
            vec![text("Zoë"), text("Zoë"), text("Zoë"), text("Zoë")]
        );
        assert_eq!(
            rows[1].cells,
            vec![date.clone(), date, CellValue::Bool(true), text("a&b")]
        );
    }

    #[test]
    fn whole_numbers_skip_the_float_parser_and_read_the_same() {
        for raw in ["0", "1001", "999999999999999", "007"] {
            let i = whole_number(raw.as_bytes()).unwrap();
            assert_eq!(i as f64, raw.parse::<f64>().unwrap());
            assert_eq!(
                CellValue::Int(i).header_text(),
                CellValue::Number(i as f64).header_text()
            );
        }
        for raw in ["", "-5", "1.5", "1e3", " 7", "1000000000000000"] {
            assert_eq!(whole_number(raw.as_bytes()), None, "{raw}");
        }
    }

    #[test]
    fn cell_references() {
        assert_eq!(parse_ref(b"A1"), Some((1, 0)));
        assert_eq!(parse_ref(b"XFD1048576"), Some((1_048_576, 16_383)));
        assert_eq!(parse_ref(b"AA10"), Some((10, 26)));
        assert_eq!(parse_ref(b"1A"), None);
        assert_eq!(parse_ref(b"A99999999999"), None);
        assert_eq!(parse_ref(b"ab3"), Some((3, 27)));
        assert_eq!(parse_ref(b"ABCD1"), None);
        assert_eq!(parse_ref(b"A"), None);
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"12a"), None);
    }
}
