//! The rules crate on real files: written by other tools (fixtures/, see
//! make_fixtures.py) and by rust_xlsxwriter in the tests themselves.
//! Native only: tests/wasm.rs runs the rules in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod conversion;
mod dates;
mod formats;
mod hostile;
mod real_files;
mod real_formats;
mod rules;
mod warnings;
mod xml_text;

use std::io::{Cursor, Read, Write};

use roster_shared::{CheckOptions, Report, check_file};
use rust_xlsxwriter::{Workbook, Worksheet};

pub const REQUIRED_HEADERS: [&str; 5] = ["First Name", "Last Name", "Username", "Email", "User ID"];

/// A valid row for the required headers; tests change one cell of it.
pub fn valid_row(n: usize) -> Vec<String> {
    vec![
        "Ann".into(),
        "Lee".into(),
        format!("ann{n}"),
        format!("ann{n}@example.com"),
        format!("{}", 1000 + n),
    ]
}

/// An .xlsx written by rust_xlsxwriter: the first row is `headers`, then one
/// row per entry, all as text cells.
pub fn xlsx_of(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Users").unwrap();
    write_text_rows(sheet, headers, rows);
    workbook.save_to_buffer().unwrap()
}

pub fn write_text_rows(sheet: &mut Worksheet, headers: &[&str], rows: &[Vec<String>]) {
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
}

/// A copy of the workbook `xlsx` with `from` replaced by `to` in the part
/// `name`: a real writer's file with one thing only an XML edit can make.
pub fn with_part_edited(xlsx: &[u8], name: &str, from: &str, to: &str) -> Vec<u8> {
    with_part(xlsx, name, |xml| {
        assert!(xml.contains(from), "{name} holds no {from:?}");
        xml.replace(from, to)
    })
}

pub fn check(bytes: &[u8], name: &str) -> Report {
    check_file(bytes, Some(name), &CheckOptions::default()).unwrap()
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `(row, message)` pairs of a report, for exact comparison.
pub fn messages(report: &Report) -> Vec<(u32, String)> {
    report
        .errors
        .iter()
        .map(|e| (e.row, e.message.clone()))
        .collect()
}

/// The same zip with the text part `name` passed through `edit`: how a
/// real file's parts are changed to make a case no writer makes by itself.
pub fn with_part(zip_bytes: &[u8], name: &str, edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut edit = Some(edit);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let entry_name = entry.name().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if entry_name == name {
            let edit = edit.take().unwrap();
            data = edit(String::from_utf8(data).unwrap()).into_bytes();
        }
        out.start_file(&entry_name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    assert!(edit.is_none(), "{name} is not in the zip");
    out.finish().unwrap().into_inner()
}
