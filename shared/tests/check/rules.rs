//! Every rule of SPEC section 4 with a passing and a failing value, in a
//! real .xlsx, with its exact message.

use roster_shared::{ErrorCode, Field};
use rust_xlsxwriter::{ExcelDateTime, Workbook};

use crate::{REQUIRED_HEADERS, check, messages, valid_row, xlsx_of};

/// Row 2 holds `pass` in the column `header`, row 3 holds `fail`; only row 3
/// may have an error, and it must be `message`.
fn assert_rule(header: &str, pass: &str, fail: &str, message: &str) {
    let mut headers = REQUIRED_HEADERS.to_vec();
    let col = headers
        .iter()
        .position(|h| *h == header)
        .unwrap_or_else(|| {
            headers.push(header);
            headers.len() - 1
        });
    let mut rows = vec![valid_row(1), valid_row(2)];
    for (row, value) in rows.iter_mut().zip([pass, fail]) {
        row.resize(headers.len(), String::new());
        row[col] = value.to_string();
    }
    let report = check(&xlsx_of(&headers, &rows), "rule.xlsx");
    assert_eq!(
        messages(&report),
        vec![(3, message.to_string())],
        "{header}: {pass:?} / {fail:?}"
    );
}

#[test]
fn required() {
    assert_rule(
        "First Name",
        "Ann",
        "",
        "First Name: This value is required",
    );
    assert_rule(
        "User ID",
        "7",
        " \u{00A0}",
        "User ID: This value is required",
    );
}

#[test]
fn untrimmed() {
    assert_rule(
        "Email",
        "a@b.nl",
        "a@b.nl ",
        "Email: leading or trailing spaces are not allowed",
    );
    assert_rule(
        "User ID",
        "7",
        "\u{FEFF}7",
        "User ID: leading or trailing spaces are not allowed",
    );
    assert_rule(
        "Password",
        "secret99",
        "secret99\u{00A0}",
        "Password: leading or trailing spaces are not allowed",
    );
}

#[test]
fn names_are_trimmed_silently() {
    assert_rule(
        "First Name",
        " Ann\u{00A0}",
        "An\nn",
        "First Name: line breaks and control characters are not allowed",
    );
}

#[test]
fn spaces_not_allowed() {
    assert_rule(
        "Username",
        "ann.lee",
        "ann lee",
        "Username: spaces not allowed",
    );
    assert_rule(
        "Username",
        "ann_lee",
        "ann\u{200B}lee",
        "Username: spaces not allowed",
    );
    assert_rule(
        "Username",
        "ann-lee",
        " annlee",
        "Username: spaces not allowed",
    );
}

#[test]
fn invalid_characters() {
    assert_rule(
        "Last Name",
        "Lee-Jones",
        "Lee\nJones",
        "Last Name: line breaks and control characters are not allowed",
    );
    assert_rule(
        "Email",
        "a@b.nl",
        "\ta@b.nl",
        "Email: line breaks and control characters are not allowed",
    );
    assert_rule(
        "Synchronisation Key",
        "k-1",
        "k\u{7}1",
        "Synchronisation Key: line breaks and control characters are not allowed",
    );
}

#[test]
fn invalid_email() {
    assert_rule(
        "Email",
        "first.last+x@mail.example.com",
        "ann@example",
        "Email: Please enter a valid email address",
    );
    assert_rule(
        "Email",
        "a@b.nl",
        "ann.example.com",
        "Email: Please enter a valid email address",
    );
}

#[test]
fn too_long() {
    assert_rule(
        "Username",
        &"u".repeat(100),
        &"u".repeat(101),
        "Username: at most 100 characters",
    );
    assert_rule(
        "Last Name",
        &"ë".repeat(100),
        &"ë".repeat(101),
        "Last Name: at most 100 characters",
    );
    let email = |n: usize| format!("{}@example.com", "a".repeat(n - 12));
    assert_rule(
        "Email",
        &email(254),
        &email(255),
        "Email: at most 254 characters",
    );
    assert_rule(
        "Password",
        &"p".repeat(128),
        &"p".repeat(129),
        "Password: at most 128 characters",
    );
    assert_rule(
        "Synchronisation Key",
        &"k".repeat(255),
        &"k".repeat(256),
        "Synchronisation Key: at most 255 characters",
    );
}

#[test]
fn password_too_short() {
    assert_rule(
        "Password",
        "12345678",
        "1234567",
        "Password: must be at least 8 characters",
    );
}

#[test]
fn invalid_yes_no() {
    assert_rule(
        "Special Needs",
        "YES",
        "maybe",
        "Special Needs: use yes or no",
    );
    assert_rule("Special Needs", "no", "n", "Special Needs: use yes or no");
}

#[test]
fn invalid_time_zone() {
    assert_rule(
        "Time Zone",
        "Europe/Amsterdam",
        "Europe/Amsterdm",
        "Time Zone: unknown time zone; did you mean Europe/Amsterdam?",
    );
    assert_rule(
        "Time Zone",
        "America/Argentina/Buenos_Aires",
        "Mars/Olympus",
        "Time Zone: unknown time zone",
    );
}

#[test]
fn level_gap() {
    let mut headers = REQUIRED_HEADERS.to_vec();
    headers.extend(["Sub-level-1", "Sub-level-2", "Sub-level-3"]);
    let mut pass = valid_row(1);
    pass.extend(["North".into(), "Year 1".into(), "Group A".into()]);
    let mut fail = valid_row(2);
    fail.extend(["North".into(), String::new(), "Group A".into()]);
    let report = check(&xlsx_of(&headers, &[pass, fail]), "levels.xlsx");
    assert_eq!(
        messages(&report),
        vec![(
            3,
            "Sub-level-3: Sub-level-2 must be filled in first".to_string()
        )]
    );
}

#[test]
fn duplicate_in_file_compares_usernames_without_case_and_numbers_as_text() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    crate::write_text_rows(
        sheet,
        &REQUIRED_HEADERS,
        &[valid_row(1), valid_row(2), valid_row(3)],
    );
    sheet.write_string(2, 2, "ANN1").unwrap(); // row 3: username of row 2
    sheet.write_number(3, 4, 1001.0).unwrap(); // row 4: the number 1001 = "1001"
    let report = check(&workbook.save_to_buffer().unwrap(), "dup.xlsx");
    let dup_user = "Username: This value is used more than once in the file (rows 2, 3)";
    let dup_id = "User ID: This value is used more than once in the file (rows 2, 4)";
    assert_eq!(
        messages(&report),
        vec![
            (2, dup_user.to_string()),
            (2, dup_id.to_string()),
            (3, dup_user.to_string()),
            (4, dup_id.to_string()),
        ]
    );
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.code == ErrorCode::DuplicateInFile)
    );
}

#[test]
fn wrong_type_and_imprecise_number() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    crate::write_text_rows(
        sheet,
        &REQUIRED_HEADERS,
        &[valid_row(1), valid_row(2), valid_row(3)],
    );
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let date = ExcelDateTime::from_ymd(2024, 12, 1).unwrap();
    sheet
        .write_datetime_with_format(1, 4, &date, &date_format)
        .unwrap(); // row 2
    sheet.write_number(2, 4, 12345678901234567890.0).unwrap(); // row 3
    sheet.write_number(3, 4, 9007199254740992.0).unwrap(); // row 4: 2^53 is exact
    sheet
        .write_datetime_with_format(3, 0, &date, &date_format)
        .unwrap(); // a date as a name is fine
    let report = check(&workbook.save_to_buffer().unwrap(), "types.xlsx");
    assert_eq!(
        messages(&report),
        vec![
            (
                2,
                "User ID: a date is not allowed here; format the column as text".to_string()
            ),
            (
                3,
                "User ID: the number is too long to be exact in Excel; format the column as text"
                    .to_string()
            ),
        ]
    );
    let row4 = report.rows.iter().find(|r| r.row == 4).unwrap();
    assert_eq!(row4.get(Field::UserId), "9007199254740992");
    assert_eq!(row4.get(Field::FirstName), "2024-12-01");
}

#[test]
fn formulas_give_their_cached_value_and_rich_text_its_plain_text() {
    use rust_xlsxwriter::{Format, Formula};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    crate::write_text_rows(sheet, &REQUIRED_HEADERS, &[valid_row(1)]);
    sheet
        .write_formula(1, 4, Formula::new("=1000+5").set_result("1005"))
        .unwrap();
    let bold = Format::new().set_bold();
    let plain = Format::new();
    sheet
        .write_rich_string(1, 0, &[(&bold, "Zo"), (&plain, "ë")])
        .unwrap();
    let report = check(&workbook.save_to_buffer().unwrap(), "formula.xlsx");
    assert_eq!(messages(&report), vec![]);
    assert_eq!(report.rows[0].get(Field::UserId), "1005");
    assert_eq!(report.rows[0].get(Field::FirstName), "Zoë");
}

#[test]
fn a_field_gets_only_its_first_error() {
    // Whitespace in a username is spaces_not_allowed before untrimmed; a
    // tab is a control character before both.
    assert_rule("Username", "ann", "ann ", "Username: spaces not allowed");
    assert_rule(
        "Username",
        "ann",
        "an\tn",
        "Username: line breaks and control characters are not allowed",
    );
    // Too long comes before the email format.
    assert_rule(
        "Email",
        "a@b.nl",
        &"x".repeat(255),
        "Email: at most 254 characters",
    );
}

#[test]
fn usernames_with_titlecase_letters_are_duplicates_of_their_lowercase() {
    // U+01C5 and U+1F88 are titlecase letters, not uppercase ones; their
    // lowercase forms are U+01C6 and U+1F80 (and U+01C4's is U+01C6 too).
    for (first, second) in [
        ("\u{1C5}emal", "\u{1C6}emal"),
        ("\u{1F88}nna", "\u{1F80}nna"),
        ("\u{1C5}emal", "\u{1C4}EMAL"),
    ] {
        let mut rows = vec![valid_row(1), valid_row(2)];
        rows[0][2] = first.to_string();
        rows[1][2] = second.to_string();
        let report = check(&xlsx_of(&REQUIRED_HEADERS, &rows), "titlecase.xlsx");
        let dup = "Username: This value is used more than once in the file (rows 2, 3)";
        assert_eq!(
            messages(&report),
            vec![(2, dup.to_string()), (3, dup.to_string())],
            "{first} / {second}"
        );
    }
}

#[test]
fn an_error_cell_is_no_duplicate_of_its_text_or_of_another_error() {
    use rust_xlsxwriter::Formula;
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    crate::write_text_rows(
        sheet,
        &REQUIRED_HEADERS,
        &[valid_row(1), valid_row(2), valid_row(3)],
    );
    // rust_xlsxwriter writes an error result as a real error cell (t="e").
    for row in [1, 3] {
        sheet
            .write_formula(row, 4, Formula::new("=NA()").set_result("#N/A"))
            .unwrap();
    }
    sheet.write_string(2, 4, "#N/A").unwrap(); // row 3: the text
    let report = check(&workbook.save_to_buffer().unwrap(), "errors.xlsx");
    let cell_error = "User ID: the cell holds an error (#N/A)".to_string();
    assert_eq!(
        messages(&report),
        vec![(2, cell_error.clone()), (4, cell_error)]
    );
    assert!(report.errors.iter().all(|e| e.code == ErrorCode::CellError));
}

#[test]
fn whole_numbers_are_judged_on_the_digits_the_file_writes() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    crate::write_text_rows(
        sheet,
        &REQUIRED_HEADERS,
        &[valid_row(1), valid_row(2), valid_row(3), valid_row(4)],
    );
    // Marker numbers, replaced in the sheet's XML by what no double holds.
    for (row, marker) in [(1, 111.0), (2, 222.0), (3, 333.0), (4, 444.0)] {
        sheet.write_number(row, 4, marker).unwrap();
    }
    let mut xlsx = workbook.save_to_buffer().unwrap();
    for (marker, written) in [
        ("111", "9007199254740993"),     // reads as the double 2^53
        ("222", "9007199254740992"),     // 2^53 itself is exact
        ("333", "9.007199254740993E15"), // the same as row 2, in another form
        ("444", "-9007199254740993"),
    ] {
        xlsx = crate::with_part_edited(
            &xlsx,
            "xl/worksheets/sheet1.xml",
            &format!("<v>{marker}</v>"),
            &format!("<v>{written}</v>"),
        );
    }
    let report = check(&xlsx, "digits.xlsx");
    let imprecise =
        "User ID: the number is too long to be exact in Excel; format the column as text";
    assert_eq!(
        messages(&report),
        vec![
            (2, imprecise.to_string()),
            (4, imprecise.to_string()),
            (5, imprecise.to_string()),
        ]
    );
    let user_id = |n: u32| {
        report
            .rows
            .iter()
            .find(|r| r.row == n)
            .unwrap()
            .get(Field::UserId)
    };
    assert_eq!(user_id(2), "9007199254740993", "the file's digits");
    assert_eq!(user_id(3), "9007199254740992");
}
