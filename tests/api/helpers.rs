//! `spawn_app`: the real server, in-process on a random port, against a
//! freshly made database (a SQLite file or a uniquely named PostgreSQL
//! database), spoken to over HTTP with a cookie-keeping client.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use roster_server::{Clock, Config, Db, PasswordPolicy};
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use roster_tests::{ADMIN_PASSWORD, RealServer, SECRET_KEY};

/// Appended to a PostgreSQL URL: its connections' transactions default to
/// REPEATABLE READ (as a database or role can set them), for the tests
/// that a directory write reads after the lock whatever the default.
pub const REPEATABLE_READ_BY_DEFAULT: &str =
    "?options[default_transaction_isolation]=repeatable%5C%20read";

/// Memberships whose node or user is gone: none may be (they have no
/// foreign keys since migration 0012).
pub async fn orphan_memberships(db: &Db) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_memberships \
         WHERE node_id NOT IN (SELECT id FROM hierarchy_nodes) \
         OR user_pk NOT IN (SELECT id FROM users)",
    )
    .fetch_one(db)
    .await
    .expect("count the memberships without their node or user")
}

/// Every story runs on both databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Writes one `#[tokio::test]` per database for a story `async fn(Kind)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test]
            async fn sqlite() {
                super::$story($crate::helpers::Kind::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$story($crate::helpers::Kind::Postgres).await
            }
        }
    )+};
}

/// Where tests make and drop their PostgreSQL databases.
fn pg_admin_url() -> String {
    std::env::var("ROSTER_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{secs}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The database of one test, removed when dropped.
pub enum TestDb {
    Sqlite(PathBuf),
    Postgres { name: String },
}

impl TestDb {
    /// A fresh, empty database and its URL.
    pub async fn create(kind: Kind) -> (TestDb, String) {
        match kind {
            Kind::Sqlite => {
                let path = std::env::temp_dir().join(format!("roster_test_{}.db", unique_suffix()));
                let url = format!("sqlite://{}", path.display());
                (TestDb::Sqlite(path), url)
            }
            Kind::Postgres => {
                let admin = pg_admin_url();
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL must run for the API tests (see docs/SERVER.md)");
                drop_stale_databases(&mut conn).await;
                let name = format!("roster_test_{}", unique_suffix());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let _ = conn.close().await;
                let base = admin
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .expect("ROSTER_TEST_PG_URL has a database path");
                let url = format!("{base}/{name}");
                (TestDb::Postgres { name }, url)
            }
        }
    }
}

/// Removes the database also when a test panics: the SQLite files, or the
/// PostgreSQL database (from a thread of its own, as `Drop` cannot await).
impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite(path) => {
                // The key file `roster serve` makes beside it, if it did.
                for suffix in ["", "-wal", "-shm", ".secret-key"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            TestDb::Postgres { name } => {
                let name = name.clone();
                let _ = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async {
                        if let Ok(mut conn) = PgConnection::connect(&pg_admin_url()).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut conn)
                            .await;
                            let _ = conn.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Drops the databases of test runs that died more than two hours ago.
async fn drop_stale_databases(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'roster_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for name in names {
        let made: Option<u64> = name
            .strip_prefix("roster_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse().ok());
        if made.is_some_and(|made| made + 7200 < now) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A running server and its database.
pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub clock: Clock,
    config: Config,
    db: Option<TestDb>,
    server: Option<(oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>)>,
}

/// The cost of Argon2id in tests: the real parameters are checked by a unit
/// test; these keep a debug build's sign-ins fast.
fn test_password_policy() -> PasswordPolicy {
    PasswordPolicy {
        memory_kib: 64,
        passes: 1,
        ..PasswordPolicy::default()
    }
}

pub async fn spawn_app(kind: Kind) -> TestApp {
    spawn_app_with(kind, |_| {}).await
}

/// [`spawn_app`] with a changed configuration.
pub async fn spawn_app_with(kind: Kind, change: impl FnOnce(&mut Config)) -> TestApp {
    let (db, url) = TestDb::create(kind).await;
    let mut config = Config::new(url.clone());
    config.admin_password = Some(ADMIN_PASSWORD.to_string());
    config.password = test_password_policy();
    // Many tests run at once against one PostgreSQL (100 connections).
    config.max_db_connections = Some(4);
    // One key for the test's life, so a restart keeps it, as a deployment's.
    config.secret_key =
        Some(roster_server::secret::SecretKey::from_hex(SECRET_KEY).expect("a usable key"));
    change(&mut config);
    let mut app = TestApp {
        address: String::new(),
        database_url: url,
        clock: config.clock.clone(),
        config,
        db: Some(db),
        server: None,
    };
    app.start().await;
    app
}

impl TestApp {
    async fn start(&mut self) {
        let prepared = roster_server::prepare(self.config.clone())
            .await
            .expect("the server prepares its database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a random port");
        let port = listener.local_addr().expect("local address").port();
        self.address = format!("http://127.0.0.1:{port}");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(prepared.serve(listener, async {
            let _ = rx.await;
        }));
        self.server = Some((tx, handle));
    }

    async fn stop(&mut self) {
        if let Some((tx, handle)) = self.server.take() {
            let _ = tx.send(());
            let _ = handle.await;
        }
    }

    /// Stops the server and starts it again on the same database (and clock):
    /// what happens on start (the trash can's purge) happens again.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    /// Stops the server and drops its database.
    pub async fn finish(mut self) {
        self.stop().await;
        // Dropping the database removes it (see `impl Drop for TestDb`).
        drop(self.db.take());
    }

    /// A direct connection to the database, for assertions.
    pub async fn database(&self) -> Db {
        roster_server::db::connect_with(&self.database_url, Some(2))
            .await
            .expect("connect to the test database")
    }

    /// A client with its own cookie jar, not signed in.
    pub fn client(&self) -> TestClient {
        TestClient {
            base: self.address.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("build a client"),
            csrf: None,
        }
    }

    /// A client signed in as `admin`.
    pub async fn admin(&self) -> TestClient {
        self.signed_in("admin", ADMIN_PASSWORD).await
    }

    pub async fn signed_in(&self, username: &str, password: &str) -> TestClient {
        let mut client = self.client();
        let response = client.login(username, password).await;
        assert_eq!(response.status(), StatusCode::OK, "sign in as {username}");
        client
    }
}

/// A browser: a cookie jar and the CSRF token of its session.
pub struct TestClient {
    pub base: String,
    pub http: reqwest::Client,
    pub csrf: Option<String>,
}

impl TestClient {
    /// Signs in; on success keeps the CSRF token for later requests.
    pub async fn login(&mut self, username: &str, password: &str) -> reqwest::Response {
        let response = self
            .http
            .post(format!("{}/api/login", self.base))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("send the sign-in");
        if response.status() == StatusCode::OK {
            // Read the token from a clone of the body without consuming it:
            // ask /api/me, which returns the same token.
            let me: Value = self
                .http
                .get(format!("{}/api/me", self.base))
                .send()
                .await
                .expect("me")
                .json()
                .await
                .expect("me is JSON");
            self.csrf = me["csrf_token"].as_str().map(str::to_string);
        }
        response
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("send a request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.request(Method::DELETE, path, None).await
    }

    /// Try Import (`POST /api/imports`) of a JSON body.
    pub async fn try_import(&self, body: Value) -> reqwest::Response {
        self.post("/api/imports", body).await
    }

    /// Import (`POST /api/imports/{id}/commit`).
    pub async fn commit_import(&self, id: i64, skip_errors: bool) -> reqwest::Response {
        self.post(
            &format!("/api/imports/{id}/commit"),
            json!({"skip_errors": skip_errors}),
        )
        .await
    }

    /// Try Import of `rows` (Administrator role, root node), which must
    /// succeed; the preview.
    pub async fn preview_rows(&self, rows: Value) -> Value {
        let body = json!({
            "file_name": "users.xlsx",
            "role_id": self.administrator_role().await,
            "hierarchy_id": self.root_node().await,
            "rows": rows,
        });
        ok_json(self.try_import(body).await, StatusCode::CREATED).await
    }

    /// Try Import and Import of `rows` (as [`Self::preview_rows`]), both
    /// of which must succeed; the import's id.
    pub async fn import_rows(&self, rows: Value) -> i64 {
        let id = self.preview_rows(rows).await["id"]
            .as_i64()
            .expect("a preview id");
        ok_json(self.commit_import(id, false).await, StatusCode::OK).await;
        id
    }

    /// The undo of import `id`, previewed and committed, both of which must
    /// succeed; the commit's answer.
    pub async fn undo_import(&self, id: i64) -> Value {
        let path = format!("/api/imports/{id}/undo");
        let preview = ok_json(self.post(&path, json!({})).await, StatusCode::OK).await;
        let body = json!({"fingerprint": preview["fingerprint"]});
        ok_json(
            self.post(&format!("{path}/commit"), body).await,
            StatusCode::OK,
        )
        .await
    }

    /// GET that must answer 200; the JSON body.
    pub async fn get_ok(&self, path: &str) -> Value {
        ok_json(self.get(path).await, StatusCode::OK).await
    }

    /// Creates a user from `fields` over defaults; the JSON of the answer.
    pub async fn create_user(&self, fields: Value) -> Value {
        let body = user_body(fields, self).await;
        ok_json(self.post("/api/users", body).await, StatusCode::CREATED).await
    }

    /// The role named `name` (created with `permissions` if missing).
    pub async fn role(&self, name: &str, permissions: &[&str]) -> i64 {
        let response = self
            .post(
                "/api/roles",
                json!({"name": name, "permissions": permissions}),
            )
            .await;
        let role = ok_json(response, StatusCode::CREATED).await;
        role["id"].as_i64().expect("role id")
    }

    pub async fn root_node(&self) -> i64 {
        let nodes = self.get_ok("/api/hierarchy").await;
        nodes["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["parent_id"].is_null()))
            .and_then(|n| n["id"].as_i64())
            .expect("a root node")
    }

    pub async fn administrator_role(&self) -> i64 {
        let roles = self.get_ok("/api/roles").await;
        roles["roles"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == "Administrator"))
            .and_then(|r| r["id"].as_i64())
            .expect("the Administrator role")
    }
}

/// A full user body: `fields` over sensible defaults (a unique username and
/// user ID, the Administrator-less role given in `fields`, the root node).
pub async fn user_body(fields: Value, client: &TestClient) -> Value {
    let suffix = unique_suffix();
    let mut body = json!({
        "first_name": "Anna",
        "last_name": "Smith",
        "username": format!("user{suffix}"),
        "email": format!("user{suffix}@example.com"),
        "user_id": format!("id{suffix}"),
    });
    if fields.get("role_id").is_none() {
        body["role_id"] = json!(client.administrator_role().await);
    }
    if fields.get("hierarchy_ids").is_none() {
        body["hierarchy_ids"] = json!([client.root_node().await]);
    }
    if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
        for (k, v) in fields {
            body.insert(k.clone(), v.clone());
        }
    }
    body
}

/// Asserts the status and returns the JSON body.
pub async fn ok_json(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

/// Asserts an error answer: status, `{"error": {"code", "message"}}`, code.
pub async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) -> String {
    let body = ok_json(response, status).await;
    assert_eq!(body["error"]["code"], code, "error code in {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "an error has a message: {body}");
    message.to_string()
}

/// Polls `check` until it holds or ten seconds pass.
pub async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Starts the commit of `id` on `client` in a task of its own; its status.
pub fn commit_in_background(
    client: &TestClient,
    id: i64,
) -> tokio::task::JoinHandle<reqwest::Result<StatusCode>> {
    let http = client.http.clone();
    let url = format!("{}/api/imports/{id}/commit", client.base);
    let csrf = client.csrf.clone().unwrap_or_default();
    tokio::spawn(async move {
        http.post(url)
            .header("X-CSRF-Token", csrf)
            .json(&json!({"skip_errors": false}))
            .send()
            .await
            .map(|r| r.status())
    })
}

/// Clients of a [`RealServer`] (the process itself is `roster_tests`').
pub trait RealServerClients {
    /// A client signed in as `admin` that gives up on any answer after
    /// `timeout`: a request stuck in a loop then fails the test instead of
    /// stopping it.
    async fn admin(&self, timeout: Duration) -> TestClient;

    /// A client signed in as `username`, giving up after `timeout`.
    async fn signed_in(&self, username: &str, password: &str, timeout: Duration) -> TestClient;
}

impl RealServerClients for RealServer {
    async fn admin(&self, timeout: Duration) -> TestClient {
        self.signed_in("admin", ADMIN_PASSWORD, timeout).await
    }

    async fn signed_in(&self, username: &str, password: &str, timeout: Duration) -> TestClient {
        let mut client = TestClient {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .timeout(timeout)
                .build()
                .expect("build a client"),
            csrf: None,
        };
        let response = client.login(username, password).await;
        assert_eq!(response.status(), StatusCode::OK, "sign in as {username}");
        client
    }
}
