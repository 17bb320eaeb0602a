use std::process::{Command, Output};

use roster_tests::{fixture, roster_bin};
use serde_json::Value;

fn roster(args: &[&str]) -> Output {
    Command::new(roster_bin())
        .args(args)
        .output()
        .expect("roster runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_file_with_errors_exits_1_and_lists_them_by_row() {
    let path = fixture("users.ods");
    let out = roster(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "ods, sheet \"Users\": header on row 1, 5 data rows, 1 blank rows skipped\n"
        ),
        "{text}"
    );
    assert!(text.contains("5 rows: 0 valid, 5 with errors\n"), "{text}");
    assert!(
        text.contains("  row      3  Email: Please enter a valid email address\n"),
        "{text}"
    );
    assert!(text.contains("  not imported: Notes\n"), "{text}");
}

#[test]
fn json_has_the_shape_of_section_8() {
    let path = fixture("users.xlsx");
    let out = roster(&["check", "--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        json["source"],
        serde_json::json!({"format": "xlsx", "sheet": "Users", "header_row": 1, "data_rows": 5, "blank_rows": 1})
    );
    assert_eq!(json["mapping"]["first_name"], "First Name");
    assert_eq!(json["unmapped_headers"], serde_json::json!(["Notes"]));
    assert_eq!(
        json["summary"],
        serde_json::json!({"rows": 5, "valid": 0, "with_errors": 5})
    );
    assert_eq!(
        json["errors"][2],
        serde_json::json!({"row": 3, "field": "username", "code": "spaces_not_allowed", "message": "Username: spaces not allowed"})
    );
    assert_eq!(json["errors"].as_array().unwrap().len(), 13);
    // Every data row's converted values, empty fields left out.
    assert_eq!(
        json["rows"][3],
        serde_json::json!({"row": 6, "first_name": "Carl", "last_name": "Jones", "username": "ZOE", "email": "carl@example.com", "user_id": "1005", "special_needs": "No"})
    );
}

fn write_csv(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("roster-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_clean_file_exits_0() {
    let path = write_csv(
        "clean.csv",
        "First Name,Last Name,Username,Email,User ID\nZoë,Müller,zoe,zoe@example.com,1001\n",
    );
    let out = roster(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 rows: 1 valid, 0 with errors"));
}

#[test]
fn map_overrides_the_suggested_column() {
    let path = write_csv(
        "work-mail.csv",
        "First Name,Last Name,Username,Private mail,Work mail,User ID\nZoë,Müller,zoe,zoe@home,zoe@work.example.com,1001\n",
    );
    let p = path.to_str().unwrap();
    // "Private mail" and "Work mail" suggest nothing: Email has no column.
    let out = roster(&["check", p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).ends_with("no column for the required field: Email\n")
    );
    let out = roster(&["check", "--json", "--map", "email=Work mail", p]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rows"][0]["email"], "zoe@work.example.com");
    assert_eq!(
        json["unmapped_headers"],
        serde_json::json!(["Private mail"])
    );

    let out = roster(&["check", "--map", "email=Nope", p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no column has the header \"Nope\" (asked for email)")
    );
    let out = roster(&["check", "--map", "nickname=Work mail", p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field \"nickname\""));
}

#[test]
fn sheet_chooses_the_sheet() {
    let path = fixture("users.xlsx");
    let out = roster(&["check", "--sheet", "Lookup", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the sheet \"Lookup\" has a header row (1) but no data rows")
    );
}
