//! Warnings (SPEC section 4b) on the check page: beside the errors with
//! their own icon, colour, count and filter, and dismissed for the file.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;

use crate::helpers::BrowserApp;
use crate::{ONE_BROWSER_AT_A_TIME, ScratchDir};

/// | row | |
/// |---|---|
/// | 2 | User ID `00123` as text |
/// | 3 | User ID 77 as a number: `leading_zeros_lost` |
/// | 4 | email at `gmial.com`: `email_domain_typo` |
/// | 5 | a username with a space: an error |
fn people_with_warnings(dir: &Path) -> PathBuf {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in ["First Name", "Last Name", "Username", "Email", "User ID"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *header).expect("header");
    }
    let people = [
        ("Ada", "Lovelace", "ada", "ada@example.org"),
        ("Alan", "Turing", "alan", "alan@example.org"),
        ("Grace", "Hopper", "grace", "grace@gmial.com"),
        ("Edsger", "Dijkstra", "edsger d", "edsger@example.org"),
    ];
    for (i, (first, last, username, email)) in people.iter().enumerate() {
        let r = i as u32 + 1;
        for (col, value) in [first, last, username, email].iter().enumerate() {
            sheet.write_string(r, col as u16, **value).expect("cell");
        }
    }
    sheet.write_string(1, 4, "00123").expect("cell");
    sheet.write_number(2, 4, 77.0).expect("cell");
    sheet.write_string(3, 4, "00125").expect("cell");
    sheet.write_string(4, 4, "00126").expect("cell");
    let path = dir.join("people-warnings.xlsx");
    workbook.save(&path).expect("save people-warnings.xlsx");
    path
}

/// The grid's cells with warnings, as "row N: code", each checked to carry
/// the warning icon and the word "Warning" (not colour alone).
async fn warned_cells(app: &BrowserApp) -> Vec<String> {
    let cells = app
        .script(
            "return [...document.querySelectorAll('#row-grid .cell-warning')].map(w => \
             [w.closest('tr').dataset.row, w.dataset.code, \
              !!w.querySelector('svg.icon-warning'), w.textContent.includes('Warning:')]);",
        )
        .await;
    cells
        .as_array()
        .map(|cells| {
            cells
                .iter()
                .map(|c| {
                    assert_eq!(c[2], true, "an icon beside the warning {c}");
                    assert_eq!(c[3], true, "the word Warning in {c}");
                    format!(
                        "row {}: {}",
                        c[0].as_str().unwrap_or_default(),
                        c[1].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_show_beside_errors_and_stay_dismissed_for_the_file() {
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let scratch = ScratchDir::new("warnings");
    let file = people_with_warnings(&scratch.0);
    let app = BrowserApp::start().await;
    app.open_check_page().await;
    app.choose_file(&file).await;
    app.wait_for_report().await;
    app.wait_for_text(
        "#status",
        "people-warnings.xlsx: 4 rows checked, 1 with errors (1 error). 2 warnings.",
    )
    .await;

    // Beside the errors: their own cells, icon, colour and count.
    assert_eq!(app.marked_cells().await, ["row 5: spaces_not_allowed"]);
    assert_eq!(
        warned_cells(&app).await,
        ["row 3: leading_zeros_lost", "row 4: email_domain_typo"]
    );
    assert!(app.text("#row-grid tr[data-row='3']").await.contains(
        "User ID: 77 may have lost its leading zeros (other IDs in this column look like 00123)"
    ));
    assert!(
        app.text("#row-grid tr[data-row='4']")
            .await
            .contains("Email: did you mean @gmail.com?")
    );
    let colours = app
        .script(
            "return [getComputedStyle(document.querySelector('.cell-warning')).color, \
                     getComputedStyle(document.querySelector('.cell-problem')).color];",
        )
        .await;
    assert_ne!(colours[0], colours[1], "warnings have their own colour");
    assert!(app.text("#figure-warnings").await.contains('2'));
    assert!(app.text("#figure-with-warnings").await.contains('2'));
    let counts = app.text("#warning-counts").await;
    for expected in [
        "Leading zeros lost leading_zeros_lost\t1",
        "Email domain typo email_domain_typo\t1",
    ] {
        assert!(counts.contains(expected), "counts say {counts:?}");
    }
    app.screenshot("w1-warnings").await;

    // Their own filter.
    app.click("#only-warnings").await;
    assert_eq!(app.wait_for_grid_rows(&[3]).await, vec![3, 4]);
    app.wait_for_text("#pager-text", "1–2 of 2 rows with warnings")
        .await;

    // Dismissed: gone from the grid, the counts and the filter.
    app.click("#dismiss-3-user_id-leading_zeros_lost").await;
    app.wait_for_text(
        "#status",
        "people-warnings.xlsx: 4 rows checked, 1 with errors (1 error). 1 warning.",
    )
    .await;
    assert_eq!(app.wait_for_grid_rows(&[4]).await, vec![4]);
    assert_eq!(warned_cells(&app).await, ["row 4: email_domain_typo"]);
    app.wait_for_text("#dismissed-warnings", "1 warning dismissed for this file.")
        .await;
    assert!(
        !app.text("#warning-counts")
            .await
            .contains("leading_zeros_lost")
    );
    app.wait_for_focus_within("#rows-region").await;
    app.screenshot("w2-dismissed").await;

    // The same file chosen again (after leaving the page): still dismissed.
    app.open_check_page().await;
    app.choose_file(&file).await;
    app.wait_for_report().await;
    app.wait_for_text("#status", "(1 error). 1 warning.").await;
    assert_eq!(warned_cells(&app).await, ["row 4: email_domain_typo"]);

    // And it can be brought back.
    app.click("#restore-warnings").await;
    app.wait_for_text("#status", "(1 error). 2 warnings.").await;
    assert_eq!(
        warned_cells(&app).await,
        ["row 3: leading_zeros_lost", "row 4: email_domain_typo"]
    );

    app.finish().await;
}
