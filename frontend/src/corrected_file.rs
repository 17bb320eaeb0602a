//! The file with the corrections made in the grid, for download. A CSV
//! stays CSV; a spreadsheet (.xlsx, .xls, .ods) comes back as .xlsx, the
//! one spreadsheet format Roster writes, so that an administrator who works
//! in Excel gets a sheet back, not a CSV that Excel would re-read (dropping
//! the leading zeros of an ID, say).

use roster_shared::Format;
use roster_shared::cells::CellValue;
use roster_shared::write::{Cell, SheetWriter, XLSX_MIME};

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
    Xlsx(Box<SheetXml>),
}

impl Writer {
    /// A writer for a file read as `format`, starting with its header row.
    pub fn new(format: Format, sheet_name: &str, headers: &[String]) -> Result<Writer, String> {
        if !stays_csv(format) {
            return Ok(Writer::Xlsx(Box::new(SheetXml::new(sheet_name, headers)?)));
        }
        // A byte order mark, so that spreadsheet programs read UTF-8.
        let mut writer = Writer::Csv(Box::new(csv::Writer::from_writer(
            "\u{feff}".as_bytes().to_vec(),
        )));
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

/// One worksheet, written by the rules crate's streaming writer (which the
/// server's export uses too): mapped fields and text as text, an unmapped
/// column's numbers and true/false as what they were. Not rust_xlsxwriter,
/// which nearly doubled the worker's download (582 → 979 KiB gzipped) for
/// this one plain sheet. Rows are deflated as they are written, so a sheet
/// of 100,000 rows never holds its 45 MB of XML, only their 4 MB packed.
pub struct SheetXml {
    writer: SheetWriter,
    /// The archive so far.
    bytes: Vec<u8>,
}

impl SheetXml {
    fn new(name: &str, headers: &[String]) -> Result<SheetXml, String> {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let writer = SheetWriter::new(name, &headers).map_err(|e| e.to_string())?;
        Ok(SheetXml {
            writer,
            bytes: Vec::new(),
        })
    }

    fn row<'a>(&mut self, values: impl Iterator<Item = Value<'a>>) -> Result<(), String> {
        let cells = values.map(|value| match value {
            Value::Field(text) => Cell::Text(text),
            Value::Cell(CellValue::Empty) => Cell::Empty,
            Value::Cell(CellValue::Text(text)) => Cell::Text(text),
            Value::Cell(CellValue::Date(text) | CellValue::Error(text)) => Cell::Text(text),
            Value::Cell(CellValue::Int(i)) => Cell::Int(*i),
            Value::Cell(CellValue::Number(n)) => Cell::Number(*n),
            Value::Cell(CellValue::Bool(b)) => Cell::Bool(*b),
        });
        self.writer.row(cells).map_err(|e| e.to_string())?;
        self.bytes.append(&mut self.writer.take());
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, String> {
        let rest = self.writer.finish().map_err(|e| e.to_string())?;
        self.bytes.extend_from_slice(&rest);
        Ok(self.bytes)
    }
}
