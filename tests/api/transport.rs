//! The connection and what travels with every answer: slow clients are cut
//! off (request heads, bodies, whole requests), the security headers, and
//! the SQLite file's mode and journal (issue 13, items 5 and 12).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Kind, ok_json, spawn_app, spawn_app_with};

/// A request head without its end: the server waits for the rest.
const HALF_A_HEAD: &[u8] = b"GET /api/me HTTP/1.1\r\nHost: roster\r\nAccept: ";

/// Opens a connection to the test server at `address` (`http://…`).
async fn connect(address: &str) -> TcpStream {
    TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .expect("connect to the test server")
}

/// Reads until the server closes the connection, for at most `wait`:
/// how long that took and what the server sent, or `None` if the
/// connection was still open.
async fn wait_for_close(stream: &mut TcpStream, wait: Duration) -> Option<(Duration, String)> {
    let start = Instant::now();
    let mut received = Vec::new();
    let closed = tokio::time::timeout(wait, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    closed.ok().map(|()| {
        (
            start.elapsed(),
            String::from_utf8_lossy(&received).into_owned(),
        )
    })
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_at_the_header_timeout() {
    let app = spawn_app_with(Kind::Sqlite, |c| {
        c.timeouts.header = Duration::from_secs(2);
    })
    .await;
    let mut stream = connect(&app.address).await;
    stream.write_all(HALF_A_HEAD).await.expect("send");
    let (took, _) = wait_for_close(&mut stream, Duration::from_secs(30))
        .await
        .expect("the server closes a connection whose head never ends");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "closed after {took:?}, with a 2 s header timeout"
    );
    // An idle connection that sends nothing at all is closed too.
    let mut idle = connect(&app.address).await;
    assert!(
        wait_for_close(&mut idle, Duration::from_secs(30))
            .await
            .is_some(),
        "an idle connection is closed"
    );
    // The server still answers whole requests.
    let me = app.client().get("/api/me").await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_within_40_seconds_by_default() {
    let app = spawn_app(Kind::Sqlite).await;
    let mut stream = connect(&app.address).await;
    stream.write_all(HALF_A_HEAD).await.expect("send");
    let closed = wait_for_close(&mut stream, Duration::from_secs(40)).await;
    assert!(
        closed.is_some(),
        "a connection that sent half a request head is still open after 40 s"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_stalled_body_ends_the_request() {
    let app = spawn_app_with(Kind::Sqlite, |c| {
        c.timeouts.body_idle = Duration::from_secs(2);
    })
    .await;
    let mut stream = connect(&app.address).await;
    stream
        .write_all(
            b"POST /api/login HTTP/1.1\r\nHost: roster\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .expect("send");
    let (took, answer) = wait_for_close(&mut stream, Duration::from_secs(30))
        .await
        .expect("the server ends a request whose body stalls");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "ended after {took:?}, with a 2 s body timeout"
    );
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("\"code\":\"timeout\""),
        "a 408 in the JSON error shape: {answer}"
    );
    app.finish().await;
}

crate::on_both_databases!(a_stalled_upload_gets_408_in_the_error_shape);

/// Try Import's multipart upload whose client stops sending mid-file: 408
/// `timeout` in the API's error shape, as a stalled JSON body gets.
async fn a_stalled_upload_gets_408_in_the_error_shape(kind: Kind) {
    let app = spawn_app_with(kind, |c| {
        c.timeouts.body_idle = Duration::from_secs(2);
    })
    .await;
    // A session for the raw client: its cookie and CSRF token.
    let login = reqwest::Client::new()
        .post(format!("{}/api/login", app.address))
        .json(&json!({"username": "admin", "password": crate::helpers::ADMIN_PASSWORD}))
        .send()
        .await
        .expect("sign in");
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .expect("ASCII")
        .split(';')
        .next()
        .expect("the cookie")
        .to_string();
    let csrf = ok_json(login, StatusCode::OK).await["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_string();
    let boundary = "roster-boundary";
    let part = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nFirst Name,Last Name\r\nAnna,"
    );
    let head = format!(
        "POST /api/imports HTTP/1.1\r\nHost: roster\r\nCookie: {cookie}\r\n\
         X-CSRF-Token: {csrf}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: 100000\r\n\r\n{part}"
    );
    let mut stream = connect(&app.address).await;
    stream.write_all(head.as_bytes()).await.expect("send");
    let (took, answer) = wait_for_close(&mut stream, Duration::from_secs(30))
        .await
        .expect("the server ends an upload that stalls");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "ended after {took:?}, with a 2 s body timeout"
    );
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("\"code\":\"timeout\""),
        "a 408 in the JSON error shape: {answer}"
    );
    assert!(answer.contains("the upload stalled"), "{answer}");
    app.finish().await;
}

#[tokio::test]
async fn a_request_trickled_past_the_request_timeout_gets_408() {
    let app = spawn_app_with(Kind::Sqlite, |c| {
        c.timeouts.request = Duration::from_secs(2);
    })
    .await;
    let stream = connect(&app.address).await;
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(
            b"POST /api/login HTTP/1.1\r\nHost: roster\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n",
        )
        .await
        .expect("send the head");
    // A byte every 200 ms: never a pause long enough for the body timeout.
    let trickle = tokio::spawn(async move {
        for _ in 0..1000 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let start = Instant::now();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), reader.read(&mut answer))
        .await
        .expect("an answer before the body ends")
        .expect("read");
    let took = start.elapsed();
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("\"code\":\"timeout\""),
        "408 in the JSON error shape: {answer}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "answered after {took:?}, with a 2 s request timeout"
    );
    app.finish().await;
}

/// The directive `name` of a Content-Security-Policy, without its name.
fn directive<'a>(policy: &'a str, name: &str) -> Option<&'a str> {
    policy.split(';').map(str::trim).find_map(|d| {
        d.strip_prefix(name)
            .filter(|rest| rest.starts_with(' '))
            .map(str::trim)
    })
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_hsts_only_over_https() {
    let dir = std::env::temp_dir().join(format!("roster_test_headers_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("make the dir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Roster</title>",
    )
    .expect("index");
    let static_dir = dir.clone();
    let app = spawn_app_with(Kind::Sqlite, move |c| c.static_dir = Some(static_dir)).await;
    let client = app.client();
    for path in ["/", "/users/12", "/api/me", "/api/nothing"] {
        for https in [false, true] {
            let mut request = client.http.get(format!("{}{path}", client.base));
            if https {
                request = request.header("X-Forwarded-Proto", "https");
            }
            let response = request.send().await.expect("send");
            let headers = response.headers();
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            let policy = header("content-security-policy");
            assert_eq!(
                directive(&policy, "script-src"),
                Some("'self' 'wasm-unsafe-eval'"),
                "{path}: no inline script, wasm allowed: {policy:?}"
            );
            assert_eq!(directive(&policy, "default-src"), Some("'self'"), "{path}");
            assert_eq!(
                directive(&policy, "frame-ancestors"),
                Some("'none'"),
                "{path}"
            );
            assert_eq!(directive(&policy, "object-src"), Some("'none'"), "{path}");
            assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
            let hsts = header("strict-transport-security");
            if https {
                let max_age: u64 = hsts
                    .strip_prefix("max-age=")
                    .and_then(|v| v.split(';').next())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                assert!(max_age >= 180 * 86_400, "{path}: HSTS over https: {hsts:?}");
            } else {
                assert_eq!(hsts, "", "{path}: no HSTS over plain HTTP");
            }
        }
    }
    app.finish().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[tokio::test]
async fn a_fresh_sqlite_database_is_private_and_in_wal_mode() {
    use sqlx::Connection;
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app(Kind::Sqlite).await;
    // A write, so that the -wal and -shm files exist.
    app.admin().await;
    let path = app
        .database_url
        .strip_prefix("sqlite://")
        .expect("a SQLite URL")
        .to_string();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is {:o}", mode & 0o777);
    }
    // A plain connection (not Roster's, which would set the mode itself)
    // reads the mode kept in the file.
    let mut conn = sqlx::sqlite::SqliteConnection::connect(&app.database_url)
        .await
        .expect("open the database");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("journal mode");
    assert_eq!(mode, "wal");
    let _ = conn.close().await;
    app.finish().await;
}

#[tokio::test]
async fn an_import_commit_longer_than_the_request_timeout_is_not_cut() {
    let app = spawn_app_with(Kind::Sqlite, |c| {
        c.timeouts.request = Duration::from_secs(1);
        // Passwords hashed at the real cost make the commit long (the test
        // policy's cheap hashes took 0.16 s for 1,000 rows).
        c.password = roster_server::PasswordPolicy::default();
    })
    .await;
    let admin = app.admin().await;
    let rows: Vec<Value> = (0..400)
        .map(|i| {
            json!({
                "row": i + 2, "first_name": "Long", "last_name": "Commit",
                "username": format!("long{i}"), "email": format!("long{i}@example.com"),
                "user_id": format!("LC{i}"), "password": format!("password-{i}"),
            })
        })
        .collect();
    let id = admin.preview_rows(Value::Array(rows)).await["id"]
        .as_i64()
        .expect("a preview id");
    let start = Instant::now();
    let committed = admin
        .post(
            &format!("/api/imports/{id}/commit"),
            json!({"skip_errors": false}),
        )
        .await;
    let took = start.elapsed();
    let result = ok_json(committed, StatusCode::OK).await;
    assert_eq!(result["created"], 400, "{result}");
    assert!(
        took > Duration::from_secs(1),
        "the commit took {took:?}: too short to show that the 1 s request timeout spares it"
    );
    app.finish().await;
}
