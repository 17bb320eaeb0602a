//! CSV: UTF-8 (with or without BOM), else Windows-1252; the delimiter
//! (`,` `;` or tab) is the one the header line uses most. Every cell is text:
//! a CSV holds exactly what was typed, so no number conversion applies.

use std::borrow::Cow;

use super::{Format, ReadOptions, Reporter, RowCollector, Sheet};
use crate::cells::CellValue;
use crate::error::ReadError;

pub(super) fn read(
    bytes: &[u8],
    options: &ReadOptions,
    progress: &mut Reporter<'_>,
) -> Result<Sheet, ReadError> {
    let text = decode(bytes);
    let delimiter = detect_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = RowCollector::new(&options.limits);
    let mut record = csv::StringRecord::new();
    let (mut line, mut counted_to) = (1usize, 0usize);
    let mut last_number: Option<u32> = None;
    progress.start(text.len() as u64);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(ReadError::Damaged {
                    format: ".csv",
                    detail: e.to_string(),
                });
            }
        }
        // The line a record starts on. The csv crate's position is where its
        // reader stood, before the line ends (and blank lines) it skips.
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        start = start.min(text.len()).max(counted_to);
        while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += line_ends(&text.as_bytes()[counted_to..start]);
        counted_to = start;
        progress.at(start as u64);
        // Each record is its own row: a later record never shares a number
        // with an earlier one, which would merge the two.
        line = line.max(last_number.map_or(0, |n| n as usize + 1));
        let number = u32::try_from(line).unwrap_or(u32::MAX);
        last_number = Some(number);
        let line_breaks = record
            .iter()
            .map(|f| line_ends(f.as_bytes()))
            .sum::<usize>();
        let span = 1 + u32::try_from(line_breaks).unwrap_or(u32::MAX - 1);
        let cells = record
            .iter()
            .map(|f| {
                if f.is_empty() {
                    CellValue::Empty
                } else {
                    CellValue::Text(f.into())
                }
            })
            .collect();
        rows.row(number, span, cells)?;
    }
    Ok(Sheet {
        format: Format::Csv,
        name: String::new(),
        rows: rows.finish()?,
    })
}

/// How many line ends `bytes` holds: LF, CRLF and a lone CR each count
/// once (SPEC section 3), as the csv crate ends records on each of them.
fn line_ends(bytes: &[u8]) -> usize {
    let crs = memchr::memchr_iter(b'\r', bytes)
        .filter(|&i| bytes.get(i + 1) != Some(&b'\n'))
        .count();
    memchr::memchr_iter(b'\n', bytes).count() + crs
}

/// UTF-16 if a UTF-16 byte-order mark says so (Excel's "Unicode Text"
/// and some exports: their NUL bytes are no sign of a binary file), else
/// UTF-8 if the bytes are UTF-8 (BOM dropped), else Windows-1252, the
/// encoding Excel on Windows writes "CSV" in.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(utf16) = utf16_by_bom(bytes) {
        // An odd last byte or a lone surrogate becomes U+FFFD.
        return utf16.decode_with_bom_removal(bytes).0;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// UTF-16LE or BE, if the bytes start with its byte-order mark.
pub(super) fn utf16_by_bom(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_bom(bytes)
        .map(|(encoding, _)| encoding)
        .filter(|&e| e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE)
}

/// The candidate that occurs most often, outside quotes, on the first line
/// that holds anything; `,` when there is none.
pub fn detect_delimiter(text: &str) -> u8 {
    let line = text
        .split(['\r', '\n'])
        .find(|l| !crate::text::is_blank(l))
        .unwrap_or("");
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_the_most_common_outside_quotes() {
        assert_eq!(detect_delimiter("a;b;c\n1,2;3;4"), b';');
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("\"x;y;z\",b"), b',');
        assert_eq!(detect_delimiter("single"), b',');
    }

    #[test]
    fn windows_1252_is_the_fallback() {
        assert_eq!(decode(b"Zo\xEB"), "Zoë");
        assert_eq!(decode("\u{FEFF}Zoë".as_bytes()), "Zoë");
    }

    #[test]
    fn utf16_is_read_by_its_byte_order_mark() {
        let text = "First Name\tŁukasz\r\n日本\r\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode(&le), text);
        assert_eq!(decode(&be), text);
        // A cut last code unit is a replacement character, not a panic.
        assert_eq!(
            decode(&le[..le.len() - 1]),
            "First Name\tŁukasz\r\n日本\r\u{FFFD}"
        );
    }
}
