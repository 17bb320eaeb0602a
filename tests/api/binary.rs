//! The real `roster` binary: `roster serve` on a fresh database, the first
//! start's generated password, and `roster admin set-password`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use roster_tests::{Launch, RealServer};

use crate::helpers::{Kind, TestDb};
use crate::on_both_databases;

on_both_databases!(roster_serve_starts_bootstraps_and_obeys_set_password);

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
    let mut server = RealServer::launch(Launch {
        database_url: Some(&url),
        env: &[("ROSTER_ADMIN_PASSWORD", None)],
        capture_stdout: true,
        ..Launch::default()
    })
    .await;
    let base = server.base.clone();
    // The first line on stdout names the generated password, once.
    let line = server.stdout_line().await;
    let password = line.rsplit(": ").next().unwrap_or_default().trim();
    assert_eq!(
        password.chars().count(),
        20,
        "a generated password: {password:?}"
    );

    // It answers already: signing in is no longer a race with its start.
    assert_eq!(
        sign_in(&base, password).await,
        StatusCode::OK,
        "sign in with the printed password"
    );
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
    assert_eq!(sign_in(&base, password).await, StatusCode::UNAUTHORIZED);
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
