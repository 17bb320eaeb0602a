//! `GET /api/users?q=&page=`: case- and accent-insensitive, paged.

use roster_server::search;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestClient, spawn_app, spawn_app_with};
use crate::on_both_databases;

on_both_databases!(
    search_ignores_case_and_accents_and_pages,
    a_broad_search_is_counted_to_a_cap_and_listed_in_order,
);

async fn usernames(client: &TestClient, query: &str) -> (Vec<String>, i64) {
    let page: Value = client.get_ok(&format!("/api/users?{query}")).await;
    let names = page["users"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u["username"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (names, page["total"].as_i64().unwrap_or(-1))
}

async fn search_ignores_case_and_accents_and_pages(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    for (first, last, username, email, user_id) in [
        (
            "Jürgen",
            "Müller",
            "jmuller",
            "j.mueller@example.com",
            "A-100",
        ),
        ("Zoë", "Ångström", "zoe", "zoe@example.org", "A-200"),
        ("Anna", "van der Berg", "annab", "anna@example.com", "B-300"),
        ("Łukasz", "Straße", "lukas", "l@example.com", "C-400"),
    ] {
        admin
            .create_user(
                json!({"first_name": first, "last_name": last, "username": username,
                "email": email, "user_id": user_id}),
            )
            .await;
    }
    let cases = [
        ("q=muller", vec!["jmuller"]),
        ("q=M%C3%9CLL", vec!["jmuller"]),
        ("q=jurgen%20mul", vec!["jmuller"]),
        ("q=angstrom", vec!["zoe"]),
        ("q=ZOE", vec!["zoe"]),
        ("q=berg", vec!["annab"]),
        ("q=van%20der", vec!["annab"]),
        ("q=lukasz", vec!["lukas"]),
        ("q=strasse", vec!["lukas"]),
        ("q=j.mueller%40", vec!["jmuller"]),
        ("q=example%20org", vec!["zoe"]),
        ("q=a-2", vec!["zoe"]),
        ("q=b-300", vec!["annab"]),
        ("q=nobody", vec![]),
        ("q=muller%20zoe", vec![]),
    ];
    for (query, want) in cases {
        let (got, total) = usernames(&admin, query).await;
        assert_eq!(got, want, "{query}");
        assert_eq!(total, want.len() as i64, "{query}");
    }

    // Listed by last name, then first name, accent-free; paged.
    let (all, total) = usernames(&admin, "q=").await;
    assert_eq!(total, 5);
    assert_eq!(all, ["admin", "zoe", "jmuller", "lukas", "annab"]);
    let (page2, total) = usernames(&admin, "per_page=2&page=2").await;
    assert_eq!(
        (page2, total),
        (vec!["jmuller".to_string(), "lukas".to_string()], 5)
    );
    let (page9, _) = usernames(&admin, "per_page=2&page=9").await;
    assert!(page9.is_empty());
    for bad in ["page=0", "per_page=0", "per_page=500", "page=x"] {
        let response = admin.get(&format!("/api/users?{bad}")).await;
        assert!(response.status().is_client_error(), "{bad}");
    }

    // Users in the trash can are not found.
    let zoe = admin.get_ok("/api/users?q=zoe").await["users"][0]["id"]
        .as_i64()
        .expect("id");
    admin.delete(&format!("/api/users/{zoe}")).await;
    assert_eq!(usernames(&admin, "q=zoe").await.1, 0);
    app.finish().await;
}

/// What the server must answer for `q`, worked out here from every user's
/// fields with the search rules: the matching ids in listing order.
async fn expected(db: &sqlx::AnyPool, q: &str) -> Vec<i64> {
    let rows: Vec<(i64, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, first_name, last_name, username, email, user_id FROM users \
         WHERE deleted_at IS NULL",
    )
    .fetch_all(db)
    .await
    .expect("read the users");
    let words = search::query_words(q);
    let mut found: Vec<(String, i64)> = rows
        .into_iter()
        .filter(|(_, first, last, username, email, user_id)| {
            let terms = search::terms(&[first, last, username, email, user_id]);
            words
                .iter()
                .all(|w| terms.iter().any(|t| t.starts_with(w.as_str())))
        })
        .map(|(id, first, last, username, ..)| (search::sort_key(&first, &last, &username), id))
        .collect();
    found.sort();
    found.into_iter().map(|(_, id)| id).collect()
}

fn ids(page: &Value) -> Vec<i64> {
    page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_i64().expect("id"))
        .collect()
}

/// 25,000 seeded users: every email is `…@schoolN.example.com`, so `sch`
/// matches them all (and `Schröder`), from 99 terms; `1` begins every user
/// ID (25,000 terms). Counting stops at 10,000 ("at least"); the pages
/// read without sorting every match are the pages a full sort gives.
async fn a_broad_search_is_counted_to_a_cap_and_listed_in_order(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let role = admin.administrator_role().await;
    let root = admin.root_node().await;
    let db = app.database().await;
    crate::scale::seed(&db, 25_000, role, root).await;
    // A few users in the trash can, among the first in listing order: the
    // server must neither count nor list them (`expected` leaves them out).
    let first: Vec<i64> = expected(&db, "sch").await.into_iter().take(3).collect();
    for id in &first {
        admin.delete(&format!("/api/users/{id}")).await;
    }

    for (q, lower_bound) in [
        ("sch", true),
        ("SCHRÖ", false),
        ("1", true),
        ("u0001", false),
    ] {
        let all = expected(&db, q).await;
        assert!(!all.is_empty(), "{q}");
        for (page, per_page) in [(1, 50), (3, 200), (49, 200), (60, 200)] {
            let got = checked_page(&admin, q, &all, page, per_page).await;
            // "At least 10,000", or the exact count (a deep page of a broad
            // search is sorted and counted in full, as every narrow one).
            if got["total_is_lower_bound"] == true {
                assert!(lower_bound && all.len() >= 10_000, "{q} page {page}");
                assert_eq!(got["total"], 10_000, "{q} page {page}");
            } else {
                assert_eq!(got["total_is_lower_bound"], false, "{q} page {page}");
                assert_eq!(got["total"], all.len() as i64, "{q} page {page}");
                assert!(!lower_bound || page > 1, "{q}: page 1 counted in full");
            }
        }
    }

    // Several words where one's range is too large to read whole (every
    // seeded email holds `example` and `com`; `sch` begins 98 terms,
    // `school1` 11, `1` every user ID): the page is found by seeking
    // through the words' terms in listing order, and counted exactly only
    // if the seeking ends
    // within its bound (`example anna kowa`: 97 users; `anna noah
    // example`: none, a first name each), else "at least" what it found
    // (`anna example`: 1,562 users, more steps than a first page may
    // take). A deeper page may seek further; one past what the bounded
    // seeking finds is sorted and counted in full.
    for (q, seeks_to_the_end) in [
        ("example com", false),
        ("sch example", false),
        ("sch anna", false),
        ("1 example", false),
        ("1 sch", false),
        ("school1 example", false),
        ("anna example", false),
        ("example anna kowa", true),
        ("anna noah example", true),
        ("noah example anna", true),
    ] {
        let all = expected(&db, q).await;
        for (page, per_page) in [(1, 50), (3, 200), (49, 200), (200, 200)] {
            let got = checked_page(&admin, q, &all, page, per_page).await;
            let end = (page * per_page).min(all.len());
            let total = got["total"].as_i64().expect("total");
            if got["total_is_lower_bound"] == true {
                // At least the pages up to this one, never more than match.
                assert!(!seeks_to_the_end, "{q} page {page}: counted to its end");
                assert!(
                    total >= end as i64 && end == page * per_page,
                    "{q} page {page}"
                );
                assert!(total <= (all.len() as i64).min(10_000), "{q} page {page}");
            } else {
                assert_eq!(total, all.len() as i64, "{q} page {page}");
            }
            // Page 1 is not found by counting all that match: the count
            // stops short of them.
            if page == 1 && !seeks_to_the_end {
                assert_eq!(got["total_is_lower_bound"], true, "{q}: counted in full");
            }
        }
    }

    // Without a query: the listing's count stops at the cap too.
    let listed = admin.get_ok("/api/users?per_page=200&page=2").await;
    assert_eq!(
        (&listed["total"], &listed["total_is_lower_bound"]),
        (&json!(10_000), &json!(true))
    );
    assert_eq!(ids(&listed), expected(&db, "").await[200..400]);
    // The trash can is counted exactly while small.
    let trash = admin.get_ok("/api/trash?q=sch").await;
    assert_eq!(
        (&trash["total"], &trash["total_is_lower_bound"]),
        (&json!(3), &json!(false))
    );
    db.close().await;
    app.finish().await;
}

/// Page `page` of the search for `q`, checked against `all`, its matches
/// in listing order.
async fn checked_page(
    admin: &TestClient,
    q: &str,
    all: &[i64],
    page: usize,
    per_page: usize,
) -> Value {
    let got = admin
        .get_ok(&format!(
            "/api/users?q={}&page={page}&per_page={per_page}",
            urlencode(q)
        ))
        .await;
    let start = ((page - 1) * per_page).min(all.len());
    let end = (start + per_page).min(all.len());
    assert_eq!(ids(&got), all[start..end], "{q} page {page} of {per_page}");
    got
}

/// Percent-encodes every byte but ASCII letters and digits.
fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A search held up longer than `--search-timeout-secs` (here by a lock on
/// the terms' table, taken by another connection) is stopped by
/// PostgreSQL's `statement_timeout` and answers 503 with a message and
/// `Retry-After`, not 500, and does not keep the connection: the next
/// search, once the lock is gone, is answered.
#[tokio::test]
async fn a_search_past_its_time_limit_answers_503_postgres() {
    let app = crate::helpers::spawn_app_with(Kind::Postgres, |config| {
        config.search_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let admin = app.admin().await;
    let db = app.database().await;
    let mut lock = db.begin().await.expect("begin");
    sqlx::query("LOCK TABLE user_search_terms IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock the terms");
    let started = std::time::Instant::now();
    let response = admin.get("/api/users?q=adm").await;
    let waited = started.elapsed();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "busy");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("took longer than 1 s"), "{message}");
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    lock.rollback().await.expect("unlock");
    let (names, total) = usernames(&admin, "q=adm").await;
    assert_eq!((names, total), (vec!["admin".to_string()], 1));
    db.close().await;
    app.finish().await;
}

/// SQLite has no statement timeout, and a statement sqlx has begun on it
/// runs on when its request is dropped. Six clients that each give up on
/// a broad search after 50 ms, one after another, must not start more
/// statements than the turns (half the pool: 2 of 4 connections), so a
/// user page still finds a connection at once instead of waiting behind
/// the abandoned searches.
#[tokio::test]
async fn dropped_searches_on_sqlite_keep_their_turns_until_their_statements_end() {
    use std::time::{Duration, Instant};

    let app = spawn_app_with(Kind::Sqlite, |config| {
        config.search_timeout = Duration::from_secs(120);
    })
    .await;
    let admin = app.admin().await;
    let (role, root) = (admin.administrator_role().await, admin.root_node().await);
    let db = app.database().await;
    crate::scale::seed(&db, 40_000, role, root).await;
    db.close().await;
    let me = admin.get_ok("/api/me").await;
    let page = format!("/api/users/{}", me["user"]["id"]);
    // Six broad words, each found in every user, and a page deeper than
    // their bounded seeking reaches: every match of each intersected,
    // sorted and counted.
    let query = "/api/users?q=u0%201%20school%20example%20com%20u00&page=400";
    let broad = format!("{}{query}", admin.base);
    let started = Instant::now();
    let found = admin.get_ok(query).await;
    assert_eq!(found["total"], 40_000, "{found}");
    let alone = started.elapsed();
    // Long enough that a page waiting behind it is told from one that does
    // not (the bound below is a third of it); 0.65 s on an idle machine.
    assert!(
        alone > Duration::from_millis(300),
        "the broad search takes long enough to see: {alone:?}"
    );
    for _ in 0..6 {
        let gave_up = admin
            .http
            .get(&broad)
            .timeout(Duration::from_millis(50))
            .send()
            .await;
        assert!(gave_up.is_err(), "the client gave up");
    }
    let started = Instant::now();
    admin.get_ok(&page).await;
    let waited = started.elapsed();
    assert!(
        waited < alone / 3,
        "a user page waited {waited:?} behind abandoned searches (one takes {alone:?})"
    );
    app.finish().await;
}
