//! Rows → a one-sheet .xlsx, the one spreadsheet format Roster writes: the
//! check worker's corrected file and the server's export of the directory.
//!
//! Written here rather than with rust_xlsxwriter, which keeps a whole
//! workbook in memory until it is saved (and nearly doubled the worker's
//! download): this writer streams. Each row is deflated as it is written
//! and the bytes of the archive are handed out as they are ready
//! ([`SheetWriter::take`]), so a sheet of a million rows never holds more
//! than the deflater's window and one row. The zip is plain (deflated
//! entries, no encryption, names in ASCII, dated 1980-01-01); the sheet's
//! entry is streamed with a data descriptor, and zip64 records are written
//! only when a size or offset passes 4 GiB, as Go's `archive/zip` does.
//!
//! Text is written as inline strings in columns formatted as Text (`@`),
//! so an ID keeps its leading zeros and a value that looks like a formula
//! stays text, also when it is typed again in Excel.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::DeflateEncoder;

use crate::error::column_letters;

/// The media type of an .xlsx.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Excel's last row: a sheet holds at most this many rows, header included.
pub const MAX_ROWS: u32 = 1_048_576;

/// One cell of a written row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Nothing is written.
    Empty,
    /// Text, kept as text (an inline string); empty text is an empty cell.
    Text(&'a str),
    Int(i64),
    /// A number; a NaN or an infinity (which a sheet cannot hold) is left
    /// empty.
    Number(f64),
    Bool(bool),
}

/// Why a sheet could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("a sheet holds at most {MAX_ROWS} rows (Excel's limit)")]
    TooManyRows,
    #[error("the sheet could not be compressed: {0}")]
    Deflate(String),
}

/// Writes one worksheet and the workbook around it, row by row.
pub struct SheetWriter {
    /// Archive bytes ready to be taken.
    out: Vec<u8>,
    /// Bytes of the archive handed out by [`SheetWriter::take`] so far.
    taken: u64,
    /// The central directory, written at the end.
    central: Vec<u8>,
    entries: u64,
    /// The sheet's entry: where its local header starts, its deflater, the
    /// checksum and size of what went in.
    sheet_at: u64,
    sheet: DeflateEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
    size: u64,
    packed: u64,
    /// The row being written, as XML.
    xml: String,
    /// Each column's letters (`A`, `B`, …, `AA`), made once.
    columns: Vec<String>,
    next_row: u32,
}

/// The sheet's compression: zlib's level 6 (its default) costs about three
/// times level 1's time for a file a fifth smaller; an export of a million
/// users is bound by this time.
const LEVEL: u32 = 6;

impl SheetWriter {
    /// A writer whose first row is `headers`, in bold; every column is
    /// formatted as Text.
    pub fn new(sheet_name: &str, headers: &[&str]) -> Result<SheetWriter, WriteError> {
        let mut writer = SheetWriter {
            out: Vec::new(),
            taken: 0,
            central: Vec::new(),
            entries: 0,
            sheet_at: 0,
            sheet: DeflateEncoder::new(Vec::new(), Compression::new(LEVEL)),
            crc: crc32fast::Hasher::new(),
            size: 0,
            packed: 0,
            xml: String::new(),
            columns: Vec::new(),
            next_row: 1,
        };
        let mut name = String::new();
        escape_into(&excel_sheet_name(sheet_name), &mut name);
        let workbook = format!(
            "{XML_DECLARATION}<workbook xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\">\
             <sheets><sheet name=\"{name}\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
        );
        writer.add_whole("[Content_Types].xml", CONTENT_TYPES.as_bytes())?;
        writer.add_whole("_rels/.rels", PACKAGE_RELS.as_bytes())?;
        writer.add_whole("xl/workbook.xml", workbook.as_bytes())?;
        writer.add_whole("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes())?;
        writer.add_whole("xl/styles.xml", STYLES.as_bytes())?;

        writer.sheet_at = writer.position();
        writer.streamed_local_header(SHEET_PART);
        writer.xml.push_str(XML_DECLARATION);
        writer
            .xml
            .push_str(&format!("<worksheet xmlns=\"{MAIN_NS}\">"));
        if !headers.is_empty() {
            // Text format and a width for every column: values typed in
            // later stay text too.
            writer.xml.push_str(&format!(
                "<cols><col min=\"1\" max=\"{}\" width=\"18\" style=\"{TEXT_STYLE}\" customWidth=\"1\"/></cols>",
                headers.len()
            ));
        }
        writer.xml.push_str("<sheetData>");
        writer.write_row(headers.iter().map(|h| Cell::Text(h)), HEADER_STYLE)?;
        Ok(writer)
    }

    /// Rows written so far, the header included.
    pub fn rows(&self) -> u32 {
        self.next_row - 1
    }

    /// Adds a row.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) -> Result<(), WriteError> {
        self.write_row(cells, TEXT_STYLE)
    }

    /// The archive's bytes that are ready, handed out once each: the caller
    /// sends or keeps them, and the writer forgets them.
    pub fn take(&mut self) -> Vec<u8> {
        self.move_packed();
        let out = std::mem::take(&mut self.out);
        self.taken += out.len() as u64;
        out
    }

    /// The rest of the archive: the sheet's end, its data descriptor, the
    /// central directory.
    pub fn finish(mut self) -> Result<Vec<u8>, WriteError> {
        self.xml.push_str("</sheetData></worksheet>");
        self.deflate_xml()?;
        let packed = std::mem::replace(
            &mut self.sheet,
            DeflateEncoder::new(Vec::new(), Compression::none()),
        )
        .finish()
        .map_err(deflate_error)?;
        self.packed += packed.len() as u64;
        self.out.extend_from_slice(&packed);
        let crc = self.crc.clone().finalize();
        // The data descriptor: 8-byte sizes, as the zip64 extra field of
        // the local header says (APPNOTE 4.3.9.2).
        self.out.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.out.extend_from_slice(&self.packed.to_le_bytes());
        self.out.extend_from_slice(&self.size.to_le_bytes());
        let (size, packed, at) = (self.size, self.packed, self.sheet_at);
        self.central_entry(SHEET_PART, crc, packed, size, at, STREAMED);

        let central_at = self.position();
        let central = std::mem::take(&mut self.central);
        let central_size = central.len() as u64;
        self.out.extend_from_slice(&central);
        let zip64 = needs_zip64(central_at) || needs_zip64(central_size);
        if zip64 {
            let record_at = self.position();
            // The zip64 end of central directory record, then its locator.
            self.out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            self.out.extend_from_slice(&44u64.to_le_bytes());
            self.out.extend_from_slice(&45u16.to_le_bytes()); // made by
            self.out.extend_from_slice(&45u16.to_le_bytes()); // needed
            self.out.extend_from_slice(&[0; 8]); // this disk, the directory's disk
            self.out.extend_from_slice(&self.entries.to_le_bytes());
            self.out.extend_from_slice(&self.entries.to_le_bytes());
            self.out.extend_from_slice(&central_size.to_le_bytes());
            self.out.extend_from_slice(&central_at.to_le_bytes());
            self.out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            self.out.extend_from_slice(&0u32.to_le_bytes());
            self.out.extend_from_slice(&record_at.to_le_bytes());
            self.out.extend_from_slice(&1u32.to_le_bytes()); // disks
        }
        let entries = self.entries as u16;
        self.out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]); // this disk, the directory's disk
        self.out.extend_from_slice(&entries.to_le_bytes());
        self.out.extend_from_slice(&entries.to_le_bytes());
        self.out
            .extend_from_slice(&clip32(central_size).to_le_bytes());
        self.out
            .extend_from_slice(&clip32(central_at).to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        Ok(self.out)
    }

    fn write_row<'a>(
        &mut self,
        cells: impl IntoIterator<Item = Cell<'a>>,
        text_style: u8,
    ) -> Result<(), WriteError> {
        if self.next_row > MAX_ROWS {
            return Err(WriteError::TooManyRows);
        }
        let row = self.next_row;
        self.next_row += 1;
        self.xml.push_str("<row r=\"");
        self.xml.push_str(&row.to_string());
        self.xml.push_str("\">");
        for (col, cell) in cells.into_iter().enumerate() {
            while self.columns.len() <= col {
                self.columns.push(column_letters(self.columns.len() as u32));
            }
            let at = &self.columns[col];
            match cell {
                Cell::Empty => {}
                Cell::Text("") => {}
                Cell::Text(text) => {
                    let space = if text.starts_with(XML_SPACE) || text.ends_with(XML_SPACE) {
                        " xml:space=\"preserve\""
                    } else {
                        ""
                    };
                    self.xml.push_str(&format!(
                        "<c r=\"{at}{row}\" s=\"{text_style}\" t=\"inlineStr\"><is><t{space}>"
                    ));
                    escape_into(text, &mut self.xml);
                    self.xml.push_str("</t></is></c>");
                }
                Cell::Int(i) => self
                    .xml
                    .push_str(&format!("<c r=\"{at}{row}\"><v>{i}</v></c>")),
                Cell::Number(n) if n.is_finite() => self
                    .xml
                    .push_str(&format!("<c r=\"{at}{row}\"><v>{n}</v></c>")),
                Cell::Number(_) => {}
                Cell::Bool(b) => self.xml.push_str(&format!(
                    "<c r=\"{at}{row}\" t=\"b\"><v>{}</v></c>",
                    u8::from(b)
                )),
            }
        }
        self.xml.push_str("</row>");
        self.deflate_xml()
    }

    fn deflate_xml(&mut self) -> Result<(), WriteError> {
        let bytes = self.xml.as_bytes();
        self.crc.update(bytes);
        self.size += bytes.len() as u64;
        self.sheet.write_all(bytes).map_err(deflate_error)?;
        self.xml.clear();
        Ok(())
    }

    /// What the deflater has produced so far, into the output.
    fn move_packed(&mut self) {
        let packed = self.sheet.get_mut();
        self.packed += packed.len() as u64;
        self.out.append(packed);
    }

    /// Where the next byte of the archive goes.
    fn position(&self) -> u64 {
        self.taken + self.out.len() as u64
    }

    /// A small part, deflated whole, with its sizes in its local header.
    fn add_whole(&mut self, name: &str, data: &[u8]) -> Result<(), WriteError> {
        let mut deflater = DeflateEncoder::new(Vec::new(), Compression::new(LEVEL));
        deflater.write_all(data).map_err(deflate_error)?;
        let packed = deflater.finish().map_err(deflate_error)?;
        let crc = crc32fast::hash(data);
        let at = self.position();
        let (packed_size, size) = (packed.len() as u64, data.len() as u64);
        self.local_header(name, crc, packed_size, size, 0);
        self.out.extend_from_slice(&packed);
        self.central_entry(name, crc, packed_size, size, at, 0);
        Ok(())
    }

    fn local_header(&mut self, name: &str, crc: u32, packed: u64, size: u64, flags: u16) {
        self.out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        // Version 2.0, deflated, DOS time 00:00 and date 1980-01-01.
        for field in [20u16, flags, 8, 0, 0x21] {
            self.out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [crc, packed as u32, size as u32] {
            self.out.extend_from_slice(&field.to_le_bytes());
        }
        self.out
            .extend_from_slice(&(name.len() as u16).to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        self.out.extend_from_slice(name.as_bytes());
    }

    /// The local header of the sheet, whose sizes are known only at its
    /// end, past 4 GiB or not. So it is always zip64 (APPNOTE 4.3.9.2: it
    /// MAY be used whatever the size), as Excel wants it for a part that
    /// may pass 4 GiB and as opczip (Apache POI's streaming writer) writes
    /// it: version 4.5, the 4-byte sizes `0xFFFFFFFF`, and the zip64 extra
    /// field with both sizes (4.5.3: both in a local header), zero here,
    /// the real ones following the data in an 8-byte data descriptor.
    fn streamed_local_header(&mut self, name: &str) {
        self.out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        // Version 4.5, sizes after the data, deflated, DOS time 00:00 and
        // date 1980-01-01.
        for field in [45u16, STREAMED, 8, 0, 0x21] {
            self.out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [0, u32::MAX, u32::MAX] {
            self.out.extend_from_slice(&field.to_le_bytes());
        }
        self.out
            .extend_from_slice(&(name.len() as u16).to_le_bytes());
        self.out.extend_from_slice(&20u16.to_le_bytes()); // extra field length
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(&1u16.to_le_bytes()); // zip64
        self.out.extend_from_slice(&16u16.to_le_bytes());
        self.out.extend_from_slice(&[0; 16]); // original and packed sizes
    }

    fn central_entry(&mut self, name: &str, crc: u32, packed: u64, size: u64, at: u64, flags: u16) {
        // The zip64 extra field holds, in this order, what does not fit.
        let mut extra = Vec::new();
        for value in [size, packed, at] {
            if needs_zip64(value) {
                extra.extend_from_slice(&value.to_le_bytes());
            }
        }
        let version: u16 = if extra.is_empty() { 20 } else { 45 };
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for field in [version, version, flags, 8, 0, 0x21] {
            c.extend_from_slice(&field.to_le_bytes());
        }
        for field in [crc, clip32(packed), clip32(size)] {
            c.extend_from_slice(&field.to_le_bytes());
        }
        c.extend_from_slice(&(name.len() as u16).to_le_bytes());
        let extra_len = if extra.is_empty() { 0 } else { extra.len() + 4 };
        c.extend_from_slice(&(extra_len as u16).to_le_bytes());
        // Comment length, disk, internal and external attributes.
        c.extend_from_slice(&[0; 10]);
        c.extend_from_slice(&clip32(at).to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        if !extra.is_empty() {
            c.extend_from_slice(&1u16.to_le_bytes());
            c.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            c.extend_from_slice(&extra);
        }
        self.entries += 1;
    }
}

/// The general-purpose flag of an entry whose sizes follow its data.
const STREAMED: u16 = 0x0008;

fn needs_zip64(value: u64) -> bool {
    value >= u64::from(u32::MAX)
}

/// A size or offset as a zip's 4-byte field: `0xFFFFFFFF` says "in the
/// zip64 record".
fn clip32(value: u64) -> u32 {
    if needs_zip64(value) {
        u32::MAX
    } else {
        value as u32
    }
}

fn deflate_error(e: std::io::Error) -> WriteError {
    WriteError::Deflate(e.to_string())
}

/// The characters XML drops at a text's ends unless told to keep them.
const XML_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// XML text: the markup characters as entities, and the control
/// characters XML cannot hold as Excel's `_xHHHH_` escapes (so an
/// underscore that would read as one is itself escaped, `_x005F_`).
fn escape_into(text: &str, out: &mut String) {
    for (i, c) in text.char_indices() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' => out.push(c),
            // XML reads a raw CR as LF; Excel writes it escaped, as here.
            '\r' => out.push_str("_x000D_"),
            '_' if looks_escaped(&text[i..]) => out.push_str("_x005F_"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("_x{:04X}_", c as u32))
            }
            c => out.push(c),
        }
    }
}

/// `_x` and four hex digits and `_`, which Excel reads as one character.
fn looks_escaped(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 7 && b[1] == b'x' && b[2..6].iter().all(u8::is_ascii_hexdigit) && b[6] == b'_'
}

/// A name Excel accepts for a sheet: at most 31 characters, none of
/// `[]:*?/\`, not blank (.ods allows more).
pub fn excel_sheet_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if name.trim().is_empty() {
        "Sheet1".to_string()
    } else {
        name
    }
}

const SHEET_PART: &str = "xl/worksheets/sheet1.xml";
const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// Cell formats of styles.xml: 1 is Text (`@`, built-in format 49), 2 is
/// Text in bold, for the header.
const TEXT_STYLE: u8 = 1;
const HEADER_STYLE: u8 = 2;

const STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font>\
<font><b/><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>\
<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>\
<fill><patternFill patternType=\"gray125\"/></fill></fills>\
<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
<cellXfs count=\"3\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
<xf numFmtId=\"49\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>\
<xf numFmtId=\"49\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\" applyFont=\"1\"/></cellXfs>\
<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
</styleSheet>";

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
<Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
</Types>";

const PACKAGE_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
</Relationships>";

const WORKBOOK_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>\
</Relationships>";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::CellValue;
    use crate::{ReadOptions, read_table};

    #[test]
    fn sheet_names_excel_accepts() {
        assert_eq!(excel_sheet_name("Staff"), "Staff");
        assert_eq!(excel_sheet_name("a/b:c[1]"), "a_b_c_1_");
        assert_eq!(excel_sheet_name(&"x".repeat(40)), "x".repeat(31));
        assert_eq!(excel_sheet_name("  "), "Sheet1");
    }

    #[test]
    fn text_is_escaped_for_xml_and_excel() {
        let mut out = String::new();
        escape_into("a<b>&\"_x0041_ _x1_ \u{1}\tz", &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;_x005F_x0041_ _x1_ _x0001_\tz");
    }

    /// Written in pieces taken along the way, the file reads back whole:
    /// leading zeros, markup, spaces at the ends, numbers and booleans.
    #[test]
    fn a_streamed_sheet_reads_back() {
        let mut writer = SheetWriter::new("Users", &["ID", "Name", "N", "B"]).expect("a writer");
        let mut bytes = writer.take();
        for i in 0..3_000 {
            let id = format!("{i:06}");
            writer
                .row([
                    Cell::Text(&id),
                    Cell::Text(" <Zoë> & _x0041_ \r\n\r"),
                    Cell::Int(i),
                    Cell::Bool(i % 2 == 0),
                ])
                .expect("a row");
            bytes.extend(writer.take());
        }
        writer
            .row([Cell::Empty, Cell::Number(f64::NAN), Cell::Number(2.5)])
            .expect("a row");
        assert_eq!(writer.rows(), 3_002);
        bytes.extend(writer.finish().expect("the end"));
        let table = read_table(&bytes, Some("out.xlsx"), &ReadOptions::default()).expect("reads");
        assert_eq!(table.headers, ["ID", "Name", "N", "B"]);
        assert_eq!(table.rows.len(), 3_001);
        let first = &table.rows[0].cells;
        assert_eq!(first[0], CellValue::Text("000000".into()));
        assert_eq!(first[1], CellValue::Text(" <Zoë> & _x0041_ \r\n\r".into()));
        assert_eq!(first[2], CellValue::Int(0));
        assert_eq!(first[3], CellValue::Bool(true));
        assert_eq!(table.rows[2999].cells[0], CellValue::Text("002999".into()));
        assert_eq!(table.rows[3000].cells[2], CellValue::Number(2.5));
    }

    /// The sheet's sizes are known only at its end, so its local header is
    /// zip64 whatever its size (a sheet past 4 GiB is too slow to write in
    /// a test), and its data descriptor has the 8-byte sizes that header
    /// announces: what the central directory says, read back.
    #[test]
    fn the_streamed_sheet_has_a_zip64_local_header_and_descriptor() {
        let mut writer = SheetWriter::new("S", &["A"]).expect("a writer");
        writer.row([Cell::Text("x")]).expect("a row");
        let bytes = writer.finish().expect("the end");
        let name = SHEET_PART.as_bytes();
        let at = bytes
            .windows(4 + 26 + name.len())
            .position(|w| w.starts_with(&0x0403_4b50u32.to_le_bytes()) && w.ends_with(name))
            .expect("the sheet's local header");
        let header = &bytes[at..];
        let u16_at = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().unwrap());
        assert_eq!(u16_at(4), 45, "version needed: 4.5 (zip64)");
        assert_eq!(u16_at(6), STREAMED, "sizes after the data");
        assert_eq!(u32_at(18), u32::MAX, "packed size: in the zip64 field");
        assert_eq!(u32_at(22), u32::MAX, "size: in the zip64 field");
        assert_eq!(u16_at(28), 20, "extra field length");
        let extra = &header[30 + name.len()..30 + name.len() + 20];
        assert_eq!(
            extra[..4],
            [1, 0, 16, 0],
            "the zip64 extra field, both sizes"
        );
        assert_eq!(extra[4..], [0; 16]);

        // The data descriptor: signature, CRC, then 8-byte sizes that match
        // the central directory's.
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).expect("a zip");
        let (packed, size, crc, data_at) = {
            let sheet = zip.by_name(SHEET_PART).expect("the sheet");
            (
                sheet.compressed_size(),
                sheet.size(),
                sheet.crc32(),
                sheet.data_start().expect("where the data starts"),
            )
        };
        let descriptor = &bytes[(data_at + packed) as usize..][..24];
        assert_eq!(descriptor[..4], 0x0807_4b50u32.to_le_bytes());
        assert_eq!(descriptor[4..8], crc.to_le_bytes());
        assert_eq!(descriptor[8..16], packed.to_le_bytes());
        assert_eq!(descriptor[16..24], size.to_le_bytes());
        let table = read_table(&bytes, Some("out.xlsx"), &ReadOptions::default()).expect("reads");
        assert_eq!(table.rows[0].cells[0], CellValue::Text("x".into()));
    }

    #[test]
    fn a_sheet_stops_at_excels_last_row() {
        let mut writer = SheetWriter::new("S", &["A"]).expect("a writer");
        // As if a million rows had been written.
        writer.next_row = MAX_ROWS;
        writer.row([Cell::Text("last")]).expect("Excel's last row");
        assert_eq!(writer.rows(), MAX_ROWS);
        assert_eq!(writer.row([Cell::Empty]), Err(WriteError::TooManyRows));
    }
}
