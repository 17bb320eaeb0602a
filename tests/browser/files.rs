//! Spreadsheets written for the browser tests, with known contents.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;

/// A small file with known errors, and a typo in a header ("Emial") that
/// the mapping step must still match to Email.
///
/// | row | problem |
/// |---|---|
/// | 2 | none |
/// | 3 | username with a space; user ID 1002 also in row 5 |
/// | 4 | email without a dot in its domain |
/// | 5 | user ID 1002 also in row 3 |
/// | 6 | a space after the email |
pub fn people_with_errors(dir: &Path) -> PathBuf {
    let rows: [(&str, &str, &str, &str, f64, &str); 5] = [
        ("Ada", "Lovelace", "ada", "ada@example.org", 1001.0, "first"),
        (
            "Alan",
            "Turing",
            "alan turing",
            "alan@example.org",
            1002.0,
            "",
        ),
        ("Grace", "Hopper", "grace", "grace@example", 1003.0, ""),
        (
            "Edsger",
            "Dijkstra",
            "edsger",
            "edsger@example.org",
            1002.0,
            "",
        ),
        (
            "Barbara",
            "Liskov",
            "barbara",
            "barbara@example.org ",
            1006.0,
            "last",
        ),
    ];
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Users").expect("sheet name");
    for (col, header) in [
        "First Name",
        "Last Name",
        "Username",
        "Emial",
        "User ID",
        "Notes",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *header).expect("header");
    }
    for (i, (first, last, username, email, id, notes)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_string(r, 0, *first).expect("cell");
        sheet.write_string(r, 1, *last).expect("cell");
        sheet.write_string(r, 2, *username).expect("cell");
        sheet.write_string(r, 3, *email).expect("cell");
        sheet.write_number(r, 4, *id).expect("cell");
        if !notes.is_empty() {
            sheet.write_string(r, 5, *notes).expect("cell");
        }
    }
    let path = dir.join("people.xlsx");
    workbook.save(&path).expect("save people.xlsx");
    path
}

/// `rows` users in 9 columns; every 1000th has an invalid email.
pub fn many_people(dir: &Path, rows: u32) -> PathBuf {
    let headers = [
        "First Name",
        "Last Name",
        "Username",
        "Email",
        "User ID",
        "Password",
        "Sub-level-1",
        "Special Needs",
        "Time Zone",
    ];
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *header).expect("header");
    }
    for i in 1..=rows {
        let email = if i % 1000 == 0 {
            format!("user{i}.example.org")
        } else {
            format!("user{i}@example.org")
        };
        sheet.write_string(i, 0, format!("First{i}")).expect("cell");
        sheet.write_string(i, 1, format!("Last{i}")).expect("cell");
        sheet.write_string(i, 2, format!("user{i}")).expect("cell");
        sheet.write_string(i, 3, email).expect("cell");
        sheet
            .write_number(i, 4, f64::from(100_000 + i))
            .expect("cell");
        sheet
            .write_string(i, 5, "correct horse battery")
            .expect("cell");
        sheet
            .write_string(i, 6, format!("Class {}", i % 40))
            .expect("cell");
        sheet
            .write_string(i, 7, if i % 2 == 0 { "yes" } else { "no" })
            .expect("cell");
        sheet.write_string(i, 8, "Europe/Amsterdam").expect("cell");
    }
    let path = dir.join(format!("people-{rows}.xlsx"));
    workbook.save(&path).expect("save the large file");
    path
}

/// Four users to import under a new sub-level "Class A"; row 4's email has
/// no dot in its domain.
pub fn people_to_import(dir: &Path) -> PathBuf {
    let rows = [
        ("Mary", "Shelley", "mshelley", "mary@example.org", "5001"),
        ("Jane", "Austen", "jausten", "jane@example.org", "5002"),
        ("Emily", "Bronte", "ebronte", "emily@example", "5003"),
        ("Ann", "Radcliffe", "aradcliffe", "ann@example.org", "5004"),
    ];
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let headers = [
        "First Name",
        "Last Name",
        "Username",
        "Email",
        "User ID",
        "Sub-level-1",
    ];
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *header).expect("header");
    }
    for (i, (first, last, username, email, id)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        for (col, value) in [first, last, username, email, id, &"Class A"]
            .iter()
            .enumerate()
        {
            sheet.write_string(r, col as u16, **value).expect("cell");
        }
    }
    let path = dir.join("import-people.xlsx");
    workbook.save(&path).expect("save import-people.xlsx");
    path
}

/// The passwords of [`people_with_passwords`], row by row (row 3's is too
/// short; row 4 has none).
pub const PASSWORDS: [(u32, &str); 2] = [(2, "Sesame-Street-42"), (3, "short7")];

/// Three users with a Password column, as a CSV.
pub fn people_with_passwords(dir: &Path) -> PathBuf {
    let text = format!(
        "First Name,Last Name,Username,Email,User ID,Password\n\
         Ada,Lovelace,ada,ada@example.org,8001,{}\n\
         Alan,Turing,aturing,alan@example.org,8002,{}\n\
         Grace,Hopper,ghopper,grace@example.org,8003,\n",
        PASSWORDS[0].1, PASSWORDS[1].1
    );
    let path = dir.join("passwords.csv");
    std::fs::write(&path, text).expect("write passwords.csv");
    path
}
