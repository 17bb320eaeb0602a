//! `GET /api/users?q=&page=`: case- and accent-insensitive, paged.

use serde_json::{Value, json};

use crate::helpers::{Kind, TestClient, spawn_app};
use crate::on_both_databases;

on_both_databases!(search_ignores_case_and_accents_and_pages);

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
