//! `/roles`: the roles, each with its permissions; create, rename, change
//! permissions, delete. Nobody grants what they lack: a permission the
//! signed-in user does not hold is shown disabled, and the page says why.

use leptos::prelude::*;

use roster_shared::api::{Permission, RoleOut as Role};

use crate::api::{self, ApiError};
use crate::components::{
    ConfirmDelete, DeleteQuestion, DoneNotice, ErrorAlert, RowButton, focus_element,
};
use crate::remote::{self, Outcome};
use crate::session::{RequirePermission, use_session};

/// Every permission, and how the page says it.
pub const PERMISSIONS: [(Permission, &str); 5] = [
    (Permission::ManageUsers, "Manage users"),
    (Permission::RestoreUsers, "Restore users from the trash can"),
    (Permission::ManageRoles, "Manage roles"),
    (Permission::ManageHierarchy, "Manage the hierarchy"),
    (Permission::ManageSettings, "Manage regional settings"),
];

fn permission_label(key: Permission) -> &'static str {
    PERMISSIONS
        .iter()
        .find(|p| p.0 == key)
        .map_or(key.key(), |p| p.1)
}

#[component]
pub fn RolesPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageRoles>
            <RolesEditor />
        </RequirePermission>
    }
}

/// What the roles page sends; one action, so the page has one busy flag
/// and its last outcome is the action's.
#[derive(Clone)]
enum RoleChange {
    /// Creates a role (`id` `None`) or replaces one's name and permissions.
    Save {
        id: Option<i64>,
        name: String,
        permissions: Vec<Permission>,
    },
    Delete(Role),
}

#[component]
fn RolesEditor() -> impl IntoView {
    let session = use_session();
    // The role being edited; `None`: a new one.
    let editing = RwSignal::new(None::<i64>);
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<Permission>::new());
    let question = DeleteQuestion::<Role>::new();

    let clear_form = move || {
        editing.set(None);
        name.set(String::new());
        chosen.set(Vec::new());
    };
    // Each change answers with what it did, said once the list shows it.
    let change = remote::send(move |change: &RoleChange| {
        let change = change.clone();
        async move {
            match change {
                RoleChange::Save {
                    id,
                    name,
                    permissions,
                } => {
                    // Trimmed as the server trims a role's name (the rules
                    // crate's whitespace, U+200B too), so a blank one is
                    // caught here.
                    let typed = roster_shared::text::trim(&name).to_string();
                    let saved = if typed.is_empty() {
                        Err(ApiError::invalid("Name: give the role a name"))
                    } else {
                        api::save_role(id, &typed, &permissions).await
                    };
                    let role = match saved {
                        Ok(role) => role,
                        Err(e) => {
                            focus_element("role-name");
                            return Err(e);
                        }
                    };
                    clear_form();
                    Ok(match id {
                        None => format!("Created the role {}.", role.name),
                        Some(_) => format!("Saved the role {}.", role.name),
                    })
                }
                RoleChange::Delete(role) => {
                    api::delete_role(role.id).await?;
                    if editing.get_untracked() == Some(role.id) {
                        clear_form();
                    }
                    Ok(format!("Deleted the role {}.", role.name))
                }
            }
        }
    });
    // Asked again after every change; its notice waits for the answer.
    let roles = remote::load(move || {
        change.version().track();
        api::roles()
    });
    let announcement = remote::notice(change, roles);
    let error = Signal::derive(move || change.failure().or_else(|| roles.failure()));
    let busy = change.pending();

    let start_new = move || {
        clear_form();
        remote::forget_failure(change);
    };
    let edit = move |role: Role| {
        remote::forget_failure(change);
        editing.set(Some(role.id));
        name.set(role.name.clone());
        chosen.set(role.permissions.clone());
        focus_element("role-name");
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change.dispatch(RoleChange::Save {
            id: editing.get_untracked(),
            name: name.get_untracked(),
            permissions: chosen.get_untracked(),
        });
    };

    let held = move |key: Permission| session.can(key);

    view! {
        <div class="page-header">
            <h1>"Roles"</h1>
            <p class="lede">"A role is a set of permissions; each user has one role."</p>
        </div>
        <DoneNotice id="roles-status" text=announcement />
        <ErrorAlert id="roles-error" error=error />
        <ConfirmDelete
            question=question
            title=|role: &Role| format!("Delete the role {}?", role.name)
            text=|_: &Role| "A role that users still have cannot be deleted.".to_string()
            confirm_label="Delete"
            asked_by=|role: &Role| format!("delete-role-{}", role.id)
            on_confirm=Callback::new(move |role| {
                change.dispatch(RoleChange::Delete(role));
            })
            action=change
        />
        <div class="card table-card">
            <table id="roles-table" class="list">
                <caption class="visually-hidden">"Roles"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Permissions"</th>
                        <th scope="col">
                            <span class="visually-hidden">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || roles.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default()) key=|r| (r.id, r.name.clone(), r.permissions.clone()) let:role>
                        {
                            let for_edit = role.clone();
                            let for_delete = role.clone();
                            let permissions = if role.permissions.is_empty() {
                                "None".to_string()
                            } else {
                                role.permissions
                                    .iter()
                                    .map(|p| permission_label(*p))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            };
                            view! {
                                <tr data-role=role.name.clone()>
                                    <td>{role.name.clone()}</td>
                                    <td>{permissions}</td>
                                    <td class="actions">
                                        <RowButton
                                            id=format!("edit-role-{}", role.id)
                                            label="Edit"
                                            about=role.name.clone()
                                            on_click=Callback::new(move |()| edit(for_edit.clone()))
                                        />
                                        " "
                                        <RowButton
                                            id=format!("delete-role-{}", role.id)
                                            label="Delete"
                                            about=role.name.clone()
                                            on_click=Callback::new(move |()| question.ask(for_delete.clone()))
                                        />
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </div>
        <form id="role-form" class="card form" on:submit=save novalidate=true aria-labelledby="role-form-title">
            <h2 id="role-form-title">
                {move || if editing.get().is_some() { "Edit the role" } else { "New role" }}
            </h2>
            <div class="form-row">
                <label for="role-name">"Name"</label>
                <input
                    id="role-name"
                    type="text"
                    autocomplete="off"
                    aria-describedby="roles-error"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </div>
            <fieldset class="node-choices" aria-describedby="grant-rule">
                <legend>"Permissions"</legend>
                <p id="grant-rule" class="hint">
                    "You can only grant permissions you hold. Those you lack are shown disabled."
                </p>
                {PERMISSIONS
                    .into_iter()
                    .map(|(key, label)| {
                        view! {
                            <label class="checkbox">
                                <input
                                    id=format!("perm-{}", key.key())
                                    type="checkbox"
                                    disabled=move || !held(key)
                                    prop:checked=move || chosen.with(|c| c.contains(&key))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|p| *p != key);
                                            if on {
                                                c.push(key);
                                            }
                                        });
                                    }
                                />
                                <span>
                                    {label}
                                    {move || (!held(key)).then_some(" — you do not hold this permission")}
                                </span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="form-actions">
                <button id="save-role" type="submit" class="button primary" disabled=move || busy.get()>
                    {move || if editing.get().is_some() { "Save the role" } else { "Create the role" }}
                </button>
                <Show when=move || editing.get().is_some()>
                    <button id="new-role" type="button" class="button" on:click=move |_| start_new()>
                        "Cancel editing"
                    </button>
                </Show>
            </div>
        </form>
    }
}
