//! The server's API over `fetch`: the session cookie goes with every request
//! (it is `HttpOnly`, so the page never sees it); the CSRF token that
//! `/api/login` and `/api/me` return is kept in memory only and sent in
//! `X-CSRF-Token` on every state-changing request. Request bodies are never
//! logged (one of them holds the password). The requests and answers are
//! the rules crate's wire types (`roster_shared::api`), the server's own.

use std::borrow::Cow;
use std::cell::RefCell;

use roster_shared::MappedRow;
use roster_shared::api::{
    CommitInput, CommitResult, ErrorBody, ImportDetail, ImportInput, ImportList, ImportOut,
    ImportPreview, LoginRequest, NodeInput, NodeList, NodeOut, PasswordChange, Permission,
    RegionalSettings, RoleInput, RoleList, RoleOut, SessionInfo, StalePreview, UserInput, UserOut,
    UserPage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

use roster_shared::api::undo::{StaleUndo, UndoCommit, UndoPreview, UndoResult};

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
    /// The answer's body as text (a 409 on commit carries a fresh preview).
    pub body: String,
}

impl ApiError {
    /// A request the page refuses to send, said as the server would say it
    /// (422): "Name: give the role a name".
    pub fn invalid(message: &str) -> ApiError {
        ApiError {
            status: 422,
            code: "invalid".into(),
            message: message.into(),
            retry_after: None,
            body: String::new(),
        }
    }

    /// One sentence for the page, without the trailing full stop. A 403
    /// says the server's own reason (which permission, which role), not a
    /// bare refusal.
    pub fn describe(&self) -> String {
        match self.status {
            0 => "The server could not be reached. Check your connection and try again".into(),
            401 => "Your session has ended. Sign in again".into(),
            403 if self.message.is_empty() => "You are not allowed to do this".into(),
            _ if self.message.is_empty() => format!("The server answered {}", self.status),
            _ => sentence(self.message.trim_end_matches('.')),
        }
    }
}

/// `text` with its first letter capitalised (the server's messages may
/// start in lower case: "your role lacks the permission …").
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn network_error(_: JsValue) -> ApiError {
    ApiError {
        status: 0,
        code: "network".into(),
        message: String::new(),
        retry_after: None,
        body: String::new(),
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
    Err(refusal(&response, text))
}

/// The error of a non-2xx `response` whose body was `text`.
fn refusal(response: &Response, text: String) -> ApiError {
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
    ApiError {
        status,
        code,
        message,
        retry_after,
        body: text,
    }
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
        body: String::new(),
    })
}

/// `body` as JSON (the wire types always serialise).
fn body(body: &impl Serialize) -> Option<String> {
    Some(serde_json::to_string(body).unwrap_or_default())
}

/// Keeps the session's CSRF token, and takes it out of what the pages see.
fn keep_token(mut session: SessionInfo) -> SessionInfo {
    set_csrf_token(Some(std::mem::take(&mut session.csrf_token)));
    session
}

/// Whether the signed-in user's role holds `permission`.
pub fn can(me: &SessionInfo, permission: Permission) -> bool {
    me.permissions.contains(&permission)
}

/// Signs in; keeps the session's CSRF token.
pub async fn login(username: &str, password: &str) -> Result<SessionInfo, ApiError> {
    let request = LoginRequest {
        username: username.to_string(),
        password: password.to_string(),
    };
    json("POST", "/api/login", body(&request))
        .await
        .map(keep_token)
}

/// Who is signed in (`None` without a session); keeps the CSRF token.
pub async fn me() -> Result<Option<SessionInfo>, ApiError> {
    match json("GET", "/api/me", None).await {
        Ok(session) => Ok(Some(keep_token(session))),
        Err(e) if e.status == 401 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Changes the signed-in user's own password (the current one is asked for;
/// the user's other sessions end). An administrator's PUT on oneself may not.
pub async fn change_own_password(current: &str, new: &str) -> Result<(), ApiError> {
    let change = PasswordChange {
        current_password: current.to_string(),
        new_password: new.to_string(),
    };
    send("POST", "/api/me/password", body(&change))
        .await
        .map(|_| ())
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

/// The export of the users `q` finds below `node` (the root when `None`):
/// the .xlsx as a `Blob` and its file name. The body is read as it
/// arrives, `progress` told the bytes received so far after each piece.
pub async fn export_users(
    q: &str,
    node: Option<i64>,
    progress: impl Fn(u64),
) -> Result<(String, web_sys::Blob), ApiError> {
    let mut path = format!("/api/users/export.xlsx?q={}", encode(q));
    if let Some(node) = node {
        path.push_str(&format!("&node={node}"));
    }
    let window = web_sys::window().ok_or_else(|| network_error(JsValue::NULL))?;
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_credentials(RequestCredentials::Include);
    let request = Request::new_with_str_and_init(&path, &init).map_err(network_error)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network_error)?
        .dyn_into()
        .map_err(network_error)?;
    if !response.ok() {
        let text = JsFuture::from(response.text().map_err(network_error)?)
            .await
            .map_err(network_error)?
            .as_string()
            .unwrap_or_default();
        return Err(refusal(&response, text));
    }
    let file_name = response
        .headers()
        .get("Content-Disposition")
        .ok()
        .flatten()
        .and_then(|d| {
            d.split_once("filename=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(name, _)| name.to_string())
        })
        .unwrap_or_else(|| "roster-users.xlsx".to_string());
    let body = response
        .body()
        .ok_or_else(|| network_error(JsValue::NULL))?;
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| network_error(JsValue::NULL))?;
    let pieces = js_sys::Array::new();
    let mut received: u64 = 0;
    loop {
        // A failure now is the body cut short (the connection dropped, or
        // the server stopped the export): no file rather than part of one.
        let result = JsFuture::from(reader.read()).await.map_err(|_| ApiError {
            status: 200,
            code: "interrupted".into(),
            message: "The export stopped before the whole file arrived; try again".into(),
            retry_after: None,
            body: String::new(),
        })?;
        let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))
            .map_err(network_error)?
            .is_truthy();
        if done {
            break;
        }
        let piece: js_sys::Uint8Array = js_sys::Reflect::get(&result, &JsValue::from_str("value"))
            .map_err(network_error)?
            .dyn_into()
            .map_err(network_error)?;
        received += u64::from(piece.length());
        pieces.push(&piece);
        progress(received);
    }
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&pieces, &options)
        .map_err(network_error)?;
    Ok((file_name, blob))
}

/// Groups of active users who may be one person (SPEC 4b).
pub async fn duplicates(
    page: u32,
) -> Result<roster_shared::api::duplicates::DuplicatePage, ApiError> {
    json("GET", &format!("/api/users/duplicates?page={page}"), None).await
}

pub async fn trash(page: u32) -> Result<UserPage, ApiError> {
    json("GET", &format!("/api/trash?page={page}"), None).await
}

pub async fn roles() -> Result<Vec<RoleOut>, ApiError> {
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

pub async fn restore_user(id: i64) -> Result<UserOut, ApiError> {
    json("POST", &format!("/api/trash/{id}/restore"), None).await
}

/// Every field of one user.
pub async fn user(id: i64) -> Result<UserOut, ApiError> {
    json("GET", &format!("/api/users/{id}"), None).await
}

/// Replaces every field of a user (and sets the password when given).
pub async fn update_user(id: i64, input: &UserInput) -> Result<UserOut, ApiError> {
    json("PUT", &format!("/api/users/{id}"), body(input)).await
}

pub async fn hierarchy() -> Result<Vec<NodeOut>, ApiError> {
    json::<NodeList>("GET", "/api/hierarchy", None)
        .await
        .map(|n| n.nodes)
}

/// Adds a node under `parent_id`.
pub async fn create_node(parent_id: i64, name: &str) -> Result<NodeOut, ApiError> {
    let input = NodeInput {
        parent_id: Some(parent_id),
        name: name.to_string(),
    };
    json("POST", "/api/hierarchy", body(&input)).await
}

/// Renames a node and, with a `parent_id`, moves it (and all below it).
pub async fn update_node(id: i64, parent_id: Option<i64>, name: &str) -> Result<NodeOut, ApiError> {
    let input = NodeInput {
        parent_id,
        name: name.to_string(),
    };
    json("PUT", &format!("/api/hierarchy/{id}"), body(&input)).await
}

/// Deletes a node; the server refuses one with children or members.
pub async fn delete_node(id: i64) -> Result<(), ApiError> {
    send("DELETE", &format!("/api/hierarchy/{id}"), None)
        .await
        .map(|_| ())
}

pub async fn regional_settings() -> Result<RegionalSettings, ApiError> {
    json("GET", "/api/settings/regional", None).await
}

pub async fn save_regional_settings(time_zone: &str) -> Result<RegionalSettings, ApiError> {
    let settings = RegionalSettings {
        time_zone: time_zone.to_string(),
    };
    json("PUT", "/api/settings/regional", body(&settings)).await
}

/// Try Import: the mapped, corrected rows as JSON (never the file).
pub async fn try_import(
    file_name: &str,
    role_id: i64,
    hierarchy_id: i64,
    rows: &[MappedRow],
) -> Result<ImportPreview, ApiError> {
    let input = ImportInput {
        file_name: file_name.to_string(),
        role_id,
        hierarchy_id,
        // Borrowed: the rows are not copied to be sent.
        rows: Cow::Borrowed(rows),
    };
    json("POST", "/api/imports", body(&input)).await
}

/// Import's outcome: done, or a stale preview replaced by a fresh one.
pub enum Commit {
    Done(CommitResult),
    Stale(Box<ImportPreview>),
}

pub async fn commit_import(id: i64, skip_errors: bool) -> Result<Commit, ApiError> {
    let input = CommitInput { skip_errors };
    match json("POST", &format!("/api/imports/{id}/commit"), body(&input)).await {
        Ok(result) => Ok(Commit::Done(result)),
        Err(e) if e.status == 409 => match serde_json::from_str::<StalePreview>(&e.body) {
            Ok(stale) => Ok(Commit::Stale(Box::new(stale.preview))),
            Err(_) => Err(e),
        },
        Err(e) => Err(e),
    }
}

pub async fn cancel_import(id: i64) -> Result<(), ApiError> {
    send("DELETE", &format!("/api/imports/{id}"), None)
        .await
        .map(|_| ())
}

/// Where an import is (its state and progress), without its changes.
pub async fn import_state(id: i64) -> Result<ImportOut, ApiError> {
    json::<ImportDetail>("GET", &format!("/api/imports/{id}"), None)
        .await
        .map(|detail| detail.import)
}

/// Creates a role (`None`) or replaces one's name and permissions.
pub async fn save_role(
    id: Option<i64>,
    name: &str,
    permissions: &[Permission],
) -> Result<RoleOut, ApiError> {
    let input = RoleInput {
        name: name.to_string(),
        permissions: permissions.to_vec(),
    };
    match id {
        None => json("POST", "/api/roles", body(&input)).await,
        Some(id) => json("PUT", &format!("/api/roles/{id}"), body(&input)).await,
    }
}

pub async fn delete_role(id: i64) -> Result<(), ApiError> {
    send("DELETE", &format!("/api/roles/{id}"), None)
        .await
        .map(|_| ())
}

pub async fn import_history(page: u32) -> Result<ImportList, ApiError> {
    json("GET", &format!("/api/imports?page={page}"), None).await
}

pub async fn import_detail(id: i64, page: u32) -> Result<ImportDetail, ApiError> {
    json("GET", &format!("/api/imports/{id}?page={page}"), None).await
}

/// The undo preview of import `id` (SPEC section 6b): what undoing it
/// would do to the directory as it is now.
pub async fn undo_preview(id: i64) -> Result<UndoPreview, ApiError> {
    json("POST", &format!("/api/imports/{id}/undo"), None).await
}

/// Undo's outcome: done, or refused because the directory changed since
/// the preview, with a fresh one.
pub enum UndoOutcome {
    Done(UndoResult),
    Stale(Box<UndoPreview>),
}

/// Undoes import `id` as its preview with `fingerprint` said.
pub async fn undo_commit(id: i64, fingerprint: &str) -> Result<UndoOutcome, ApiError> {
    let commit = UndoCommit {
        fingerprint: fingerprint.to_string(),
    };
    match json(
        "POST",
        &format!("/api/imports/{id}/undo/commit"),
        body(&commit),
    )
    .await
    {
        Ok(result) => Ok(UndoOutcome::Done(result)),
        // Only `stale_undo` brings a fresh preview; `already_undone` is
        // said as the server says it.
        Err(e) if e.status == 409 && e.code == "stale_undo" => {
            match serde_json::from_str::<StaleUndo>(&e.body) {
                Ok(stale) => Ok(UndoOutcome::Stale(Box::new(stale.preview))),
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}
