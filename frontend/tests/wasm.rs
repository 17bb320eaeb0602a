//! The page's own logic in headless Chromium (wasm-bindgen-test): the check
//! session the worker keeps, the remembered mapping in real `localStorage`,
//! the worker messages and the number formats. The whole page is tested in
//! tests/browser.
#![cfg(target_arch = "wasm32")]

use roster_frontend::check_session::{CheckSession, corrected_name};
use roster_frontend::components::format;
use roster_frontend::protocol::{FromWorker, PageRequest, ToWorker, columns_of, mapping_from};
use roster_frontend::remembered_mapping;
use roster_shared::{ErrorCode, Field, Mapping, ReadOptions, read_table};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const CSV: &str = "First Name,Last Name,Username,Email,User ID,Notes\n\
                   Ada,Lovelace,ada,ada@example.org ,1,a\n\
                   Alan,Turing,alan turing,alan@example.org,2,\n\
                   Grace,Hopper,grace,grace@example.org,2,c\n";

fn session() -> CheckSession {
    let table = read_table(CSV.as_bytes(), Some("team.csv"), &ReadOptions::default())
        .expect("a readable CSV");
    CheckSession::new("team.csv".to_string(), table)
}

fn codes(session: &mut CheckSession) -> Vec<(u32, ErrorCode)> {
    let checked = session.check();
    checked
        .report
        .errors
        .iter()
        .map(|e| (e.row, e.code))
        .collect()
}

#[wasm_bindgen_test]
fn corrections_are_checked_again_with_every_rule() {
    let mut s = session();
    assert_eq!(
        codes(&mut s),
        [
            (2, ErrorCode::Untrimmed),
            (3, ErrorCode::SpacesNotAllowed),
            (3, ErrorCode::DuplicateInFile),
            (4, ErrorCode::DuplicateInFile),
        ]
    );
    // A correction in one row ends the duplicate in another.
    s.edit(4, Field::UserId, "3".to_string());
    s.edit(3, Field::Username, "alan.turing".to_string());
    assert_eq!(codes(&mut s), [(2, ErrorCode::Untrimmed)]);
    assert_eq!(s.trim_all(), 1);
    assert_eq!(codes(&mut s), []);
    assert_eq!(s.trim_all(), 0);
    assert_eq!(s.edited_cells(), 3);
}

#[wasm_bindgen_test]
fn the_corrected_file_keeps_every_column() {
    let mut s = session();
    s.edit(3, Field::Username, "alan.turing".to_string());
    s.check();
    let csv = s.export().expect("a CSV");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "First Name,Last Name,Username,Email,User ID,Notes",
            "Ada,Lovelace,ada,ada@example.org ,1,a",
            "Alan,Turing,alan.turing,alan@example.org,2,",
            "Grace,Hopper,grace,grace@example.org,2,c",
        ]
    );
    assert_eq!(corrected_name("team.csv"), "team-corrected.csv");
    assert_eq!(corrected_name("people"), "people-corrected.csv");
}

#[wasm_bindgen_test]
fn pages_of_rows_filter_and_stop_at_the_last_page() {
    let mut s = session();
    let checked = s.check();
    let all = checked.page(PageRequest::default());
    assert_eq!(all.total, 3);
    assert_eq!(
        all.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    let errors = checked.page(PageRequest {
        only_errors: true,
        start: 0,
    });
    assert_eq!(errors.total, 3);
    let past_the_end = checked.page(PageRequest {
        only_errors: false,
        start: 500,
    });
    assert_eq!(past_the_end.request.start, 0, "back to the last page");
    assert_eq!(past_the_end.rows.len(), 3);
}

#[wasm_bindgen_test]
fn a_mapping_is_remembered_for_the_same_headers_in_any_order() {
    let headers = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let first = headers(&["Mail", "Login", "Notes", "Given name"]);
    let mut mapping = Mapping::suggest(&first);
    mapping.set(Field::SyncKey, Some(2));
    remembered_mapping::save(&first, &mapping);

    let reordered = headers(&["Notes", "Given name", "Mail", "Login"]);
    let loaded = remembered_mapping::load(&reordered).expect("remembered");
    assert_eq!(loaded.get(Field::SyncKey), Some(0));
    assert_eq!(loaded.get(Field::Email), Some(2));
    assert_eq!(loaded.get(Field::Username), Some(3));
    assert_eq!(loaded.get(Field::FirstName), Some(1));
    assert!(remembered_mapping::load(&headers(&["Mail", "Login"])).is_none());
}

#[wasm_bindgen_test]
fn worker_messages_survive_the_trip() {
    let mapping = Mapping::suggest(&["Email".to_string(), "User ID".to_string()]);
    assert_eq!(mapping_from(&columns_of(&mapping)), mapping);
    let request = ToWorker::Check {
        job: 7,
        columns: columns_of(&mapping),
        page: PageRequest {
            only_errors: true,
            start: 50,
        },
    };
    let text = serde_json::to_string(&request).expect("JSON");
    assert_eq!(
        serde_json::from_str::<ToWorker>(&text).expect("back"),
        request
    );

    let mut s = session();
    let checked = s.check();
    let reply = FromWorker::Checked {
        job: 7,
        outcome: checked.outcome(0),
        page: checked.page(PageRequest::default()),
        check_ms: 1.5,
        trimmed: None,
    };
    let text = serde_json::to_string(&reply).expect("JSON");
    assert_eq!(
        serde_json::from_str::<FromWorker>(&text).expect("back"),
        reply
    );
}

#[wasm_bindgen_test]
fn numbers_read_as_an_administrator_reads_them() {
    assert_eq!(format::thousands(0), "0");
    assert_eq!(format::thousands(999), "999");
    assert_eq!(format::thousands(100_000), "100,000");
    assert_eq!(format::thousands(1_234_567), "1,234,567");
    assert_eq!(format::bytes(25.0 * 1024.0 * 1024.0), "25 MB");
    assert_eq!(format::bytes(4.5 * 1024.0 * 1024.0), "4.5 MB");
    assert_eq!(format::bytes(2048.0), "2 KB");
    assert_eq!(format::duration(35.2), "35 ms");
    assert_eq!(format::duration(2440.0), "2.4 s");
    assert_eq!(format::count(1, "row", "rows"), "1 row");
    assert_eq!(format::count(2, "row", "rows"), "2 rows");
}

#[wasm_bindgen_test]
fn reading_progress_fills_the_second_third_of_the_bar() {
    use roster_frontend::protocol::Stage;
    assert_eq!(Stage::Loading.percent(), 0);
    assert_eq!(Stage::Reading { percent: 0 }.percent(), 33);
    assert_eq!(Stage::Reading { percent: 50 }.percent(), 50);
    assert_eq!(Stage::Reading { percent: 250 }.percent(), 66);
    assert_eq!(Stage::Checking.percent(), 66);
    let reply = FromWorker::Progress {
        job: 3,
        stage: Stage::Reading { percent: 42 },
    };
    let text = serde_json::to_string(&reply).expect("JSON");
    assert_eq!(
        serde_json::from_str::<FromWorker>(&text).expect("back"),
        reply
    );
}
