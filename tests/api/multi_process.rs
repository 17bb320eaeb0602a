//! Several `roster serve` processes on one PostgreSQL database, as a
//! university deploys them behind a load balancer (docs/DEPLOY.md): one
//! session sends each request to the next process in turn, so no step may
//! depend on which process answers it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, Kind, RealServer, TestClient, TestDb, ok_json};

/// A commit long enough to be seen running from another process.
const LARGE_IMPORT_ROWS: usize = 20_000;

/// One signed-in session spoken through every process in turn (cookies
/// ignore the port, so the browser's cookie goes to each).
struct RoundRobin {
    http: reqwest::Client,
    csrf: Option<String>,
    bases: Vec<String>,
    turn: usize,
}

impl RoundRobin {
    /// Signs in on the first process.
    async fn sign_in(bases: &[&RealServer], username: &str, password: &str) -> RoundRobin {
        let mut first = TestClient {
            base: bases[0].base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .timeout(Duration::from_secs(300))
                .build()
                .expect("build a client"),
            csrf: None,
        };
        let answer = first.login(username, password).await;
        assert_eq!(answer.status(), StatusCode::OK, "{username} signs in");
        RoundRobin {
            http: first.http,
            csrf: first.csrf,
            bases: bases.iter().map(|s| s.base.clone()).collect(),
            turn: 1,
        }
    }

    /// The client for the next process in turn.
    fn next(&mut self) -> TestClient {
        let base = self.bases[self.turn % self.bases.len()].clone();
        self.turn += 1;
        TestClient {
            base,
            http: self.http.clone(),
            csrf: self.csrf.clone(),
        }
    }

    /// Stops sending to a process that is gone, as a load balancer does.
    fn forget(&mut self, server: &RealServer) {
        self.bases.retain(|b| *b != server.base);
    }
}

async fn start_three(url: &str) -> [RealServer; 3] {
    // Started at once, with the same secret key (RealServer's): the
    // migrations and the first administrator must happen once however the
    // processes race.
    let (a, b, c) = tokio::join!(
        RealServer::start(url, &[]),
        RealServer::start(url, &[]),
        RealServer::start(url, &[]),
    );
    [a, b, c]
}

fn import_body(role_id: i64, hierarchy_id: i64, rows: Vec<Value>) -> Value {
    json!({"file_name": "users.xlsx", "role_id": role_id, "hierarchy_id": hierarchy_id, "rows": rows})
}

/// Try Import on the next process; the preview's id.
async fn try_import(admin: &mut RoundRobin, body: Value) -> i64 {
    let preview = ok_json(admin.next().try_import(body).await, StatusCode::CREATED).await;
    preview["id"].as_i64().expect("a preview id")
}

/// Try Import on the next process, Import on the one after; the result.
async fn try_and_import(admin: &mut RoundRobin, body: Value) -> Value {
    let id = try_import(admin, body).await;
    let commit = json!({"skip_errors": false});
    let answer = admin
        .next()
        .post(&format!("/api/imports/{id}/commit"), commit)
        .await;
    ok_json(answer, StatusCode::OK).await
}

#[tokio::test]
async fn three_processes_on_one_database_answer_as_one() {
    let (_db, url) = TestDb::create(Kind::Postgres).await;
    let [a, b, c] = start_three(&url).await;
    let mut admin = RoundRobin::sign_in(&[&a, &b, &c], "admin", ADMIN_PASSWORD).await;

    // The session made on A is known to B and C.
    for _ in 0..3 {
        let me = admin.next().get_ok("/api/me").await;
        assert_eq!(me["user"]["username"], "admin");
    }
    let role = admin.next().administrator_role().await;
    let root = admin.next().root_node().await;

    // Try Import with passwords on one process, Import on the next, the
    // users sign in on the third.
    let password = "Blue-harbour-kettle-41";
    let rows: Vec<Value> = (0..3)
        .map(|i| {
            json!({"row": i + 2, "first_name": "Multi", "last_name": format!("Process {i}"),
                "username": format!("multi{i}"), "email": format!("multi{i}@example.com"),
                "user_id": format!("MP-{i}"), "password": password})
        })
        .collect();
    let committed = try_and_import(&mut admin, import_body(role, root, rows)).await;
    assert_eq!(committed["created"], 3, "{committed}");
    for (i, server) in [&a, &b, &c].iter().enumerate() {
        let mut user = TestClient {
            base: server.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("a client"),
            csrf: None,
        };
        let answer = user.login(&format!("multi{i}"), password).await;
        assert_eq!(
            answer.status(),
            StatusCode::OK,
            "multi{i} signs in on a process that did not import them"
        );
    }

    // A large commit on one process, its progress polled on the others.
    let rows: Vec<Value> = (0..LARGE_IMPORT_ROWS)
        .map(|i| {
            json!({"row": i + 2, "first_name": "Large", "last_name": format!("Row {}", i % 97),
                "username": format!("large{i:06}"), "email": format!("large{i}@example.com"),
                "user_id": format!("L-{i}")})
        })
        .collect();
    let id = try_import(&mut admin, import_body(role, root, rows)).await;
    let committer = admin.next();
    let committing = tokio::spawn(async move {
        committer
            .post(
                &format!("/api/imports/{id}/commit"),
                json!({"skip_errors": false}),
            )
            .await
            .status()
    });
    let mut seen_running = 0;
    let mut state = Value::Null;
    for _ in 0..6_000 {
        let observer = admin.next();
        let import = observer.get_ok(&format!("/api/imports/{id}")).await;
        state = import["state"].clone();
        if state == "running" {
            assert_eq!(import["progress"]["total"], LARGE_IMPORT_ROWS, "{import}");
            seen_running += 1;
        }
        if state == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(committing.await.expect("the commit task"), StatusCode::OK);
    assert_eq!(state, "done");
    assert!(
        seen_running > 0,
        "the commit's progress was never seen from the other processes"
    );

    // Wrong passwords spread over the three processes stay within one
    // process's limit (5 an account).
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let base = [&a, &b, &c][i % 3].base.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{base}/api/login"))
                    .json(&json!({"username": "multi0", "password": format!("guess-{i}")}))
                    .send()
                    .await
                    .expect("send a guess")
                    .status()
            })
        })
        .collect();
    let mut wrong = 0;
    for guess in guesses {
        let status = guess.await.expect("a guess task");
        assert_ne!(status, StatusCode::OK);
        if status == StatusCode::UNAUTHORIZED {
            wrong += 1;
        }
    }
    assert!(
        wrong <= 5,
        "{wrong} guesses were checked: three processes allowed more than one"
    );

    // One process stops; the others carry on with the same session.
    let mut a = a;
    a.kill();
    admin.forget(&a);
    for _ in 0..4 {
        let page = admin.next().get_ok("/api/users?q=large00001").await;
        assert!(page["users"].as_array().is_some_and(|u| !u.is_empty()));
    }
    let rows = vec![json!({"row": 2, "first_name": "After", "last_name": "Stop",
        "username": "afterstop", "email": "afterstop@example.com", "user_id": "AS-1"})];
    let committed = try_and_import(&mut admin, import_body(role, root, rows)).await;
    assert_eq!(committed["created"], 1, "{committed}");
}
