//! Every warning of SPEC section 4b with a passing and a failing file,
//! written by rust_xlsxwriter (text cells and number or date cells as
//! Excel stores them), with its exact message; and the "did you mean?" of
//! `invalid_time_zone`.

use roster_shared::{ErrorCode, Field, Report, WarningCode};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::check;

/// A cell as a writer stores it.
enum Cell {
    Text(String),
    Number(f64),
    /// A date cell: a serial under a date format.
    Date(&'static str),
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

const HEADERS: [&str; 6] = [
    "First Name",
    "Last Name",
    "Username",
    "Email",
    "User ID",
    "Time Zone",
];

/// A row of distinct, valid values with `user_id` in the User ID column.
fn person(n: usize, user_id: Cell) -> Vec<Cell> {
    vec![
        t(format!("First{n}")),
        t(format!("Last{n}")),
        t(format!("user{n}")),
        t(format!("user{n}@example.org")),
        user_id,
        t("Europe/Amsterdam"),
    ]
}

fn xlsx(rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => sheet.write_string(r, c, s).map(|_| ()),
                Cell::Number(n) => sheet.write_number(r, c, *n).map(|_| ()),
                Cell::Date(d) => sheet
                    .write_datetime_with_format(
                        r,
                        c,
                        ExcelDateTime::parse_from_str(d).unwrap(),
                        &date,
                    )
                    .map(|_| ()),
            }
            .unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn warnings(report: &Report) -> Vec<(u32, Field, WarningCode, String)> {
    report
        .warnings
        .iter()
        .map(|w| (w.row, w.field, w.code, w.message.clone()))
        .collect()
}

fn codes(report: &Report) -> Vec<ErrorCode> {
    report.errors.iter().map(|e| e.code).collect()
}

#[test]
fn leading_zeros_lost_flags_numbers_among_zero_led_text_ids() {
    let rows = vec![
        person(1, t("00123")),
        person(2, t("00456")),
        person(3, Cell::Number(789.0)),
        person(4, t("01234")),
    ];
    let report = check(&xlsx(&rows), "zeros.xlsx");
    assert_eq!(
        warnings(&report),
        vec![(
            4,
            Field::UserId,
            WarningCode::LeadingZerosLost,
            "User ID: 789 may have lost its leading zeros (other IDs in this column look like 00123)"
                .to_string()
        )]
    );
    // A warning makes no row invalid and no error.
    assert_eq!(report.errors, vec![]);
    assert_eq!((report.summary.valid, report.summary.with_warnings), (4, 1));

    // Passing: the short ID is text (typed so), or every ID is a number.
    let rows = vec![
        person(1, t("00123")),
        person(2, t("789")),
        person(3, Cell::Number(78_901.0)),
    ];
    assert_eq!(warnings(&check(&xlsx(&rows), "zeros.xlsx")), vec![]);
    let rows = vec![
        person(1, Cell::Number(123.0)),
        person(2, Cell::Number(45.0)),
    ];
    assert_eq!(warnings(&check(&xlsx(&rows), "zeros.xlsx")), vec![]);
}

#[test]
fn scientific_notation_flags_excels_text_of_a_long_number() {
    let rows = vec![person(1, t("123456789012")), person(2, t("1.23457E+11"))];
    let report = check(&xlsx(&rows), "sci.xlsx");
    assert_eq!(
        warnings(&report),
        vec![(
            3,
            Field::UserId,
            WarningCode::ScientificNotation,
            "User ID: 1.23457E+11 is a number in scientific notation: its last digits were lost when the file was saved; format the column as text and type the IDs again"
                .to_string()
        )]
    );
    assert_eq!(report.errors, vec![]);

    // Passing: the digits themselves, and a username that looks like one.
    let mut row = person(1, t("123456789012"));
    row[2] = t("1e5");
    assert_eq!(warnings(&check(&xlsx(&[row]), "sci.xlsx")), vec![]);
}

#[test]
fn date_in_id_flags_a_date_among_identifiers() {
    let rows = vec![
        person(1, Cell::Number(1001.0)),
        person(2, Cell::Date("2024-01-02")),
        person(3, t("1003")),
    ];
    let report = check(&xlsx(&rows), "date.xlsx");
    assert_eq!(
        warnings(&report),
        vec![(
            3,
            Field::UserId,
            WarningCode::DateInId,
            "User ID: 2024-01-02 is a date where the other rows hold IDs: Excel may have turned an ID such as 1-2 into a date"
                .to_string()
        )]
    );
    // The date is still the error it was (section 3); the warning says why.
    assert_eq!(codes(&report), vec![ErrorCode::WrongType]);

    // Passing: a column of dates only is a wrong mapping, not Excel's doing.
    let rows = vec![
        person(1, Cell::Date("2024-01-02")),
        person(2, Cell::Date("2024-01-03")),
    ];
    let report = check(&xlsx(&rows), "date.xlsx");
    assert_eq!(warnings(&report), vec![]);
    assert_eq!(codes(&report), vec![ErrorCode::WrongType; 2]);
}

#[test]
fn email_domain_typo_names_the_common_domain_or_provider() {
    let mut rows: Vec<Vec<Cell>> = (1..=10)
        .map(|n| {
            let mut row = person(n, t(format!("{n}")));
            row[3] = t(format!("user{n}@school.example.org"));
            row
        })
        .collect();
    let mut typo = person(11, t("11"));
    typo[3] = t("user11@school.exmaple.org");
    let mut provider = person(12, t("12"));
    provider[3] = t("someone@GMIAL.com");
    rows.push(typo);
    rows.push(provider);
    let report = check(&xlsx(&rows), "domains.xlsx");
    assert_eq!(
        warnings(&report),
        vec![
            (
                12,
                Field::Email,
                WarningCode::EmailDomainTypo,
                "Email: did you mean @school.example.org?".to_string()
            ),
            (
                13,
                Field::Email,
                WarningCode::EmailDomainTypo,
                "Email: did you mean @gmail.com?".to_string()
            ),
        ]
    );

    // Passing: a near domain that three rows use is a real one; a far one
    // is no typo; a provider's own domain is never one.
    let mut rows: Vec<Vec<Cell>> = (1..=13)
        .map(|n| {
            let mut row = person(n, t(format!("{n}")));
            let domain = match n {
                1..=10 => "school.example.org",
                11 => "other-school.net",
                12 => "ymail.com",
                _ => "school.example.org",
            };
            row[3] = t(format!("user{n}@{domain}"));
            row
        })
        .collect();
    for n in 14..=16 {
        let mut row = person(n, t(format!("{n}")));
        row[3] = t(format!("user{n}@schools.example.org"));
        rows.push(row);
    }
    assert_eq!(warnings(&check(&xlsx(&rows), "domains.xlsx")), vec![]);
}

#[test]
fn possible_duplicate_finds_the_same_person_under_two_usernames() {
    let mut zoe = person(1, t("1"));
    zoe[0] = t("Zoë");
    zoe[1] = t("Müller");
    zoe[3] = t("zoe@example.org");
    let mut again = person(2, t("2"));
    again[0] = t(" ZOE ");
    again[1] = t("muller");
    again[3] = t("Zoe@Example.org");
    let other = person(3, t("3"));
    let report = check(&xlsx(&[zoe, again, other]), "dup.xlsx");
    let message = |row: u32| {
        format!(
            "Username: may be the same person as row {row} (same name and email, another username)"
        )
    };
    assert_eq!(
        warnings(&report),
        vec![
            (
                2,
                Field::Username,
                WarningCode::PossibleDuplicate,
                message(3)
            ),
            (
                3,
                Field::Username,
                WarningCode::PossibleDuplicate,
                message(2)
            ),
        ]
    );
    assert_eq!(report.errors, vec![]);

    // Passing: the same name with another email is another person; the
    // same username twice is already an error, not a warning.
    let mut zoe = person(1, t("1"));
    zoe[0] = t("Zoë");
    let mut namesake = person(2, t("2"));
    namesake[0] = t("Zoë");
    namesake[1] = t("Last1");
    let mut twice = person(1, t("3"));
    twice[0] = t("Zoë");
    twice[3] = t("USER1@example.org");
    let report = check(&xlsx(&[zoe, namesake, twice]), "dup.xlsx");
    assert_eq!(warnings(&report), vec![]);
    assert_eq!(
        codes(&report),
        vec![ErrorCode::DuplicateInFile, ErrorCode::DuplicateInFile]
    );
}

#[test]
fn an_unknown_time_zone_suggests_the_one_near_name() {
    let mut near = person(1, t("1"));
    near[5] = t("Europe/Amsterdm");
    let mut far = person(2, t("2"));
    far[5] = t("Mars/Olympus");
    let mut case = person(3, t("3"));
    case[5] = t("europe/london");
    let report = check(&xlsx(&[near, far, case]), "zones.xlsx");
    let messages: Vec<(u32, &str)> = report
        .errors
        .iter()
        .map(|e| (e.row, e.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        vec![
            (
                2,
                "Time Zone: unknown time zone; did you mean Europe/Amsterdam?"
            ),
            (3, "Time Zone: unknown time zone"),
            (
                4,
                "Time Zone: unknown time zone; did you mean Europe/London?"
            ),
        ]
    );
}

#[test]
fn the_report_json_lists_warnings_and_counts_their_rows() {
    let rows = vec![person(1, t("1.23457E+11")), person(2, t("2"))];
    let report = check(&xlsx(&rows), "json.xlsx");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["summary"],
        serde_json::json!({"rows": 2, "valid": 2, "with_errors": 0, "with_warnings": 1})
    );
    assert_eq!(json["warnings"][0]["row"], 2);
    assert_eq!(json["warnings"][0]["field"], "user_id");
    assert_eq!(json["warnings"][0]["code"], "scientific_notation");
}

/// Rows as the server receives them (text, no cell types).
fn posted(rows: impl IntoIterator<Item = [String; 5]>) -> Vec<roster_shared::MappedRow> {
    rows.into_iter()
        .enumerate()
        .map(|(i, values)| {
            let mut row = roster_shared::MappedRow::new(i as u32 + 2);
            for (field, value) in [
                Field::FirstName,
                Field::LastName,
                Field::Username,
                Field::Email,
                Field::UserId,
            ]
            .into_iter()
            .zip(values)
            {
                row.set(field, value);
            }
            row
        })
        .collect()
}

#[test]
fn sixty_thousand_rows_of_one_person_cost_linear_time() {
    // Every row the same name and email under its own username (with
    // capitals, so each comparison of usernames folds them): each row's
    // message lists ten others and counts the rest, found without
    // comparing every row with every other (3.6 × 10⁹ comparisons).
    const ROWS: usize = 60_000;
    let rows = posted((0..ROWS).map(|n| {
        [
            "Zoë".to_string(),
            "Müller".to_string(),
            format!("User{n}"),
            "zoe@example.org".to_string(),
            n.to_string(),
        ]
    }));
    let checked = roster_shared::rules::check_rows(rows, &roster_shared::RuleOptions::default());
    assert_eq!(checked.errors, vec![]);
    assert_eq!(checked.warnings.len(), ROWS);
    assert_eq!(
        checked.warnings[0].message,
        format!(
            "Username: may be the same person as rows 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and {} more \
             (same name and email, another username)",
            ROWS - 11
        )
    );
    assert!(checked.warnings[ROWS - 1].message.starts_with(
        "Username: may be the same person as rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and"
    ));
}

#[test]
fn two_thousand_long_rare_domains_cost_linear_time() {
    // 50 common domains (10 rows each) and 2,000 rare ones, all 244 bytes
    // long with one 230-byte prefix, each ending in its own word: none is
    // within two edits of a common one, and comparing them fills only the
    // table's band near its diagonal (before: 5 × 10⁹ cells).
    let prefix = "aaaaaaaaa.".repeat(23);
    let mut domains = Vec::new();
    for n in 0..50 {
        domains.extend(std::iter::repeat_n(format!("{prefix}common{n:04}.org"), 10));
    }
    for n in 0..2_000 {
        domains.push(format!("{prefix}zyxwvu{n:04}.org"));
    }
    let rows = posted(domains.into_iter().enumerate().map(|(i, d)| {
        [
            format!("First{i}"),
            format!("Last{i}"),
            format!("user{i}"),
            format!("user{i}@{d}"),
            i.to_string(),
        ]
    }));
    let checked = roster_shared::rules::check_rows(rows, &roster_shared::RuleOptions::default());
    assert_eq!(checked.errors, vec![], "valid emails");
    assert_eq!(checked.warnings, vec![]);
}
