//! The "Check a file" page in real headless Chromium: the built app from
//! `dist/` (build it first with `trunk build --release --offline`), served on
//! a random port, driven through chromedriver. Screenshots of each step go
//! to target/screenshots/.
//!
//! `admin.rs` drives the users pages against the real `roster serve`;
//! `accessibility.rs` runs axe-core (WCAG 2.1 AA) on every page.
//!
//! The tests take turns: one browser at a time keeps the timing honest on
//! a small machine.

mod accessibility;
mod admin;
mod export;
mod files;
mod helpers;
mod hierarchy_settings;
mod history;
mod import;
mod undo;
mod warnings;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use tokio::sync::Mutex;

use helpers::{BrowserApp, ESCAPE, dist_dir};

static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A folder for one test's files, removed when dropped. Named after this
/// process too: another `cargo test` of the workspace may run at once.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(name: &str) -> ScratchDir {
        let dir =
            std::env::temp_dir().join(format!("roster-browser-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a scratch folder");
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_page_shows_every_error_and_sends_nothing() {
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let scratch = ScratchDir::new("errors");
    let file = files::people_with_errors(&scratch.0);
    let app = BrowserApp::start().await;

    // Step 1: the page and its worker are loaded.
    app.open_check_page().await;
    app.screenshot("1-check-page").await;
    let served_after_load = app.requests.count();
    let fetched_after_load = app.resources_fetched().await;

    app.choose_file(&file).await;
    app.wait_for_report().await;
    app.wait_for_text(
        "#status",
        "people.xlsx: 5 rows checked, 4 with errors (5 errors).",
    )
    .await;

    // Step 2: the mapping was suggested from the headers, typo included.
    assert_eq!(app.selected("#map-email").await, "Emial (column D)");
    assert_eq!(app.selected("#map-user_id").await, "User ID (column E)");
    assert_eq!(app.selected("#map-password").await, "— not in this file —");
    assert!(app.text(".unmapped").await.contains("Notes"));

    // Step 3: every error, in its row, with text and an icon.
    const DUPLICATE_ID: &str = "User ID: This value is used more than once in the file (rows 3, 5)";
    for (row, message) in [
        (3, "Username: spaces not allowed"),
        (3, DUPLICATE_ID),
        (4, "Email: Please enter a valid email address"),
        (5, DUPLICATE_ID),
        (6, "Email: leading or trailing spaces are not allowed"),
    ] {
        let row_text = app.text(&format!("#row-grid tr[data-row='{row}']")).await;
        assert!(
            row_text.contains(message),
            "row {row} should say {message:?}; it says {row_text:?}"
        );
    }
    assert_eq!(
        app.marked_cells().await,
        [
            "row 3: spaces_not_allowed",
            "row 3: duplicate_in_file",
            "row 4: invalid_email",
            "row 5: duplicate_in_file",
            "row 6: untrimmed",
        ]
    );
    let counts = app.text("#rule-counts").await;
    for expected in [
        "Used more than once in the file duplicate_in_file\t2",
        "Spaces in a username spaces_not_allowed\t1",
        "Invalid email address invalid_email\t1",
        "Leading or trailing spaces untrimmed\t1",
    ] {
        assert!(counts.contains(expected), "counts say {counts:?}");
    }
    assert_eq!(app.grid_rows().await, vec![2, 3, 4, 5, 6]);
    app.screenshot("2-report").await;

    // The filter keeps only the rows with errors.
    app.click("#only-errors").await;
    assert_eq!(app.wait_for_grid_rows(&[3]).await, vec![3, 4, 5, 6]);
    app.wait_for_text("#pager-text", "1–4 of 4 rows with errors")
        .await;
    app.screenshot("3-only-rows-with-errors").await;
    // And it works from the keyboard.
    app.press_space_on("#only-errors").await;
    assert_eq!(app.wait_for_grid_rows(&[2]).await, vec![2, 3, 4, 5, 6]);

    // Changing the mapping checks again: without an Email column the page
    // asks for one; with Notes as the synchronisation key all is checked.
    app.select("#map-email", "— not in this file —").await;
    app.wait_for_text("#status", "choose the column for Email in step 2")
        .await;
    assert!(
        app.text("#map-email-error")
            .await
            .contains("Choose the column that holds Email")
    );
    app.screenshot("4-mapping-needs-email").await;
    app.select("#map-email", "Emial (column D)").await;
    app.select("#map-sync_key", "Notes (column F)").await;
    app.wait_for_text("#row-grid thead", "Synchronisation Key")
        .await;
    app.wait_for_text("#status", "4 with errors (5 errors).")
        .await;

    // A wrong cell is corrected in the grid and checked again at once; the
    // focus stays in the rows.
    app.correct_cell(3, "username", "alan.turing").await;
    app.wait_for_text("#status", "5 rows checked, 4 with errors (4 errors).")
        .await;
    assert_eq!(
        app.marked_cells().await[0],
        "row 3: duplicate_in_file",
        "row 3's username is right now"
    );
    app.wait_for_focus_within("#rows-region").await;
    // Escape leaves a cell as it was, and the focus on its button.
    app.click("#edit-4-email").await;
    app.screenshot("5a-correcting-a-cell").await;
    app.type_into("#input-4-email", ESCAPE).await;
    app.wait_for_text("#row-grid tr[data-row='4']", "Correct")
        .await;
    app.wait_for_focus("edit-4-email").await;
    // Stray spaces go in one click, which says how many cells it changed.
    app.click("#trim-all").await;
    app.wait_for_text(
        "#status",
        "Removed stray spaces from 1 cell. people.xlsx: 5 rows checked, 3 with errors (3 errors).",
    )
    .await;
    app.screenshot("5-corrected").await;
    // The corrected file downloads as .xlsx (the file was one), every
    // column kept, the checked fields as text.
    assert_eq!(
        app.text("#download-corrected").await,
        "Download the corrected file (people-corrected.xlsx)"
    );
    app.click("#download-corrected").await;
    let bytes = app.wait_for_download("people-corrected.xlsx").await;
    // Kept beside the screenshots, to open in a spreadsheet program.
    std::fs::write(
        helpers::screenshot_dir().join("people-corrected.xlsx"),
        &bytes,
    )
    .expect("a copy of the corrected file");
    let table = roster_shared::read_table(
        &bytes,
        Some("people-corrected.xlsx"),
        &roster_shared::ReadOptions::default(),
    )
    .expect("the corrected file reads back");
    assert_eq!(
        table.headers,
        [
            "First Name",
            "Last Name",
            "Username",
            "Emial",
            "User ID",
            "Notes"
        ]
    );
    let texts = |i: usize| -> Vec<String> {
        table.rows[i]
            .cells
            .iter()
            .map(|c| c.header_text())
            .collect()
    };
    assert_eq!(
        texts(1),
        ["Alan", "Turing", "alan.turing", "alan@example.org", "1002"]
    );
    assert_eq!(
        texts(4),
        [
            "Barbara",
            "Liskov",
            "barbara",
            "barbara@example.org",
            "1006",
            "last"
        ]
    );
    assert_eq!(
        table.rows[4].cells[4],
        roster_shared::cells::CellValue::Text("1006".into())
    );

    // Nothing was fetched after the page and its worker had loaded.
    assert_eq!(
        app.requests.count(),
        served_after_load,
        "the server was asked for more after load: {:?}",
        app.requests.paths()
    );
    assert_eq!(app.resources_fetched().await, fetched_after_load);

    // The chosen mapping is remembered for the next file with these headers.
    app.open_check_page().await;
    app.choose_file(&file).await;
    app.wait_for_report().await;
    assert_eq!(app.selected("#map-sync_key").await, "Notes (column F)");
    app.screenshot("6-remembered-mapping").await;

    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_csv_is_checked_and_an_unreadable_file_says_why() {
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let app = BrowserApp::start().await;

    // The start page leads to the check page without reloading.
    app.client
        .goto(&format!("{}/", app.base_url))
        .await
        .expect("open /");
    app.wait_for_text("main h1", "Roster").await;
    app.screenshot("0-start-page").await;
    let served = app.requests.count();
    app.click("main a[href='/check']").await;
    app.wait_for_text("#status", "No file chosen yet.").await;
    assert_eq!(
        app.requests.paths()[served..]
            .iter()
            .filter(|p| p.ends_with(".html") || *p == "/check")
            .count(),
        0,
        "the link is followed in the page, not by the server"
    );

    // A CSV dropped on the drop zone.
    let csv = "First Name;Last Name;Username;Email;User ID\n\
               Ada;Lovelace;ada;ada@example.org;1\n\
               Bob;;bob;bob@example.org;2\n";
    app.drop_file("team.csv", csv).await;
    app.wait_for_report().await;
    app.wait_for_text(
        "#status",
        "team.csv: 2 rows checked, 1 with errors (1 error).",
    )
    .await;
    assert!(
        app.text("#row-grid tr[data-row='3']")
            .await
            .contains("Last Name: This value is required")
    );

    // A file that is no spreadsheet gets one clear line.
    app.drop_file("people.xlsx", "PK\u{3}\u{4} not really a zip")
        .await;
    app.wait_for_text("#status", "Could not check people.xlsx:")
        .await;
    app.assert_no_report().await;
    app.screenshot("8-unreadable-file").await;

    app.finish().await;
}

/// The speed test's 100,000 people. Writing the file takes longer than
/// reading it (a debug build of the writer): it is kept in target/ for the
/// next run, named after the writer's source so that a change to files.rs
/// writes it again.
fn hundred_thousand_people(scratch: &ScratchDir) -> PathBuf {
    let kept = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../target/browser-test-many-people-{}.xlsx",
        include_str!("files.rs").len()
    ));
    if let Ok(kept) = kept.canonicalize() {
        return kept;
    }
    let file = files::many_people(&scratch.0, 100_000);
    // Copied then renamed: another test process may read it meanwhile.
    let partial = kept.with_extension(format!("{}.part", std::process::id()));
    if std::fs::copy(&file, &partial).is_ok() {
        let _ = std::fs::rename(&partial, &kept);
    }
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_rows_are_read_and_checked_in_the_browser() {
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let rows = 100_000;
    let written = Instant::now();
    let scratch = ScratchDir::new("large");
    let file = hundred_thousand_people(&scratch);
    let file_size = std::fs::metadata(&file).expect("the large file").len();
    println!(
        "wrote {rows} rows × 9 columns ({:.1} MB) in {:.1?}",
        file_size as f64 / 1e6,
        written.elapsed()
    );
    let app = BrowserApp::start().await;
    app.open_check_page().await;
    let served_after_load = app.requests.count();
    // Every value the progress bar takes, recorded as the page draws it.
    app.script(
        "window.progressSeen = []; \
         new MutationObserver(() => { \
           const p = document.querySelector('.progress-panel progress'); \
           if (p) window.progressSeen.push(Number(p.getAttribute('value'))); \
         }).observe(document.body, {subtree: true, childList: true, attributes: true});",
    )
    .await;

    // A person takes more than a second to pick a file once the page is
    // ready; by then the worker runs optimised code (docs/PERFORMANCE.md
    // gives the figures for a file chosen at once, too).
    tokio::time::sleep(Duration::from_secs(1)).await;
    app.choose_file(&file).await;
    let seen = app.wait_for_report().await;
    app.wait_for_text("#status", "100,000 rows checked, 100 with errors")
        .await;
    // The reading step moves the bar within its third (33–66 %), not only
    // from one step to the next.
    let progress = app.script("return window.progressSeen;").await;
    let within_read = progress
        .as_array()
        .expect("the progress values")
        .iter()
        .filter_map(|v| v.as_f64())
        .filter(|v| *v > 33.0 && *v < 66.0)
        .count();
    assert!(within_read >= 3, "progress bar values: {progress}");
    println!("the progress bar moved {within_read} times while reading");
    let timings = app
        .script(
            "const d = document.querySelector('#check-summary').dataset; \
             return [Number(d.readMs), Number(d.checkMs), Number(d.totalMs)];",
        )
        .await;
    let ms = |i: usize| timings[i].as_f64().expect("the page's own timing");
    let first = (ms(0), ms(1), ms(2));
    let rows_shown = app.grid_rows().await;
    assert_eq!(rows_shown.len(), 50, "one page of rows");
    assert_eq!(rows_shown[0], 2);
    app.screenshot("7-hundred-thousand-rows").await;

    // The pager and the filter move through all of them.
    app.click("#pager-next").await;
    app.wait_for_text("#pager-text", "51–100 of 100,000 rows")
        .await;
    assert_eq!(app.wait_for_grid_rows(&[52]).await.len(), 50);
    app.click("#only-errors").await;
    app.wait_for_text("#pager-text", "1–50 of 100 rows with errors")
        .await;
    app.wait_for_grid_rows(&[1001, 2001]).await;
    app.click("#pager-next").await;
    let last_page = app.wait_for_grid_rows(&[51001]).await;
    assert_eq!(last_page.last(), Some(&100_001));
    assert!(
        app.text("#row-grid tr[data-row='100001']")
            .await
            .contains("Email: Please enter a valid email address")
    );

    // The same file again: what every file after the first takes.
    app.script(
        "document.querySelector('#check-summary').dataset.replaced = 'yes'; \
         document.querySelector('#file-input').value = '';",
    )
    .await;
    app.choose_file(&file).await;
    let next = app.wait_for_report_replacing("replaced").await;
    app.wait_for_text("#status", "100,000 rows checked, 100 with errors")
        .await;
    assert_eq!(
        app.requests.count(),
        served_after_load,
        "{:?}",
        app.requests.paths()
    );

    // One email corrected, and the corrected file of all 100,000 rows made
    // in the worker and saved.
    if app
        .script("return document.querySelector('#only-errors').checked;")
        .await
        != true
    {
        app.click("#only-errors").await;
    }
    app.wait_for_grid_rows(&[1001]).await;
    app.correct_cell(1001, "email", "fixed@example.org").await;
    app.wait_for_text("#status", "100,000 rows checked, 99 with errors")
        .await;
    let asked = Instant::now();
    app.click("#download-corrected").await;
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    let bytes = app
        .wait_for_download(&format!("{stem}-corrected.xlsx"))
        .await;
    let saved_in = asked.elapsed();
    let table = roster_shared::read_table(&bytes, None, &Default::default())
        .expect("the corrected file reads back");
    assert_eq!(table.rows.len(), rows);
    assert_eq!(
        table.rows[999].cells[3].header_text(),
        "fixed@example.org",
        "row 1001's email, corrected"
    );
    app.finish().await;

    println!(
        "{rows} rows × 9 columns in the browser, first file: read {:.2} s + check {:.2} s in \
         the worker; {:.2} s from choosing the file to the report (page's timing), {:.2} s \
         until it was on screen (driver's timing)",
        first.0 / 1000.0,
        first.1 / 1000.0,
        first.2 / 1000.0,
        seen.as_secs_f64()
    );
    println!(
        "the next file: read {:.2} s + check {:.2} s; {:.2} s to the report",
        next[0] / 1000.0,
        next[1] / 1000.0,
        next[2] / 1000.0
    );
    println!(
        "the corrected file: {:.1} MB, saved {:.2?} after asking",
        bytes.len() as f64 / 1e6,
        saved_in
    );
    for entry in std::fs::read_dir(dist_dir()).expect("dist/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let bytes = std::fs::read(&path).expect("a .wasm file");
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            std::io::Write::write_all(&mut gz, &bytes).expect("gzip");
            let gzipped = gz.finish().expect("gzip").len();
            println!(
                "{}: {:.0} KiB, {:.0} KiB gzipped",
                path.file_name().unwrap_or_default().to_string_lossy(),
                bytes.len() as f64 / 1024.0,
                gzipped as f64 / 1024.0
            );
        }
    }
}

/// A worker that keeps a request waiting without a word for longer than the
/// page's limit is stopped, and the page says so. The limit is a minute; the
/// page address sets it to 5 ms here, which reading 100,000 rows passes
/// for sure (the shared strings take tens of ms without a progress report).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_reader_is_stopped_and_the_page_says_so() {
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let scratch = ScratchDir::new("silent");
    let file = hundred_thousand_people(&scratch);
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let app = BrowserApp::start().await;
    app.open_check_page_at("/check?silence-limit-ms=5").await;

    app.choose_file(&file).await;
    app.wait_for_text(
        "#status",
        &format!("Could not check {name}: the reader did not answer in time and was stopped."),
    )
    .await;
    app.assert_no_report().await;
    app.screenshot("8-reader-silent").await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_stops_the_reader_leaves_the_page_working() {
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let scratch = ScratchDir::new("trap");
    // calamine panics on this .xls (natively caught: shared/tests); in wasm
    // a panic aborts, which kills the worker.
    let damaged = scratch.0.join("damaged.xls");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/tests/fuzz-regressions/xls-short-record.xls"
        ),
        &damaged,
    )
    .expect("copy the damaged .xls");
    let good = files::people_with_errors(&scratch.0);
    let app = BrowserApp::start().await;
    app.open_check_page().await;

    app.choose_file(&damaged).await;
    app.wait_for_text(
        "#status",
        "Could not check damaged.xls: the reader stopped unexpectedly. \
         Other files can still be checked.",
    )
    .await;
    app.screenshot("8-reader-stopped").await;

    // A fresh worker takes the next file, without a reload.
    app.choose_file(&good).await;
    app.wait_for_text(
        "#status",
        "people.xlsx: 5 rows checked, 4 with errors (5 errors).",
    )
    .await;
    assert_eq!(app.grid_rows().await.len(), 5);
    app.finish().await;
}

/// Passwords in the grid are masked (a fixed length, not theirs) until
/// "Show passwords", which works from the keyboard; a wrong one is
/// corrected in a password box; the corrected file holds the real values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_masked_in_the_grid_but_kept_in_the_corrected_file() {
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let scratch = ScratchDir::new("passwords");
    let file = files::people_with_passwords(&scratch.0);
    let app = BrowserApp::start().await;
    app.open_check_page().await;
    app.choose_file(&file).await;
    app.wait_for_report().await;
    app.wait_for_text(
        "#status",
        "passwords.csv: 3 rows checked, 1 with errors (1 error).",
    )
    .await;
    assert_eq!(app.marked_cells().await, ["row 3: password_too_short"]);

    // Nowhere in the page: not as text, not in an attribute.
    let page = app.page_html().await;
    for (row, password) in files::PASSWORDS {
        assert!(!page.contains(password), "row {row}'s password is shown");
        let text = app.text(&format!("#row-grid tr[data-row='{row}']")).await;
        assert!(
            text.contains("••••••••"),
            "row {row} shows a mask: {text:?}"
        );
    }
    // Row 4 has no password: nothing to mask.
    assert!(!app.text("#row-grid tr[data-row='4']").await.contains('•'));
    app.screenshot("passwords-1-masked").await;

    // Shown and hidden again from the keyboard.
    app.press_space_on("#show-passwords").await;
    for (row, password) in files::PASSWORDS {
        app.wait_for_text(&format!("#row-grid tr[data-row='{row}']"), password)
            .await;
    }
    app.screenshot("passwords-2-shown").await;
    app.press_space_on("#show-passwords").await;
    app.wait_for_text("#row-grid tr[data-row='2']", "••••••••")
        .await;
    assert!(!app.page_html().await.contains(files::PASSWORDS[0].1));

    // Corrected in a password box, then saved in the corrected file as
    // typed.
    app.click("#edit-3-password").await;
    assert_eq!(
        app.script("return document.querySelector('#input-3-password').type;")
            .await,
        "password"
    );
    app.type_into("#input-3-password", ESCAPE).await;
    app.correct_cell(3, "password", "a-longer-password-now")
        .await;
    app.wait_for_text("#status", "passwords.csv: 3 rows checked, no errors.")
        .await;
    assert!(!app.page_html().await.contains("a-longer-password-now"));
    app.click("#download-corrected").await;
    let bytes = app.wait_for_download("passwords-corrected.csv").await;
    let table = roster_shared::read_table(
        &bytes,
        Some("passwords-corrected.csv"),
        &roster_shared::ReadOptions::default(),
    )
    .expect("the corrected file reads back");
    let passwords: Vec<String> = table
        .rows
        .iter()
        .map(|r| r.cells.get(5).map(|c| c.header_text()).unwrap_or_default())
        .collect();
    assert_eq!(
        passwords,
        [files::PASSWORDS[0].1, "a-longer-password-now", ""]
    );
    app.finish().await;
}
