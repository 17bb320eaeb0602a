//! What one Try Import may cost the real `roster serve` process: a body of
//! millions of tiny rows is refused while it is read, not after every row
//! is in memory, and few previews are built at once. Measured as the
//! process's peak resident memory (VmHWM), so the in-process server of the
//! other tests cannot stand in for it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Kind, TestDb};
use crate::import_fault::serve;

/// The import routes' body limit (64 MiB), nearly filled with 4 million rows.
const TINY_ROWS: u32 = 4_000_000;
/// Peak memory allowed for three such requests at once.
const PEAK_LIMIT_MIB: u64 = 800;

/// `{"rows": [{"row": 2}, {"row": 3}, …]}` of `n` rows, as bytes.
fn tiny_rows_body(n: u32) -> Vec<u8> {
    let mut body = String::with_capacity(64 * 1024 * 1024);
    body.push_str(r#"{"file_name":"tiny.csv","role_id":1,"hierarchy_id":1,"rows":["#);
    for i in 0..n {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r#"{"row":"#);
        body.push_str(&(i + 2).to_string());
        body.push('}');
    }
    body.push_str("]}");
    body.into_bytes()
}

#[tokio::test]
async fn millions_of_tiny_rows_are_refused_while_read() {
    let (db, url) = TestDb::create(Kind::Sqlite).await;
    let (server, admin) = serve(&url).await;
    let body = tiny_rows_body(TINY_ROWS);
    assert!(
        body.len() < 64 * 1024 * 1024,
        "the body fits the import routes' limit: {}",
        body.len()
    );
    let send = |body: Vec<u8>| {
        admin
            .http
            .post(format!("{}/api/imports", admin.base))
            .header("X-CSRF-Token", admin.csrf.clone().unwrap_or_default())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let (a, b, c) = tokio::join!(send(body.clone()), send(body.clone()), send(body));
    for response in [a, b, c] {
        let response = response.expect("the server answers");
        let status = response.status();
        let answer: Value = response.json().await.expect("a JSON error");
        assert!(
            [
                StatusCode::PAYLOAD_TOO_LARGE,
                StatusCode::UNPROCESSABLE_ENTITY
            ]
            .contains(&status),
            "{status}: {answer}"
        );
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(
                answer["error"]["message"], "rows: at most 250000 rows in one import",
                "{answer}"
            );
        }
    }
    let peak = server.memory_mib("VmHWM:");
    eprintln!("peak memory of roster serve: {peak} MiB");
    assert!(
        peak < PEAK_LIMIT_MIB,
        "roster serve peaked at {peak} MiB (limit {PEAK_LIMIT_MIB} MiB)"
    );
    drop(server);
    drop(db);
}
