//! The users pages against the REAL server: `roster serve` (the binary)
//! on a fresh SQLite file, serving dist/ and the API. Sign-in, search with
//! and without accents, delete to the trash can, restore, sign-out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use roster_tests::{Launch, RealServer};

use crate::helpers::{BrowserApp, ENTER, ESCAPE, SELECT_ALL, STEP_TIMEOUT, dist_dir};

pub(crate) const ADMIN_PASSWORD: &str = "a-long-admin-password";
const CLERK_PASSWORD: &str = "a-long-clerk-password";

/// `roster serve` ([`RealServer`]) on a SQLite file of its own, serving
/// dist/ and the API.
pub(crate) struct RosterServer {
    server: RealServer,
    pub(crate) addr: SocketAddr,
}

impl RosterServer {
    pub(crate) async fn start() -> RosterServer {
        let dist = dist_dir();
        let server = RealServer::launch(Launch {
            static_dir: Some(&dist),
            env: &[("ROSTER_ADMIN_PASSWORD", Some(ADMIN_PASSWORD))],
            ..Launch::default()
        })
        .await;
        let addr = server.address().parse().expect("an address");
        RosterServer { server, addr }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}

/// The test's own API client: a cookie jar and the CSRF token.
pub(crate) struct Api<'a> {
    server: &'a RosterServer,
    http: reqwest::Client,
    csrf: String,
}

impl<'a> Api<'a> {
    pub(crate) async fn sign_in(server: &'a RosterServer) -> Api<'a> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("a client");
        let session: Value = http
            .post(server.url("/api/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("sign in")
            .error_for_status()
            .expect("admin signs in")
            .json()
            .await
            .expect("JSON");
        let csrf = session["csrf_token"].as_str().expect("a token").to_string();
        Api { server, http, csrf }
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        self.http
            .get(self.server.url(path))
            .send()
            .await
            .expect("GET")
            .error_for_status()
            .expect("GET succeeds")
            .json()
            .await
            .expect("JSON")
    }

    /// The status of a GET whose answer may be an error.
    pub(crate) async fn get_status(&self, path: &str) -> u16 {
        self.http
            .get(self.server.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .status()
            .as_u16()
    }

    /// The Administrator role's id and the root node's.
    pub(crate) async fn role_and_root(&self) -> (i64, i64) {
        let roles = self.get("/api/roles").await;
        let role = roles["roles"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == "Administrator"))
            .and_then(|r| r["id"].as_i64())
            .expect("the Administrator role");
        let nodes = self.get("/api/hierarchy").await;
        let root = nodes["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["parent_id"].is_null()))
            .and_then(|n| n["id"].as_i64())
            .expect("a root node");
        (role, root)
    }

    /// POSTs `body`; the answer's status and JSON (`null` if none).
    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.server.url(path))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// PUTs `body`; the answer's status and JSON (`null` if none).
    pub(crate) async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .put(self.server.url(path))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// DELETEs `path`; the answer's status.
    pub(crate) async fn delete(&self, path: &str) -> u16 {
        self.http
            .delete(self.server.url(path))
            .header("X-CSRF-Token", &self.csrf)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
            .status()
            .as_u16()
    }

    pub(crate) async fn create_role(&self, name: &str, permissions: &[&str]) -> i64 {
        let response = self
            .http
            .post(self.server.url("/api/roles"))
            .header("X-CSRF-Token", &self.csrf)
            .json(&json!({"name": name, "permissions": permissions}))
            .send()
            .await
            .expect("POST /api/roles");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 201, "create a role: {text}");
        let created: Value = serde_json::from_str(&text).expect("JSON");
        created["id"].as_i64().expect("an id")
    }

    pub(crate) async fn create_user(&self, (role, root): (i64, i64), fields: Value) -> i64 {
        let mut body = fields;
        body["role_id"] = json!(role);
        body["hierarchy_ids"] = json!([root]);
        let response = self
            .http
            .post(self.server.url("/api/users"))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("POST /api/users");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 201, "create a user: {text}");
        let created: Value = serde_json::from_str(&text).expect("JSON");
        created["id"].as_i64().expect("an id")
    }
}

/// Fails sign-in `n` times for `username` so that the next try is refused.
async fn fail_sign_in(server: &RosterServer, username: &str, n: usize) {
    let http = reqwest::Client::new();
    for _ in 0..n {
        let status = http
            .post(server.url("/api/login"))
            .json(&json!({"username": username, "password": "not-the-password"}))
            .send()
            .await
            .expect("sign in")
            .status();
        assert_eq!(status.as_u16(), 401);
    }
}

impl BrowserApp {
    /// Signs in as admin on the sign-in page, once the app has loaded,
    /// and waits for the users page it leads to.
    pub(crate) async fn sign_in_as_admin(&self, server: &RosterServer) {
        self.client
            .goto(&server.url("/sign-in"))
            .await
            .expect("open /sign-in");
        self.wait_for_text("main h1", "Sign in").await;
        self.type_into("#username", "admin").await;
        self.type_into("#password", &format!("{ADMIN_PASSWORD}{ENTER}"))
            .await;
        self.wait_for_path("/users").await;
    }

    pub(crate) async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let url = self.client.current_url().await.expect("the URL");
            if url.path() == path {
                return;
            }
            assert!(Instant::now() < deadline, "never reached {path}; at {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The top bar's links, in order.
    pub(crate) async fn nav_links(&self) -> Vec<String> {
        let links = self
            .script(
                "return [...document.querySelectorAll('.topbar a')].map(a => a.textContent.trim());",
            )
            .await;
        links
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The usernames listed in a table, top to bottom.
    async fn listed(&self, table: &str) -> Vec<String> {
        let script = format!(
            "return [...document.querySelectorAll('{table} tbody tr')].map(r => r.dataset.username);"
        );
        let names = self.script(&script).await;
        names
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn search_users(&self, query: &str) {
        self.type_into("#search", &format!("{SELECT_ALL}{query}{ENTER}"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_signs_in_searches_deletes_and_restores() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let placed = api.role_and_root().await;
    let zoe = api
        .create_user(
            placed,
            json!({
                "first_name": "Zoë", "last_name": "Müller", "username": "zmuller",
                "email": "zoe@example.com", "user_id": "1001",
            }),
        )
        .await;
    api.create_user(
        placed,
        json!({
            "first_name": "Anna", "last_name": "Smith", "username": "asmith",
            "email": "anna@example.com", "user_id": "1002",
        }),
    )
    .await;
    // 50 more, sorted after them (last name Zulu): with the clerk below,
    // 54 users, two pages.
    for n in 1..=50 {
        api.create_user(
            placed,
            json!({
                "first_name": format!("Member {n:02}"), "last_name": "Zulu",
                "username": format!("zulu{n:02}"), "email": format!("zulu{n:02}@example.com"),
                "user_id": format!("{}", 2000 + n),
            }),
        )
        .await;
    }
    // A clerk who may only restore users.
    let clerk_role = api.create_role("Trash clerk", &["restore_users"]).await;
    api.create_user(
        (clerk_role, placed.1),
        json!({
            "first_name": "Carl", "last_name": "Clerk", "username": "clerk",
            "email": "clerk@example.com", "user_id": "3001", "password": CLERK_PASSWORD,
        }),
    )
    .await;
    fail_sign_in(&server, "ghost", 5).await;

    let app = BrowserApp::start_at(server.addr).await;

    // Signed out, the users page sends to the sign-in page; the top bar
    // offers no users pages.
    app.client
        .goto(&server.url("/users"))
        .await
        .expect("open /users");
    app.wait_for_path("/sign-in").await;
    app.wait_for_text(".topbar", "Sign in").await;
    assert_eq!(app.nav_links().await, ["Roster", "Check a file", "Sign in"]);
    app.screenshot("admin-1-sign-in").await;

    // A wrong password, then too many attempts: said in text, with an icon.
    app.type_into("#username", "admin").await;
    app.type_into("#password", &format!("wrong-password{ENTER}"))
        .await;
    app.wait_for_text("#sign-in-error", "The username or password is not right")
        .await;
    assert_eq!(
        app.script("return !!document.querySelector('#sign-in-error svg.icon-error');")
            .await,
        true
    );
    assert_eq!(
        app.script("return document.querySelector('#password').value;")
            .await,
        "",
        "the password is cleared"
    );
    app.screenshot("admin-2-wrong-password").await;
    app.type_into("#username", &format!("{SELECT_ALL}ghost"))
        .await;
    app.type_into("#password", &format!("anything-at-all{ENTER}"))
        .await;
    app.wait_for_text(
        "#sign-in-error",
        "Too many failed sign-ins. Try again in 15 minutes.",
    )
    .await;
    app.screenshot("admin-3-too-many-attempts").await;

    // The right password, from the keyboard: the users page, and the top
    // bar shows what the Administrator role allows.
    app.type_into("#username", &format!("{SELECT_ALL}admin"))
        .await;
    app.type_into("#password", &format!("{ADMIN_PASSWORD}{ENTER}"))
        .await;
    app.wait_for_path("/users").await;
    app.wait_for_text("#users-status", "54 users in all. Page 1 of 2.")
        .await;
    assert_eq!(
        app.nav_links().await,
        [
            "Roster",
            "Check a file",
            "Users",
            "Import users",
            "Import history",
            "Trash can",
            "Roles",
            "Hierarchy",
            "Regional settings"
        ]
    );
    assert!(
        app.text("#signed-in-as")
            .await
            .contains("admin (Administrator)")
    );
    let first_page = app.listed("#users-table").await;
    assert_eq!(first_page.len(), 50);
    assert_eq!(
        first_page[..5],
        ["admin", "clerk", "zmuller", "asmith", "zulu01"]
    );
    assert!(app.text("#users-table").await.contains("Administrator"));
    app.screenshot("admin-4-users").await;
    app.click(".pager button:last-child").await;
    app.wait_for_text("#users-status", "54 users in all. Page 2 of 2.")
        .await;
    assert_eq!(
        app.listed("#users-table").await,
        ["zulu47", "zulu48", "zulu49", "zulu50"]
    );
    app.wait_for_text(".pager-text", "Page 2 of 2").await;
    // At the last page "Next page" says so, and keeps the focus.
    assert_eq!(
        app.script(
            "const b = document.querySelector('.pager button:last-child'); \
             return [b.getAttribute('aria-disabled'), document.activeElement === b];"
        )
        .await,
        json!(["true", true])
    );
    app.screenshot("admin-4b-users-page-2").await;

    // Search ignores accents and case, both ways.
    app.search_users("muller").await;
    app.wait_for_text("#users-status", "1 user found for “muller”.")
        .await;
    assert_eq!(app.listed("#users-table").await, ["zmuller"]);
    app.screenshot("admin-5-search-muller").await;
    app.search_users("MÜLLER").await;
    app.wait_for_text("#users-status", "1 user found for “MÜLLER”.")
        .await;
    assert_eq!(app.listed("#users-table").await, ["zmuller"]);
    app.search_users("zoe").await;
    app.wait_for_text("#users-status", "1 user found for “zoe”.")
        .await;
    app.search_users("1002").await;
    app.wait_for_text("#users-status", "1 user found for “1002”.")
        .await;
    assert_eq!(app.listed("#users-table").await, ["asmith"]);
    app.search_users("nobody").await;
    app.wait_for_text("#users-status", "0 users found for “nobody”.")
        .await;
    app.wait_for_text("#users-table + p", "No users match.")
        .await;

    // Delete asks first; Escape keeps the user, focus back on the button.
    app.search_users("müller").await;
    app.wait_for_text("#users-status", "1 user found for “müller”.")
        .await;
    app.click(&format!("#delete-{zoe}")).await;
    app.wait_for_text("[role=alertdialog]", "Delete Zoë Müller?")
        .await;
    app.screenshot("admin-6-confirm-delete").await;
    app.wait_for_focus("confirm-delete").await;
    app.type_into("#confirm-delete", ESCAPE).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.text("[role=alertdialog]").await, "");
    app.wait_for_focus(&format!("delete-{zoe}")).await;
    // Confirmed with the keyboard.
    app.type_into(&format!("#delete-{zoe}"), ENTER).await;
    app.wait_for_text("[role=alertdialog]", "Delete Zoë Müller?")
        .await;
    app.type_into("#confirm-delete", ENTER).await;
    app.wait_for_text(
        "#users-status",
        "Moved Zoë Müller to the trash can. 0 users found for “müller”.",
    )
    .await;
    assert!(app.listed("#users-table").await.is_empty());
    app.screenshot("admin-7-deleted").await;

    // The trash can, reached from the top bar, shows her with 30 days left.
    app.click(".topbar a[href='/trash']").await;
    app.wait_for_text("#trash-status", "1 user in the trash can.")
        .await;
    assert_eq!(app.listed("#trash-table").await, ["zmuller"]);
    assert_eq!(app.text("#trash-table .days-left").await, "30 days");
    app.screenshot("admin-8-trash-can").await;

    // Restored: gone from the trash can, found again by search.
    app.click(&format!("#restore-{zoe}")).await;
    app.wait_for_text(
        "#trash-status",
        "Restored Zoë Müller. The trash can is empty.",
    )
    .await;
    app.screenshot("admin-9-restored").await;
    app.click(".topbar a[href='/users']").await;
    app.wait_for_text("#users-status", "54 users in all.").await;
    app.search_users("muller").await;
    app.wait_for_text("#users-status", "1 user found for “muller”.")
        .await;

    // Sign out: back to the sign-in page, and the users page is closed.
    app.click("#sign-out").await;
    app.wait_for_path("/sign-in").await;
    app.wait_for_text(".topbar", "Sign in").await;
    assert_eq!(app.nav_links().await, ["Roster", "Check a file", "Sign in"]);
    app.screenshot("admin-10-signed-out").await;
    app.client
        .goto(&server.url("/users"))
        .await
        .expect("open /users");
    app.wait_for_path("/sign-in").await;

    // A role that may only restore users: the top bar offers only the
    // trash can, and the users page is closed.
    app.wait_for_text(".topbar", "Sign in").await;
    app.type_into("#username", "clerk").await;
    app.type_into("#password", &format!("{CLERK_PASSWORD}{ENTER}"))
        .await;
    app.wait_for_path("/trash").await;
    app.wait_for_text("#trash-status", "The trash can is empty.")
        .await;
    assert_eq!(
        app.nav_links().await,
        ["Roster", "Check a file", "Trash can"]
    );
    assert!(
        app.text("#signed-in-as")
            .await
            .contains("clerk (Trash clerk)")
    );
    app.screenshot("admin-11-clerk-trash-only").await;
    app.client
        .goto(&server.url("/users"))
        .await
        .expect("open /users");
    app.wait_for_text("main h1", "Not available").await;
    assert_eq!(app.text("#users-table").await, "");

    app.finish().await;
    drop(server);
}

#[path = "admin_pages.rs"]
mod pages;
