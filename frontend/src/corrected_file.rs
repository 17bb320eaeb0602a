//! The file with the corrections made in the grid, for download. A CSV
//! stays CSV; a spreadsheet (.xlsx, .xls, .ods) comes back as .xlsx, the
//! one spreadsheet format Roster writes, so that an administrator who works
//! in Excel gets a sheet back, not a CSV that Excel would re-read (dropping
//! the leading zeros of an ID, say).

use std::io::Write as _;

use flate2::Compression;
use flate2::write::DeflateEncoder;
use roster_shared::Format;
use roster_shared::cells::CellValue;
use roster_shared::error::column_letters;

/// A file made in the browser, ready to save.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectedFile {
    pub name: String,
    /// Its MIME type, for the `Blob`.
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

/// One cell of the corrected file.
pub enum Value<'a> {
    /// A mapped field: the text Roster checked, corrections included.
    Field(&'a str),
    /// A column no field is mapped to: the cell as it was read.
    Cell(&'a CellValue),
}

const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Whether a file read as `format` comes back as CSV; every spreadsheet
/// comes back as .xlsx. The file's name and its writer both follow this.
fn stays_csv(format: Format) -> bool {
    format == Format::Csv
}

/// `people.csv` → `people-corrected.csv`; any other → `people-corrected.xlsx`.
pub fn corrected_name(file_name: &str, format: Format) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    let extension = if stays_csv(format) { "csv" } else { "xlsx" };
    format!("{stem}-corrected.{extension}")
}

/// Writes the corrected file row by row.
pub enum Writer {
    Csv(Box<csv::Writer<Vec<u8>>>),
    Xlsx(SheetXml),
}

impl Writer {
    /// A writer for a file read as `format`, starting with its header row.
    pub fn new(format: Format, sheet_name: &str, headers: &[String]) -> Result<Writer, String> {
        let mut writer = if stays_csv(format) {
            // A byte order mark, so that spreadsheet programs read UTF-8.
            Writer::Csv(Box::new(csv::Writer::from_writer(
                "\u{feff}".as_bytes().to_vec(),
            )))
        } else {
            Writer::Xlsx(SheetXml::new(sheet_name))
        };
        writer.row(headers.iter().map(|h| Value::Field(h)))?;
        Ok(writer)
    }

    pub fn row<'a>(&mut self, values: impl Iterator<Item = Value<'a>>) -> Result<(), String> {
        match self {
            Writer::Csv(out) => {
                let record: Vec<String> = values
                    .map(|v| match v {
                        Value::Field(text) => text.to_string(),
                        Value::Cell(cell) => cell.header_text(),
                    })
                    .collect();
                out.write_record(&record).map_err(|e| e.to_string())
            }
            Writer::Xlsx(sheet) => sheet.row(values),
        }
    }

    /// The finished file's bytes.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Writer::Csv(out) => out.into_inner().map_err(|e| e.to_string()),
            Writer::Xlsx(sheet) => sheet.finish(),
        }
    }

    pub fn mime(&self) -> &'static str {
        match self {
            Writer::Csv(_) => "text/csv;charset=utf-8",
            Writer::Xlsx(_) => XLSX_MIME,
        }
    }
}

/// One worksheet written as SpreadsheetML: text as inline strings (an ID
/// keeps its leading zeros), an unmapped column's numbers and true/false as
/// what they were. Written here rather than with rust_xlsxwriter (which
/// the server uses for its error sheets), since that crate nearly doubled
/// the worker's download (582 → 979 KiB gzipped) for this one plain sheet.
///
/// The XML is deflated a row at a time, so a sheet of 100,000 rows never
/// holds its 45 MB of XML, only their 4 MB packed.
pub struct SheetXml {
    sheet_name: String,
    /// The row being written.
    xml: String,
    sheet: Packed,
    next_row: u32,
}

impl SheetXml {
    fn new(name: &str) -> SheetXml {
        let mut sheet = SheetXml {
            sheet_name: sheet_name(name),
            xml: String::new(),
            sheet: Packed::default(),
            next_row: 1,
        };
        sheet.xml.push_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>",
        );
        sheet
    }

    fn row<'a>(&mut self, values: impl Iterator<Item = Value<'a>>) -> Result<(), String> {
        let row = self.next_row;
        self.next_row += 1;
        self.xml.push_str(&format!("<row r=\"{row}\">"));
        for (col, value) in values.enumerate() {
            let at = format!("{}{row}", column_letters(col as u32));
            match value {
                Value::Field(text) => self.text(&at, text),
                Value::Cell(CellValue::Empty) => {}
                Value::Cell(CellValue::Text(text)) => self.text(&at, text),
                Value::Cell(CellValue::Date(text) | CellValue::Error(text)) => self.text(&at, text),
                Value::Cell(CellValue::Int(i)) => self.value(&at, "n", &i.to_string()),
                Value::Cell(CellValue::Number(n)) if n.is_finite() => {
                    self.value(&at, "n", &n.to_string())
                }
                Value::Cell(CellValue::Number(_)) => {}
                Value::Cell(CellValue::Bool(b)) => self.value(&at, "b", if *b { "1" } else { "0" }),
            }
        }
        self.xml.push_str("</row>");
        self.sheet.write(self.xml.as_bytes())?;
        self.xml.clear();
        Ok(())
    }

    /// A number or boolean cell (`kind` `n` or `b`).
    fn value(&mut self, at: &str, kind: &str, value: &str) {
        self.xml
            .push_str(&format!("<c r=\"{at}\" t=\"{kind}\"><v>{value}</v></c>"));
    }

    /// A text cell, as an inline string; nothing for an empty text.
    fn text(&mut self, at: &str, text: &str) {
        if text.is_empty() {
            return;
        }
        self.xml.push_str(&format!(
            "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">"
        ));
        escape_into(text, &mut self.xml);
        self.xml.push_str("</t></is></c>");
    }

    /// The workbook around the sheet, deflated into a zip.
    fn finish(mut self) -> Result<Vec<u8>, String> {
        self.xml.push_str("</sheetData></worksheet>");
        self.sheet.write(self.xml.as_bytes())?;
        let mut name = String::new();
        escape_into(&self.sheet_name, &mut name);
        let workbook = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
             xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
             <sheets><sheet name=\"{name}\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
        );
        let mut zip = ZipOut::default();
        zip.add("[Content_Types].xml", CONTENT_TYPES.as_bytes())?;
        zip.add("_rels/.rels", PACKAGE_RELS.as_bytes())?;
        zip.add("xl/workbook.xml", workbook.as_bytes())?;
        zip.add("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes())?;
        zip.add_packed("xl/worksheets/sheet1.xml", self.sheet)?;
        zip.finish()
    }
}

/// A zip archive of deflated files, written here: the zip crate's writer
/// (with the zopfli compressor calamine's features bring along) added 417
/// KiB to the worker, this adds the deflater only. Plain zip: no zip64 (an
/// error past 4 GiB), no encryption, names in ASCII, dated 1980-01-01.
#[derive(Default)]
struct ZipOut {
    bytes: Vec<u8>,
    central: Vec<u8>,
    files: u16,
}

impl ZipOut {
    fn add(&mut self, name: &str, data: &[u8]) -> Result<(), String> {
        let mut file = Packed::default();
        file.write(data)?;
        self.add_packed(name, file)
    }

    fn add_packed(&mut self, name: &str, file: Packed) -> Result<(), String> {
        let Packed {
            deflater,
            crc,
            size,
        } = file;
        let crc = crc.finalize();
        let size = u32::try_from(size).map_err(|_| too_big())?;
        let packed = deflater.finish().map_err(|e| e.to_string())?;
        let packed_size = u32::try_from(packed.len()).map_err(|_| too_big())?;
        let offset = u32::try_from(self.bytes.len()).map_err(|_| too_big())?;
        // Version 2.0, no flags, deflated, DOS time 00:00 and date 1980-01-01.
        let common = |out: &mut Vec<u8>| {
            for field in [20u16, 0, 8, 0, 0x21] {
                out.extend_from_slice(&field.to_le_bytes());
            }
            for field in [crc, packed_size, size] {
                out.extend_from_slice(&field.to_le_bytes());
            }
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        };
        self.bytes.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut self.bytes);
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.extend_from_slice(&packed);

        self.central
            .extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        self.central.extend_from_slice(&20u16.to_le_bytes()); // made by
        common(&mut self.central);
        // Comment length, disk, internal and external attributes.
        self.central.extend_from_slice(&[0; 10]);
        self.central.extend_from_slice(&offset.to_le_bytes());
        self.central.extend_from_slice(name.as_bytes());
        self.files += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, String> {
        let central_at = u32::try_from(self.bytes.len()).map_err(|_| too_big())?;
        let central_size = u32::try_from(self.central.len()).map_err(|_| too_big())?;
        self.bytes.extend_from_slice(&self.central);
        self.bytes.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.bytes.extend_from_slice(&[0; 4]); // this disk, the directory's disk
        self.bytes.extend_from_slice(&self.files.to_le_bytes());
        self.bytes.extend_from_slice(&self.files.to_le_bytes());
        self.bytes.extend_from_slice(&central_size.to_le_bytes());
        self.bytes.extend_from_slice(&central_at.to_le_bytes());
        self.bytes.extend_from_slice(&0u16.to_le_bytes()); // comment length
        Ok(self.bytes)
    }
}

/// One file of the zip, deflated as it is written, with its checksum and
/// size.
struct Packed {
    deflater: DeflateEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
    size: u64,
}

impl Default for Packed {
    fn default() -> Packed {
        Packed {
            deflater: DeflateEncoder::new(Vec::new(), Compression::default()),
            crc: crc32fast::Hasher::new(),
            size: 0,
        }
    }
}

impl Packed {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.crc.update(bytes);
        self.size += bytes.len() as u64;
        self.deflater.write_all(bytes).map_err(|e| e.to_string())
    }
}

fn too_big() -> String {
    "the corrected file would pass 4 GiB".to_string()
}

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
            '\t' | '\n' | '\r' => out.push(c),
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
fn sheet_name(name: &str) -> String {
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

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
</Types>";

const PACKAGE_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
</Relationships>";

const WORKBOOK_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
</Relationships>";

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn sheet_names_excel_accepts() {
        assert_eq!(sheet_name("Staff"), "Staff");
        assert_eq!(sheet_name("a/b:c[1]"), "a_b_c_1_");
        assert_eq!(sheet_name(&"x".repeat(40)), "x".repeat(31));
        assert_eq!(sheet_name("  "), "Sheet1");
    }

    #[wasm_bindgen_test]
    fn text_is_escaped_for_xml_and_excel() {
        let mut out = String::new();
        escape_into("a<b>&\"_x0041_ _x1_ \u{1}\tz", &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;_x005F_x0041_ _x1_ _x0001_\tz");
    }
}
