//! `/users/{id}`: one user, every field, edited in place (PUT replaces
//! every field; the server's messages are shown next to their field),
//! moved to the trash can, or given a new password by an administrator
//! (the user gets no email: tell them yourself).

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use serde::Deserialize;

use roster_shared::api::{Permission, UserInput, UserOut};

use crate::api::{self, ApiError};
use crate::components::format::when;
use crate::components::{
    ConfirmDelete, DeleteQuestion, DoneNotice, ErrorAlert, ErrorIcon, focus_element,
};
use crate::remote::{self, Answer, Outcome};
use crate::session::{RequirePermission, use_session};

#[component]
pub fn UserPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageUsers>
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

/// The server's messages of a refused save, by the form's field; several
/// for one field are joined.
fn messages_by_field(e: &ApiError) -> HashMap<String, String> {
    let mut by_field = HashMap::<String, String>::new();
    for d in &field_problems(e) {
        let entry = by_field
            .entry(form_field(&d.field).to_string())
            .or_default();
        if !entry.is_empty() {
            entry.push(' ');
        }
        entry.push_str(&d.message);
    }
    by_field
}

/// The user, or `None` if there is no such user.
async fn user_or_none(id: Option<i64>) -> Answer<Option<UserOut>> {
    let Some(id) = id else {
        return Ok(None);
    };
    match api::user(id).await {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.status == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// The page's line saying what was just done (`#user-status`), which each
/// form writes, and the user as the server has it, asked again after a
/// change so the title and the dates follow.
#[derive(Clone, Copy)]
struct Done {
    text: RwSignal<String>,
    /// How many times something was said; the user is asked again each time.
    said: RwSignal<usize>,
    user: LocalResource<Answer<Option<UserOut>>>,
}

impl Done {
    fn say(self, text: String) {
        self.text.set(text);
        self.said.update(|n| *n += 1);
        self.user.refetch();
    }

    /// The line as `#user-status` shows it: once the user asked again
    /// after it has come (the title, the dates), as `remote::notice` does.
    fn notice(self) -> Signal<String> {
        remote::once_shown(self.text.into(), self.said.into(), self.user)
    }

    /// A new attempt: the last success no longer describes the page.
    fn clear(self) {
        self.text.set(String::new());
    }
}

/// The user's page: the facts in the header, then three parts that each
/// own their state and their busy flag: the details, the password and
/// the deletion.
#[component]
fn UserEditor() -> impl IntoView {
    let session = use_session();
    let params = use_params_map();
    let id = params
        .with_untracked(|p| p.get("id"))
        .and_then(|id| id.parse::<i64>().ok());
    let user = remote::load(move || user_or_none(id));
    let done = Done {
        text: RwSignal::new(String::new()),
        said: RwSignal::new(0),
        user,
    };
    let found = move || user.with(|u| u.as_ref().and_then(|u| u.as_ref().ok()).cloned().flatten());
    let error = Signal::derive(move || {
        user.with(|u| match u {
            Some(Ok(None)) => Some("There is no such user".to_string()),
            other => remote::failure(other.as_ref()),
        })
    });
    // The forms are made once, from the user as first loaded: asking
    // again after a change does not undo what is being typed.
    let loaded = Memo::new(move |_| user.with(|u| matches!(u, Some(Ok(Some(_))))));
    let is_me = move || {
        let me = session.me.with(|m| m.as_ref().map(|m| m.user.id));
        me.is_some() && me == id
    };
    let title = move || {
        found()
            .map(|u| {
                format!("{} {}", u.first_name, u.last_name)
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|| "User".into())
    };
    let lede = move || {
        found().map(|u| {
            format!(
                "Created {} · changed {} · {}",
                when(&u.created_at),
                when(&u.updated_at),
                if u.has_password {
                    "has a password"
                } else {
                    "no password: cannot sign in"
                },
            )
        })
    };

    view! {
        <div class="page-header">
            <p class="back-link">
                <A href="/users">"← All users"</A>
            </p>
            <h1 id="user-title">{title}</h1>
            <p class="lede">{lede}</p>
        </div>
        <DoneNotice id="user-status" text=done.notice() />
        <ErrorAlert id="user-error" error=error />
        <Show when=move || loaded.get()>
            {user
                .with_untracked(|u| u.as_ref().and_then(|u| u.as_ref().ok()).cloned().flatten())
                .zip(id)
                .map(|(first, id)| {
                    let own = untrack(is_me);
                    view! {
                        <DetailsForm id=id user=first done=done />
                        <PasswordForm id=id own=own done=done />
                        <Show when=move || !is_me()>
                            <DeleteUser id=id />
                        </Show>
                    }
                })}
        </Show>
    }
}

/// Every field of the user, edited in place: PUT replaces every field,
/// and the server's messages are shown next to their field.
#[component]
fn DetailsForm(id: i64, user: UserOut, done: Done) -> impl IntoView {
    let draft = RwSignal::new(UserInput::from(&user));
    let roles = remote::load(api::roles);
    let nodes = remote::load(api::hierarchy);
    let save = remote::send(move |input: &UserInput| {
        let input = input.clone();
        async move {
            let answer = api::update_user(id, &input).await;
            match &answer {
                Ok(updated) => {
                    draft.set(UserInput::from(updated));
                    done.say(format!(
                        "Saved {} {}.",
                        updated.first_name, updated.last_name
                    ));
                }
                Err(e) => {
                    let by_field = messages_by_field(e);
                    let first = TEXT_FIELDS
                        .iter()
                        .map(|f| f.0)
                        .chain(["role_id", "hierarchy"])
                        .find(|k| by_field.contains_key(*k));
                    if let Some(first) = first {
                        focus_element(&format!("field-{first}"));
                    }
                }
            }
            answer
        }
    });
    // The server's messages of the last save, by field.
    let field_errors = Memo::new(move |_| {
        save.value().with(|v| match v {
            Some(Err(e)) => messages_by_field(e),
            _ => HashMap::new(),
        })
    });
    let error = Signal::derive(move || {
        save.failure()
            .or_else(|| roles.failure())
            .or_else(|| nodes.failure())
    });
    let busy = save.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        done.clear();
        save.dispatch(draft.get_untracked());
    };
    let role_list = move || {
        roles.with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().ok())
                .cloned()
                .unwrap_or_default()
        })
    };
    let node_list = move || {
        nodes.with(|n| {
            n.as_ref()
                .and_then(|n| n.as_ref().ok())
                .cloned()
                .unwrap_or_default()
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
        <form id="user-form" class="card form user-form" on:submit=submit novalidate=true aria-labelledby="user-title">
            <h2>"Details"</h2>
            <ErrorAlert id="details-error" error=error />
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
                                prop:value=move || draft.with(|d| field_value(d, key))
                                on:input=move |ev| {
                                    let value = event_target_value(&ev);
                                    draft.update(|d| set_field(d, key, value));
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
                        draft.update(|d| d.special_needs = value);
                    }
                >
                    {[("", "Not set", None), ("yes", "Yes", Some(true)), ("no", "No", Some(false))]
                        .into_iter()
                        .map(|(value, label, flag)| {
                            view! {
                                <option value=value selected=move || draft.with(|d| d.special_needs == flag)>
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
                            draft.update(|d| d.role_id = role);
                        }
                    }
                >
                    <For each=role_list key=|r| r.id let:role>
                        <option value=role.id.to_string() selected=move || draft.with(|d| d.role_id == role.id)>
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
                <For each=node_list key=|n| n.id let:node>
                    {
                        let node_id = node.id;
                        view! {
                            <label class="checkbox">
                                <input
                                    type="checkbox"
                                    prop:checked=move || draft.with(|d| d.hierarchy_ids.contains(&node_id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        draft.update(|d| {
                                            d.hierarchy_ids.retain(|n| *n != node_id);
                                            if on {
                                                d.hierarchy_ids.push(node_id);
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
    }
}

/// A new password: one's own through `/api/me/password`, which asks for
/// the current one (the server refuses a PUT on oneself that sets it);
/// another user's by an administrator, who tells them (no email is sent).
#[component]
fn PasswordForm(id: i64, own: bool, done: Done) -> impl IntoView {
    let new_password = RwSignal::new(String::new());
    let current_password = RwSignal::new(String::new());
    // (current, new)
    let set = remote::send(move |(current, new): &(String, String)| {
        let (current, new) = (current.clone(), new.clone());
        async move {
            let answer = if own {
                api::change_own_password(&current, &new).await.map(|()| {
                    "Your password is changed; your other sessions have ended.".to_string()
                })
            } else {
                set_password(id, new).await.map(|updated| {
                    format!(
                        "The password of {} is set and their sessions have ended. They get no email: tell them yourself.",
                        updated.username
                    )
                })
            };
            new_password.set(String::new());
            current_password.set(String::new());
            match &answer {
                Ok(text) => done.say(text.clone()),
                Err(e) => {
                    let wrong_current = field_problems(e)
                        .iter()
                        .any(|d| d.field == "current_password");
                    focus_element(if wrong_current {
                        "current-password"
                    } else {
                        "new-password"
                    });
                }
            }
            answer
        }
    });
    // Set when the form is sent without what it needs.
    let missing = RwSignal::new(None::<&'static str>);
    let error = move || {
        if let Some(message) = missing.get() {
            return Some(message.to_string());
        }
        set.value().with(|v| match v {
            Some(Err(e)) => Some(
                field_problems(e)
                    .into_iter()
                    .find(|d| {
                        matches!(
                            d.field.as_str(),
                            "password" | "new_password" | "current_password"
                        )
                    })
                    .map(|d| d.message)
                    .unwrap_or_else(|| format!("{}.", e.describe())),
            ),
            _ => None,
        })
    };
    let busy = set.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set.value().set(None);
        let new = new_password.get_untracked();
        let current = current_password.get_untracked();
        if new.is_empty() {
            missing.set(Some("Type the new password first."));
            focus_element("new-password");
        } else if own && current.is_empty() {
            missing.set(Some("Type your current password first."));
            focus_element("current-password");
        } else {
            missing.set(None);
            done.clear();
            set.dispatch((current, new));
        }
    };

    view! {
        <form id="password-form" class="card form" on:submit=submit novalidate=true>
            <h2>{if own { "Change your password" } else { "Set password" }}</h2>
            <p class="hint" id="new-password-hint">
                {if own {
                    "Your other sessions end; this one goes on."
                } else {
                    "The user's sessions end. They get no email: tell them the new password yourself."
                }}
            </p>
            {own
                .then(|| {
                    view! {
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
                    }
                })}
            <div class="form-row">
                <label for="new-password">"New password"</label>
                <input
                    id="new-password"
                    type="password"
                    autocomplete="new-password"
                    aria-invalid=move || error().is_some().then_some("true")
                    aria-describedby="new-password-hint new-password-error"
                    prop:value=move || new_password.get()
                    on:input=move |ev| new_password.set(event_target_value(&ev))
                />
                <div id="new-password-error" role="alert">
                    {move || {
                        error()
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
    }
}

/// Sets another user's password: every field as the server has them now
/// (PUT replaces every field, so a password never undoes a change saved
/// since the page was opened), and the password.
async fn set_password(id: i64, password: String) -> Answer<UserOut> {
    let mut input = UserInput::from(&api::user(id).await?);
    input.password = Some(password);
    api::update_user(id, &input).await
}

/// Moves the user to the trash can after a confirmation, then goes back
/// to the list.
#[component]
fn DeleteUser(id: i64) -> impl IntoView {
    let navigate = StoredValue::new_local(use_navigate());
    let question = DeleteQuestion::<()>::new();
    let delete = remote::send(move |_: &()| async move {
        api::delete_user(id).await?;
        navigate.with_value(|go| go("/users", Default::default()));
        Ok(())
    });
    let error = Signal::derive(move || delete.failure());
    view! {
        <div class="card">
            <h2>"Delete"</h2>
            <ErrorAlert id="delete-error" error=error />
            <Show
                when=move || question.is_open()
                fallback=move || {
                    view! {
                        <button
                            id="delete-user"
                            type="button"
                            class="button danger"
                            on:click=move |_| question.ask(())
                        >
                            "Delete this user…"
                        </button>
                    }
                }
            >
                <ConfirmDelete
                    question=question
                    title=|_: &()| "Delete this user?".to_string()
                    text=|_: &()| {
                        "The user goes to the trash can and can no longer sign in. Someone allowed to restore users can bring them back within 30 days."
                            .to_string()
                    }
                    confirm_label="Move to the trash can"
                    asked_by=|_: &()| "delete-user".to_string()
                    on_confirm=Callback::new(move |()| {
                        delete.dispatch(());
                    })
                    action=delete
                />
            </Show>
        </div>
    }
}
