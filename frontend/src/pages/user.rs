//! `/users/{id}`: one user, every field, edited in place (PUT replaces
//! every field; the server's messages are shown next to their field),
//! moved to the trash can, or given a new password by an administrator
//! (the user gets no email: tell them yourself).

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use serde::Deserialize;

use crate::api::{self, ApiError, Node, Role, UserDetail, UserInput};
use crate::components::{ConfirmDialog, DoneNotice, ErrorAlert, ErrorIcon, focus_element};
use crate::session::{RequirePermission, use_session};

#[component]
pub fn UserPage() -> impl IntoView {
    view! {
        <RequirePermission permission="manage_users">
            <UserEditor />
        </RequirePermission>
    }
}

/// The form's text fields: key (as the server names it in errors), label,
/// input type, autocomplete.
const TEXT_FIELDS: [(&str, &str, &str, &str); 7] = [
    ("first_name", "First name", "text", "off"),
    ("last_name", "Last name", "text", "off"),
    ("username", "Username", "text", "off"),
    ("email", "Email", "email", "off"),
    ("user_id", "User ID", "text", "off"),
    ("sync_key", "Sync key", "text", "off"),
    ("time_zone", "Time zone", "text", "off"),
];

fn field_value(input: &UserInput, key: &str) -> String {
    match key {
        "first_name" => input.first_name.clone(),
        "last_name" => input.last_name.clone(),
        "username" => input.username.clone(),
        "email" => input.email.clone(),
        "user_id" => input.user_id.clone(),
        "sync_key" => input.sync_key.clone().unwrap_or_default(),
        "time_zone" => input.time_zone.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn set_field(input: &mut UserInput, key: &str, value: String) {
    let optional = |v: String| (!v.trim().is_empty()).then_some(v);
    match key {
        "first_name" => input.first_name = value,
        "last_name" => input.last_name = value,
        "username" => input.username = value,
        "email" => input.email = value,
        "user_id" => input.user_id = value,
        "sync_key" => input.sync_key = optional(value),
        "time_zone" => input.time_zone = optional(value),
        _ => {}
    }
}

/// The server's field name as the form's: hierarchy and role problems
/// go next to their controls; anything else to the form.
fn form_field(field: &str) -> &str {
    match field {
        "hierarchy_id" | "hierarchy_ids" => "hierarchy",
        "role" => "role_id",
        other => other,
    }
}

/// An RFC 3339 UTC time as "2026-11-26 02:21 UTC".
fn when(time: &str) -> String {
    match (time.get(..10), time.get(11..16)) {
        (Some(day), Some(minute)) if time.ends_with('Z') => format!("{day} {minute} UTC"),
        _ => time.to_string(),
    }
}

#[derive(Deserialize)]
struct FieldProblem {
    field: String,
    message: String,
}

#[derive(Deserialize)]
struct ProblemDetail {
    #[serde(default)]
    details: Vec<FieldProblem>,
}

#[derive(Deserialize)]
struct ProblemBody {
    error: ProblemDetail,
}

/// Each field's problem in a 422 answer (`{"error": {"details": [...]}}`).
fn field_problems(e: &ApiError) -> Vec<FieldProblem> {
    serde_json::from_str::<ProblemBody>(&e.body)
        .map(|b| b.error.details)
        .unwrap_or_default()
}

#[component]
fn UserEditor() -> impl IntoView {
    let session = use_session();
    let params = use_params_map();
    let navigate = use_navigate();
    let id = move || {
        params
            .with_untracked(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
    };
    let user = RwSignal::new(None::<UserDetail>);
    let draft = RwSignal::new(None::<UserInput>);
    let roles = RwSignal::new(Vec::<Role>::new());
    let nodes = RwSignal::new(Vec::<Node>::new());
    let field_errors = RwSignal::new(HashMap::<String, String>::new());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let new_password = RwSignal::new(String::new());
    let current_password = RwSignal::new(String::new());
    let password_error = RwSignal::new(None::<String>);

    let fail = move |e: &ApiError| {
        session.heard(e);
        error.set(Some(e.describe()));
    };

    leptos::task::spawn_local(async move {
        let Some(id) = id() else {
            error.set(Some("There is no such user".into()));
            return;
        };
        match api::user(id).await {
            Ok(found) => {
                draft.set(Some(found.input()));
                user.set(Some(found));
            }
            Err(e) if e.status == 404 => error.set(Some("There is no such user".into())),
            Err(e) => fail(&e),
        }
        match api::roles().await {
            Ok(list) => roles.set(list),
            Err(e) => fail(&e),
        }
        match api::hierarchy().await {
            Ok(list) => nodes.set(list),
            Err(e) => fail(&e),
        }
    });

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(id), Some(input)) = (id(), draft.get_untracked()) else {
            return;
        };
        busy.set(true);
        saved.set(String::new());
        leptos::task::spawn_local(async move {
            let result = api::update_user(id, &input).await;
            busy.set(false);
            match result {
                Ok(updated) => {
                    field_errors.set(HashMap::new());
                    error.set(None);
                    saved.set(format!(
                        "Saved {} {}.",
                        updated.first_name, updated.last_name
                    ));
                    draft.set(Some(updated.input()));
                    user.set(Some(updated));
                }
                Err(e) => {
                    let mut by_field = HashMap::<String, String>::new();
                    for d in &field_problems(&e) {
                        let entry = by_field
                            .entry(form_field(&d.field).to_string())
                            .or_default();
                        if !entry.is_empty() {
                            entry.push(' ');
                        }
                        entry.push_str(&d.message);
                    }
                    let first = TEXT_FIELDS
                        .iter()
                        .map(|f| f.0)
                        .chain(["role_id", "hierarchy"])
                        .find(|k| by_field.contains_key(*k));
                    field_errors.set(by_field);
                    fail(&e);
                    if let Some(first) = first {
                        focus_element(&format!("field-{first}"));
                    }
                }
            }
        });
    };

    let set_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(id), Some(current)) = (id(), user.get_untracked()) else {
            return;
        };
        let password = new_password.get_untracked();
        if password.is_empty() {
            password_error.set(Some("Type the new password first.".into()));
            focus_element("new-password");
            return;
        }
        // One's own password goes through /api/me/password, which asks for
        // the current one (the server refuses a PUT on oneself that sets it).
        let own = session.me.with_untracked(|m| m.as_ref().map(|m| m.user.id)) == Some(id);
        let current_text = current_password.get_untracked();
        if own && current_text.is_empty() {
            password_error.set(Some("Type your current password first.".into()));
            focus_element("current-password");
            return;
        }
        let mut input = current.input();
        input.password = Some(password.clone());
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = if own {
                api::change_own_password(&current_text, &password)
                    .await
                    .map(|()| None)
            } else {
                api::update_user(id, &input).await.map(Some)
            };
            busy.set(false);
            new_password.set(String::new());
            current_password.set(String::new());
            match result {
                Ok(updated) => {
                    password_error.set(None);
                    match updated {
                        Some(updated) => {
                            saved.set(format!(
                                "The password of {} is set and their sessions have ended. They get no email: tell them yourself.",
                                updated.username
                            ));
                            user.set(Some(updated));
                        }
                        None => saved.set(
                            "Your password is changed; your other sessions have ended.".into(),
                        ),
                    }
                }
                Err(e) => {
                    session.heard(&e);
                    let problems = field_problems(&e);
                    let wrong_current = problems.iter().any(|d| d.field == "current_password");
                    let message = problems
                        .into_iter()
                        .find(|d| {
                            matches!(
                                d.field.as_str(),
                                "password" | "new_password" | "current_password"
                            )
                        })
                        .map(|d| d.message)
                        .unwrap_or_else(|| format!("{}.", e.describe()));
                    password_error.set(Some(message));
                    focus_element(if wrong_current {
                        "current-password"
                    } else {
                        "new-password"
                    });
                }
            }
        });
    };

    let navigate = StoredValue::new_local(navigate);
    let delete = move || {
        let Some(id) = id() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::delete_user(id).await {
                Ok(()) => navigate.with_value(|go| go("/users", Default::default())),
                Err(e) => {
                    busy.set(false);
                    confirming.set(false);
                    fail(&e);
                }
            }
        });
    };

    let is_me = move || {
        let me = session.me.with(|m| m.as_ref().map(|m| m.user.id));
        me.is_some() && me == id()
    };
    let title = move || {
        user.with(|u| {
            u.as_ref()
                .map(|u| {
                    format!("{} {}", u.first_name, u.last_name)
                        .trim()
                        .to_string()
                })
                .unwrap_or_else(|| "User".into())
        })
    };
    let field_error = move |key: &'static str| {
        move || {
            field_errors.with(|f| f.get(key).cloned()).map(|message| {
                view! {
                    <p id=format!("field-{key}-error") class="field-error with-icon">
                        <ErrorIcon />
                        <span>{message}</span>
                    </p>
                }
            })
        }
    };
    let invalid = move |key: &'static str| {
        move || field_errors.with(|f| f.contains_key(key)).then_some("true")
    };

    view! {
        <div class="page-header">
            <p class="back-link">
                <A href="/users">"← All users"</A>
            </p>
            <h1 id="user-title">{title}</h1>
            <p class="lede">
                {move || {
                    user.with(|u| {
                        u.as_ref()
                            .map(|u| {
                                format!(
                                    "Created {} · changed {} · {}",
                                    when(&u.created_at),
                                    when(&u.updated_at),
                                    if u.has_password { "has a password" } else { "no password: cannot sign in" },
                                )
                            })
                    })
                }}
            </p>
        </div>
        <DoneNotice id="user-status" text=saved />
        <ErrorAlert id="user-error" error=error />
        <Show when=move || draft.with(Option::is_some)>
            <form id="user-form" class="card form user-form" on:submit=save novalidate=true aria-labelledby="user-title">
                <h2>"Details"</h2>
                {TEXT_FIELDS
                    .into_iter()
                    .map(|(key, label, kind, autocomplete)| {
                        let hint = match key {
                            "time_zone" => {
                                Some("An IANA name such as Europe/Paris (type to pick from the list); leave empty for the site's time zone.")
                            }
                            "sync_key" => Some("Optional."),
                            _ => None,
                        };
                        let hint_id = format!("field-{key}-hint");
                        let described = format!("field-{key}-error {hint_id}");
                        view! {
                            <div class="form-row">
                                <label for=format!("field-{key}")>{label}</label>
                                <input
                                    id=format!("field-{key}")
                                    name=key
                                    type=kind
                                    list=(key == "time_zone").then_some("time-zone-names")
                                    autocomplete=autocomplete
                                    spellcheck="false"
                                    aria-invalid=invalid(key)
                                    aria-describedby=described
                                    prop:value=move || {
                                        draft.with(|d| d.as_ref().map(|d| field_value(d, key)).unwrap_or_default())
                                    }
                                    on:input=move |ev| {
                                        let value = event_target_value(&ev);
                                        draft.update(|d| {
                                            if let Some(d) = d {
                                                set_field(d, key, value);
                                            }
                                        });
                                    }
                                />
                                {hint.map(|h| view! { <p id=hint_id class="hint">{h}</p> })}
                                {field_error(key)}
                            </div>
                        }
                    })
                    .collect_view()}
                <div class="form-row">
                    <label for="field-special_needs">"Special needs"</label>
                    <select
                        id="field-special_needs"
                        on:change=move |ev| {
                            let value = match event_target_value(&ev).as_str() {
                                "yes" => Some(true),
                                "no" => Some(false),
                                _ => None,
                            };
                            draft.update(|d| {
                                if let Some(d) = d {
                                    d.special_needs = value;
                                }
                            });
                        }
                    >
                        {[("", "Not set", None), ("yes", "Yes", Some(true)), ("no", "No", Some(false))]
                            .into_iter()
                            .map(|(value, label, flag)| {
                                view! {
                                    <option
                                        value=value
                                        selected=move || draft.with(|d| d.as_ref().is_some_and(|d| d.special_needs == flag))
                                    >
                                        {label}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    {field_error("special_needs")}
                </div>
                <div class="form-row">
                    <label for="field-role_id">"Role"</label>
                    <select
                        id="field-role_id"
                        aria-invalid=invalid("role_id")
                        aria-describedby="field-role_id-error"
                        on:change=move |ev| {
                            if let Ok(role) = event_target_value(&ev).parse::<i64>() {
                                draft.update(|d| {
                                    if let Some(d) = d {
                                        d.role_id = role;
                                    }
                                });
                            }
                        }
                    >
                        <For each=move || roles.get() key=|r| r.id let:role>
                            <option
                                value=role.id.to_string()
                                selected=move || draft.with(|d| d.as_ref().is_some_and(|d| d.role_id == role.id))
                            >
                                {role.name.clone()}
                            </option>
                        </For>
                    </select>
                    {field_error("role_id")}
                </div>
                <fieldset
                    id="field-hierarchy"
                    class="form-row node-choices"
                    tabindex="-1"
                    aria-describedby="field-hierarchy-error"
                >
                    <legend>"Hierarchy memberships"</legend>
                    <p class="hint">"A user belongs to at least one node."</p>
                    <For each=move || nodes.get() key=|n| n.id let:node>
                        {
                            let node_id = node.id;
                            view! {
                                <label class="checkbox">
                                    <input
                                        type="checkbox"
                                        prop:checked=move || {
                                            draft.with(|d| d.as_ref().is_some_and(|d| d.hierarchy_ids.contains(&node_id)))
                                        }
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            draft.update(|d| {
                                                if let Some(d) = d {
                                                    d.hierarchy_ids.retain(|n| *n != node_id);
                                                    if on {
                                                        d.hierarchy_ids.push(node_id);
                                                    }
                                                }
                                            });
                                        }
                                    />
                                    <span>{node.path.clone()}</span>
                                </label>
                            }
                        }
                    </For>
                    {field_error("hierarchy")}
                </fieldset>
                <div class="form-actions">
                    <button id="save-user" type="submit" class="button primary" disabled=move || busy.get()>
                        "Save changes"
                    </button>
                </div>
                // The time zone box suggests the IANA names the server accepts.
                <datalist id="time-zone-names">
                    {roster_shared::time_zone_names()
                        .map(|name| view! { <option value=name></option> })
                        .collect_view()}
                </datalist>
            </form>
            <form id="password-form" class="card form" on:submit=set_password novalidate=true>
                <h2>{move || if is_me() { "Change your password" } else { "Set password" }}</h2>
                <p class="hint" id="new-password-hint">
                    {move || {
                        if is_me() {
                            "Your other sessions end; this one goes on."
                        } else {
                            "The user's sessions end. They get no email: tell them the new password yourself."
                        }
                    }}
                </p>
                <Show when=is_me>
                    <div class="form-row">
                        <label for="current-password">"Current password"</label>
                        <input
                            id="current-password"
                            type="password"
                            autocomplete="current-password"
                            aria-describedby="new-password-error"
                            prop:value=move || current_password.get()
                            on:input=move |ev| current_password.set(event_target_value(&ev))
                        />
                    </div>
                </Show>
                <div class="form-row">
                    <label for="new-password">"New password"</label>
                    <input
                        id="new-password"
                        type="password"
                        autocomplete="new-password"
                        aria-invalid=move || password_error.with(Option::is_some).then_some("true")
                        aria-describedby="new-password-hint new-password-error"
                        prop:value=move || new_password.get()
                        on:input=move |ev| new_password.set(event_target_value(&ev))
                    />
                    <div id="new-password-error" role="alert">
                        {move || {
                            password_error
                                .get()
                                .map(|message| {
                                    view! {
                                        <p class="field-error with-icon">
                                            <ErrorIcon />
                                            <span>{message}</span>
                                        </p>
                                    }
                                })
                        }}
                    </div>
                </div>
                <div class="form-actions">
                    <button id="set-password" type="submit" class="button" disabled=move || busy.get()>
                        "Set password"
                    </button>
                </div>
            </form>
            <Show when=move || !is_me()>
                <div class="card">
                    <h2>"Delete"</h2>
                    <Show
                        when=move || confirming.get()
                        fallback=move || {
                            view! {
                                <button
                                    id="delete-user"
                                    type="button"
                                    class="button danger"
                                    on:click=move |_| {
                                        confirming.set(true);
                                        focus_element("confirm-delete");
                                    }
                                >
                                    "Delete this user…"
                                </button>
                            }
                        }
                    >
                        <ConfirmDialog
                            title="Delete this user?".to_string()
                            text="The user goes to the trash can and can no longer sign in. Someone allowed to restore users can bring them back within 30 days.".to_string()
                            confirm_label="Move to the trash can"
                            busy=busy
                            on_confirm=Callback::new(move |_| delete())
                            on_cancel=Callback::new(move |_| {
                                confirming.set(false);
                                focus_element("delete-user");
                            })
                        />
                    </Show>
                </div>
            </Show>
        </Show>
    }
}
