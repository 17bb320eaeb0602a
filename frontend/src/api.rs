//! The server's API over `fetch`: the session cookie goes with every request
//! (it is `HttpOnly`, so the page never sees it); the CSRF token that
//! `/api/login` and `/api/me` return is kept in memory only and sent in
//! `X-CSRF-Token` on every state-changing request. Request bodies are never
//! logged (one of them holds the password).

use std::cell::RefCell;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

thread_local! {
    static CSRF_TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn set_csrf_token(token: Option<String>) {
    CSRF_TOKEN.with(|t| *t.borrow_mut() = token);
}

/// A failed request: the HTTP status (0 when the server was not reached)
/// and the server's `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `Retry-After` in seconds, on 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// One sentence for the page, without the trailing full stop.
    pub fn describe(&self) -> String {
        match self.status {
            0 => "The server could not be reached. Check your connection and try again".into(),
            401 => "Your session has ended. Sign in again".into(),
            403 => "You are not allowed to do this".into(),
            _ if self.message.is_empty() => format!("The server answered {}", self.status),
            _ => self.message.trim_end_matches('.').to_string(),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    pub user_id: String,
    pub role_id: i64,
    #[serde(default)]
    pub deleted_at: Option<String>,
    #[serde(default)]
    pub purge_at: Option<String>,
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<String>,
}

/// Who is signed in: `/api/login` and `/api/me`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Me {
    pub user: User,
    pub role: Role,
    pub permissions: Vec<String>,
}

impl Me {
    pub fn can(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

#[derive(Deserialize)]
struct SessionBody {
    #[serde(flatten)]
    me: Me,
    csrf_token: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Deserialize)]
struct RoleList {
    roles: Vec<Role>,
}

#[derive(Serialize)]
struct Credentials<'a> {
    username: &'a str,
    password: &'a str,
}

fn network_error(_: JsValue) -> ApiError {
    ApiError {
        status: 0,
        code: "network".into(),
        message: String::new(),
        retry_after: None,
    }
}

/// Sends one request; the body of a 2xx answer as text.
async fn send(method: &str, path: &str, body: Option<String>) -> Result<String, ApiError> {
    let window = web_sys::window().ok_or_else(|| network_error(JsValue::NULL))?;
    let headers = Headers::new().map_err(network_error)?;
    headers
        .set("Accept", "application/json")
        .map_err(network_error)?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::Include);
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(network_error)?;
        init.set_body(&JsValue::from_str(&body));
    }
    if method != "GET"
        && let Some(token) = CSRF_TOKEN.with(|t| t.borrow().clone())
    {
        headers.set("X-CSRF-Token", &token).map_err(network_error)?;
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init).map_err(network_error)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network_error)?
        .dyn_into()
        .map_err(network_error)?;
    let text = JsFuture::from(response.text().map_err(network_error)?)
        .await
        .map_err(network_error)?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        return Ok(text);
    }
    let status = response.status();
    if status == 401 {
        set_csrf_token(None);
    }
    let retry_after = response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse().ok());
    let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => (body.error.code, body.error.message),
        Err(_) => (String::new(), String::new()),
    };
    Err(ApiError {
        status,
        code,
        message,
        retry_after,
    })
}

async fn json<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiError> {
    let text = send(method, path, body).await?;
    serde_json::from_str(&text).map_err(|e| ApiError {
        status: 200,
        code: "bad_answer".into(),
        message: format!("Unexpected answer from the server ({e})"),
        retry_after: None,
    })
}

/// Signs in; keeps the session's CSRF token.
pub async fn login(username: &str, password: &str) -> Result<Me, ApiError> {
    let body = serde_json::to_string(&Credentials { username, password }).unwrap_or_default();
    let session: SessionBody = json("POST", "/api/login", Some(body)).await?;
    set_csrf_token(Some(session.csrf_token));
    Ok(session.me)
}

/// Who is signed in (`None` without a session); keeps the CSRF token.
pub async fn me() -> Result<Option<Me>, ApiError> {
    match json::<SessionBody>("GET", "/api/me", None).await {
        Ok(session) => {
            set_csrf_token(Some(session.csrf_token));
            Ok(Some(session.me))
        }
        Err(e) if e.status == 401 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Signs out; forgets the CSRF token whatever the answer.
pub async fn logout() -> Result<(), ApiError> {
    let result = send("POST", "/api/logout", None).await.map(|_| ());
    set_csrf_token(None);
    match result {
        Err(e) if e.status == 401 => Ok(()),
        other => other,
    }
}

/// Encodes a query-string value.
fn encode(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

pub async fn users(q: &str, page: u32) -> Result<UserPage, ApiError> {
    json(
        "GET",
        &format!("/api/users?q={}&page={page}", encode(q)),
        None,
    )
    .await
}

pub async fn trash(page: u32) -> Result<UserPage, ApiError> {
    json("GET", &format!("/api/trash?page={page}"), None).await
}

pub async fn roles() -> Result<Vec<Role>, ApiError> {
    json::<RoleList>("GET", "/api/roles", None)
        .await
        .map(|r| r.roles)
}

/// Moves a user to the trash can.
pub async fn delete_user(id: i64) -> Result<(), ApiError> {
    send("DELETE", &format!("/api/users/{id}"), None)
        .await
        .map(|_| ())
}

pub async fn restore_user(id: i64) -> Result<User, ApiError> {
    json("POST", &format!("/api/trash/{id}/restore"), None).await
}
