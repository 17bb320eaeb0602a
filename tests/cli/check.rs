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
    assert!(
        text.contains("5 rows: 0 valid, 5 with errors, 0 with warnings\n"),
        "{text}"
    );
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
        serde_json::json!({"rows": 5, "valid": 0, "with_errors": 5, "with_warnings": 0})
    );
    assert_eq!(json["warnings"], serde_json::json!([]));
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

/// Row 2's User ID is text with leading zeros, row 3's a number that lost
/// them (written by rust_xlsxwriter: a text cell and a number cell), row
/// 4's email a typo of the common provider's domain.
fn file_with_warnings() -> std::path::PathBuf {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, h) in ["First Name", "Last Name", "Username", "Email", "User ID"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let people = [
        ("Ann", "Lee", "ann", "ann@example.org"),
        ("Bob", "Ng", "bob", "bob@example.org"),
        ("Cy", "Day", "cy", "cy@hotmial.com"),
    ];
    for (r, (first, last, user, email)) in people.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in [first, last, user, email].iter().enumerate() {
            sheet.write_string(r, c as u16, **v).unwrap();
        }
    }
    sheet.write_string(1, 4, "00123").unwrap();
    sheet.write_number(2, 4, 77.0).unwrap();
    sheet.write_string(3, 4, "00125").unwrap();
    let dir = std::env::temp_dir().join(format!("roster-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("warnings.xlsx");
    workbook.save(&path).unwrap();
    path
}

#[test]
fn warnings_are_listed_but_never_change_the_exit_status() {
    let path = file_with_warnings();
    let p = path.to_str().unwrap();
    let out = roster(&["check", p]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("3 rows: 3 valid, 0 with errors, 2 with warnings\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  row      3  warning: User ID: 77 may have lost its leading zeros (other IDs in this column look like 00123)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  row      4  warning: Email: did you mean @hotmail.com?\n"),
        "{text}"
    );

    let out = roster(&["check", "--json", p]);
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["summary"],
        serde_json::json!({"rows": 3, "valid": 3, "with_errors": 0, "with_warnings": 2})
    );
    assert_eq!(
        json["warnings"],
        serde_json::json!([
            {"row": 3, "field": "user_id", "code": "leading_zeros_lost",
             "message": "User ID: 77 may have lost its leading zeros (other IDs in this column look like 00123)"},
            {"row": 4, "field": "email", "code": "email_domain_typo",
             "message": "Email: did you mean @hotmail.com?"}
        ])
    );
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

/// Every field of SPEC section 2 has a column, suggested by its header; row 2
/// has an untrimmed sub-level 1, row 3 a sub-level 2 without a level 1.
const EVERY_FIELD_CSV: &str = "First Name,Last Name,Username,Email,User ID,Password,\
Sub-level-1,Sub-level-2,Sub-level-3,Sub-level-4,Sub-level-5,Special Needs,Sync Key,Time Zone\n\
Zoë,Müller,zoe,zoe@example.com,1001,secret-pass,\" School\",,,,,no,k1,Europe/Amsterdam\n\
Ann,Lee,ann,ann@example.com,1002,,,Class 1,,,,,,\n";

/// SPEC section 2's keys, in its order.
const SECTION_2_KEYS: [&str; 14] = [
    "first_name",
    "last_name",
    "username",
    "email",
    "user_id",
    "password",
    "sub_level_1",
    "sub_level_2",
    "sub_level_3",
    "sub_level_4",
    "sub_level_5",
    "special_needs",
    "sync_key",
    "time_zone",
];

#[test]
fn json_names_the_sub_levels_as_section_2_does() {
    let path = write_csv("every-field.csv", EVERY_FIELD_CSV);
    let out = roster(&["check", "--json", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mapped: Vec<&str> = json["mapping"]
        .as_object()
        .expect("mapping is an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = SECTION_2_KEYS.to_vec();
    expected.sort_unstable();
    assert_eq!(mapped, expected);
    assert_eq!(json["mapping"]["sub_level_1"], "Sub-level-1");
    assert_eq!(
        json["errors"],
        serde_json::json!([
            {"row": 2, "field": "sub_level_1", "code": "untrimmed",
             "message": "Sub-level-1: leading or trailing spaces are not allowed"},
            {"row": 3, "field": "sub_level_2", "code": "level_gap",
             "message": "Sub-level-2: Sub-level-1 must be filled in first"},
        ])
    );
    assert_eq!(json["rows"][1]["sub_level_2"], "Class 1");
}

#[test]
fn what_json_calls_a_field_map_accepts() {
    let named = write_csv("named-headers.csv", EVERY_FIELD_CSV);
    let out = roster(&["check", "--json", named.to_str().unwrap()]);
    let suggested: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mapping = suggested["mapping"]
        .as_object()
        .expect("mapping is an object");
    assert_eq!(mapping.len(), SECTION_2_KEYS.len());

    // The same rows under headers that suggest no field ("Column N"): each
    // field is given its column with `--map`, by the key `--json` printed.
    let (header_line, data) = EVERY_FIELD_CSV.split_once('\n').unwrap();
    let named_headers: Vec<&str> = header_line.split(',').collect();
    let anonymous_headers: Vec<String> = (1..=named_headers.len())
        .map(|n| format!("Column {n}"))
        .collect();
    let anonymous = write_csv(
        "anonymous-headers.csv",
        &format!("{}\n{data}", anonymous_headers.join(",")),
    );
    let mut args = vec!["check".to_string(), "--json".to_string()];
    for (key, header) in mapping {
        let column = named_headers
            .iter()
            .position(|h| Some(*h) == header.as_str())
            .expect("a printed header is one of the file's");
        args.push("--map".to_string());
        args.push(format!("{key}={}", anonymous_headers[column]));
    }
    args.push(anonymous.to_str().unwrap().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = roster(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mapped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(mapped["mapping"].as_object().unwrap().len(), mapping.len());
    assert_eq!(mapped["errors"], suggested["errors"]);
    assert_eq!(mapped["rows"], suggested["rows"]);
}
