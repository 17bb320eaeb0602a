//! The real `roster` binary: `roster serve` on a fresh database, the first
//! start's generated password, and `roster admin set-password`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Kind, TestDb};
use crate::on_both_databases;

on_both_databases!(roster_serve_starts_bootstraps_and_obeys_set_password);

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn sign_in(base: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

async fn roster_serve_starts_bootstraps_and_obeys_set_password(kind: Kind) {
    let bin = roster_tests::roster_bin();
    let (db, url) = TestDb::create(kind).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--static-dir", "/nonexistent/roster-dist"])
        .env("DATABASE_URL", &url)
        .env_remove("ROSTER_ADMIN_PASSWORD")
        // Else on PostgreSQL a key file is made in the working directory.
        .env("ROSTER_SECRET_KEY", crate::helpers::SECRET_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start roster serve");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    // The first line on stdout names the generated password, once.
    let password = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).ok();
        line.rsplit(": ")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    })
    .await
    .expect("read stdout");
    assert_eq!(
        password.chars().count(),
        20,
        "a generated password: {password:?}"
    );

    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        status = sign_in(&base, &password).await;
        if status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "sign in with the printed password");
    // The web app's directory is missing: only the API is served.
    let page = reqwest::get(format!("{base}/users")).await.expect("get");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);

    // A locked-out administrator: the password is reset from the command line.
    let output = set_password(bin, &url, "Admin", "a-fresh-password");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(sign_in(&base, &password).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&base, "a-fresh-password").await, StatusCode::OK);

    let missing = set_password(bin, &url, "ghost", "a-fresh-password");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no user"));
    let short = set_password(bin, &url, "admin", "short");
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    // Issue 13.13: nor a common one.
    let common = set_password(bin, &url, "admin", "password123");
    assert_eq!(common.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&common.stderr).contains("too common"));
    assert_eq!(sign_in(&base, "a-fresh-password").await, StatusCode::OK);

    drop(server);
    drop(db);
}

/// `roster admin set-password USERNAME` with the password on stdin.
fn set_password(bin: &std::path::Path, url: &str, username: &str, password: &str) -> Output {
    let mut child = Command::new(bin)
        .args(["admin", "set-password", username])
        .env("DATABASE_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start roster admin");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .expect("write the password");
    }
    child.wait_with_output().expect("roster admin runs")
}
