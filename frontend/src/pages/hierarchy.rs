//! `/hierarchy`: the tree of nodes users belong to (SPEC section 1), each
//! with its path and how many users it holds directly; add, rename, move
//! and delete. The server keeps the rules (names unique among siblings, no
//! node below itself, no deleting a node in use); the page says its answer.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::{self, ApiError, Node};
use crate::components::{ConfirmDialog, DoneNotice, ErrorAlert, focus_element};
use crate::session::{RequirePermission, use_session};

#[component]
pub fn HierarchyPage() -> impl IntoView {
    view! {
        <RequirePermission permission="manage_hierarchy">
            <HierarchyEditor />
        </RequirePermission>
    }
}

/// A node and its depth below the root, for the indentation.
#[derive(Clone, Debug, PartialEq)]
struct Placed {
    node: Node,
    depth: usize,
}

/// The nodes in tree order: each node followed by its children, siblings
/// by name ignoring case. (The server's order by whole path would put
/// "North Side" between "North" and "North/School": ' ' sorts before '/'.)
fn tree_order(nodes: &[Node]) -> Vec<Placed> {
    let mut children: HashMap<Option<i64>, Vec<&Node>> = HashMap::new();
    for node in nodes {
        children.entry(node.parent_id).or_default().push(node);
    }
    for siblings in children.values_mut() {
        siblings.sort_by_cached_key(|n| (n.name.to_lowercase(), n.id));
    }
    let mut placed = Vec::with_capacity(nodes.len());
    let mut stack: Vec<(&Node, usize)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|n| (*n, 0)).collect())
        .unwrap_or_default();
    while let Some((node, depth)) = stack.pop() {
        placed.push(Placed {
            node: node.clone(),
            depth,
        });
        if let Some(below) = children.get(&Some(node.id)) {
            stack.extend(below.iter().rev().map(|n| (*n, depth + 1)));
        }
    }
    placed
}

fn users_words(n: i64) -> String {
    if n == 1 {
        "1 user".into()
    } else {
        format!("{n} users")
    }
}

#[component]
fn HierarchyEditor() -> impl IntoView {
    let session = use_session();
    let nodes = RwSignal::new(Vec::<Node>::new());
    // The node being edited; `None`: adding a new one.
    let editing = RwSignal::new(None::<Node>);
    let name = RwSignal::new(String::new());
    let parent = RwSignal::new(None::<i64>);
    let announcement = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(None::<Node>);
    let busy = RwSignal::new(false);

    let fail = move |e: ApiError| {
        session.heard(&e);
        // The last success no longer describes the page.
        announcement.set(String::new());
        error.set(Some(e.describe()));
    };
    let reload = move |notice: String| {
        leptos::task::spawn_local(async move {
            match api::hierarchy().await {
                Ok(list) => {
                    // A new node goes under the root until another is chosen.
                    let known = parent
                        .get_untracked()
                        .is_some_and(|p| list.iter().any(|n| n.id == p));
                    if !known {
                        parent.set(list.iter().find(|n| n.parent_id.is_none()).map(|n| n.id));
                    }
                    nodes.set(list);
                    error.set(None);
                    announcement.set(notice);
                }
                Err(e) => fail(e),
            }
        });
    };
    reload(String::new());

    let path_of = move |id: Option<i64>| {
        nodes.with_untracked(|all| {
            id.and_then(|id| all.iter().find(|n| n.id == id))
                .map(|n| n.path.clone())
                .unwrap_or_default()
        })
    };

    let add_under = move |under: Option<i64>| {
        editing.set(None);
        name.set(String::new());
        if under.is_some() {
            parent.set(under);
        }
        error.set(None);
        focus_element("node-name");
    };
    let edit = move |node: Node| {
        name.set(node.name.clone());
        parent.set(node.parent_id);
        editing.set(Some(node));
        error.set(None);
        focus_element("node-name");
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // A typing slip is trimmed here, of what the rules crate counts as
        // whitespace (U+200B too): the API refuses a node name that has some,
        // as an import refuses the sub-level.
        let typed = roster_shared::text::trim(&name.get_untracked()).to_string();
        if typed.is_empty() {
            error.set(Some("Name: give the node a name".into()));
            focus_element("node-name");
            return;
        }
        let target = editing.get_untracked();
        let chosen = parent.get_untracked();
        // The root has no parent to send; every other node needs one.
        let is_root = target.as_ref().is_some_and(|n| n.parent_id.is_none());
        if chosen.is_none() && !is_root {
            error.set(Some("Parent: choose where the node goes".into()));
            focus_element("node-parent");
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = match (&target, chosen) {
                (Some(node), _) => {
                    api::update_node(node.id, node.parent_id.and(chosen), &typed).await
                }
                (None, Some(under)) => api::create_node(under, &typed).await,
                (None, None) => Err(ApiError {
                    status: 422,
                    code: "invalid".into(),
                    message: "Parent: choose where the node goes".into(),
                    retry_after: None,
                    body: String::new(),
                }),
            };
            busy.set(false);
            match result {
                Ok(saved) => {
                    let notice = match &target {
                        None => format!("Added {} under {}.", saved.name, path_of(saved.parent_id)),
                        Some(before) => {
                            let renamed = before.name != saved.name;
                            let moved = before.parent_id != saved.parent_id;
                            let under = path_of(saved.parent_id);
                            match (renamed, moved) {
                                (true, true) => format!(
                                    "Renamed {} to {} and moved it under {under}.",
                                    before.name, saved.name
                                ),
                                (true, false) => {
                                    format!("Renamed {} to {}.", before.name, saved.name)
                                }
                                (false, true) => format!("Moved {} under {under}.", saved.name),
                                (false, false) => format!("{} is unchanged.", saved.path),
                            }
                        }
                    };
                    editing.set(None);
                    name.set(String::new());
                    reload(notice);
                    focus_element("node-name");
                }
                Err(e) => {
                    fail(e);
                    focus_element("node-name");
                }
            }
        });
    };

    let ask_delete = move |node: Node| {
        confirming.set(Some(node));
        focus_element("confirm-delete");
    };
    let cancel_delete = move || {
        if let Some(node) = confirming.get_untracked() {
            confirming.set(None);
            focus_element(&format!("delete-node-{}", node.id));
        }
    };
    let confirm_delete = move || {
        let Some(node) = confirming.get_untracked() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::delete_node(node.id).await;
            busy.set(false);
            confirming.set(None);
            match result {
                Ok(()) => {
                    if editing.with_untracked(|e| e.as_ref().is_some_and(|e| e.id == node.id)) {
                        editing.set(None);
                        name.set(String::new());
                    }
                    if parent.get_untracked() == Some(node.id) {
                        parent.set(node.parent_id);
                    }
                    reload(format!("Deleted {}.", node.path));
                    focus_element("node-name");
                }
                Err(e) => {
                    fail(e);
                    focus_element(&format!("delete-node-{}", node.id));
                }
            }
        });
    };

    let placed = move || nodes.with(|all| tree_order(all));
    let editing_root = move || editing.with(|e| e.as_ref().is_some_and(|e| e.parent_id.is_none()));
    // A node is offered as a parent unless it is the node being edited
    // (below itself the server refuses, and says so).
    let parent_choices = move || {
        let skip = editing.with(|e| e.as_ref().map(|e| e.id));
        nodes.with(|all| {
            tree_order(all)
                .into_iter()
                .filter(|p| Some(p.node.id) != skip)
                .map(|p| p.node)
                .collect::<Vec<_>>()
        })
    };
    let summary = move || {
        nodes.with(|all| {
            let count = all.len();
            let users: i64 = all.iter().map(|n| n.users).sum();
            format!(
                "{} · {} placed",
                if count == 1 {
                    "1 node".to_string()
                } else {
                    format!("{count} nodes")
                },
                users_words(users)
            )
        })
    };

    view! {
        <div class="page-header">
            <h1>"Hierarchy"</h1>
            <p class="lede">
                "The tree of nodes users belong to. Names are unique among siblings; capitals do not count."
            </p>
        </div>
        <DoneNotice id="hierarchy-status" text=announcement />
        <ErrorAlert id="hierarchy-error" error=error />
        {move || {
            confirming
                .get()
                .map(|node| {
                    view! {
                        <ConfirmDialog
                            title=format!("Delete the node {}?", node.name)
                            text=format!("{} is removed from the hierarchy. A node that still has child nodes or users (the trash can included) cannot be deleted.", node.path)
                            confirm_label="Delete the node"
                            busy=busy
                            on_confirm=Callback::new(move |_| confirm_delete())
                            on_cancel=Callback::new(move |_| cancel_delete())
                        />
                    }
                })
        }}
        <div class="hierarchy-layout">
            <section class="card table-card" aria-labelledby="tree-title">
                <div class="card-heading">
                    <h2 id="tree-title">"Nodes"</h2>
                    <span id="tree-summary" class="hint">{summary}</span>
                </div>
                <table id="hierarchy-table" class="list tree" aria-describedby="users-note">
                    <caption class="visually-hidden">"The hierarchy, each node under its parent"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Node"</th>
                            <th scope="col">"Path"</th>
                            <th scope="col" class="num">"Users"</th>
                            <th scope="col">
                                <span class="visually-hidden">"Actions"</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=placed
                            key=|p| (p.node.id, p.node.name.clone(), p.node.path.clone(), p.node.users, p.depth)
                            let:placed
                        >
                            {
                                let node = placed.node.clone();
                                let for_add = node.id;
                                let for_edit = node.clone();
                                let for_delete = node.clone();
                                let is_root = node.parent_id.is_none();
                                let indent = format!("--depth: {}", placed.depth);
                                view! {
                                    <tr
                                        data-path=node.path.clone()
                                        data-users=node.users.to_string()
                                        class:selected=move || editing.with(|e| e.as_ref().is_some_and(|e| e.id == node.id))
                                    >
                                        <th scope="row" class="tree-name" style=indent>
                                            <span class="tree-mark" class:root=is_root aria-hidden="true"></span>
                                            {node.name.clone()}
                                        </th>
                                        <td class="tree-path">{node.path.clone()}</td>
                                        <td class="num users-count">
                                            {node.users}
                                            <span class="visually-hidden">{if node.users == 1 { " user" } else { " users" }}</span>
                                        </td>
                                        <td class="actions">
                                            <button
                                                id=format!("add-child-{}", node.id)
                                                type="button"
                                                class="button small"
                                                on:click=move |_| add_under(Some(for_add))
                                            >
                                                "Add child"
                                                <span class="visually-hidden">{format!(" under {}", node.path)}</span>
                                            </button>
                                            " "
                                            <button
                                                id=format!("edit-node-{}", node.id)
                                                type="button"
                                                class="button small"
                                                on:click=move |_| edit(for_edit.clone())
                                            >
                                                "Rename or move"
                                                <span class="visually-hidden">{format!(" {}", node.path)}</span>
                                            </button>
                                            {(!is_root)
                                                .then(|| {
                                                    view! {
                                                        " "
                                                        <button
                                                            id=format!("delete-node-{}", node.id)
                                                            type="button"
                                                            class="button small"
                                                            on:click=move |_| ask_delete(for_delete.clone())
                                                        >
                                                            "Delete"
                                                            <span class="visually-hidden">{format!(" {}", node.path)}</span>
                                                        </button>
                                                    }
                                                })}
                                        </td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
                <p id="users-note" class="hint">
                    "Users counts the users placed in a node itself, not in the nodes below it. Users in the trash can are not counted."
                </p>
            </section>
            <form id="node-form" class="card form node-form" on:submit=save novalidate=true aria-labelledby="node-form-title">
                <h2 id="node-form-title">
                    {move || {
                        editing
                            .with(|e| e.as_ref().map(|e| format!("Rename or move {}", e.name)))
                            .unwrap_or_else(|| "Add a node".into())
                    }}
                </h2>
                <div class="form-row">
                    <label for="node-name">"Name"</label>
                    <input
                        id="node-name"
                        type="text"
                        autocomplete="off"
                        maxlength="255"
                        aria-describedby="hierarchy-error"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </div>
                <div class="form-row">
                    <label for="node-parent">
                        {move || if editing.get().is_some() { "Parent (choose another to move it)" } else { "Parent" }}
                    </label>
                    <select
                        id="node-parent"
                        aria-describedby="node-parent-hint"
                        disabled=editing_root
                        on:change=move |ev| parent.set(event_target_value(&ev).parse().ok())
                    >
                        {move || {
                            editing_root()
                                .then(|| view! { <option value="" selected=true>"None: the root stays at the top"</option> })
                        }}
                        <For each=parent_choices key=|n| (n.id, n.path.clone()) let:node>
                            <option value=node.id.to_string() selected=move || parent.get() == Some(node.id)>
                                {node.path.clone()}
                            </option>
                        </For>
                    </select>
                    <p id="node-parent-hint" class="hint">
                        {move || {
                            if editing_root() {
                                "The root cannot be moved; it can be renamed."
                            } else if editing.with(Option::is_some) {
                                "The node moves with every node and user below it."
                            } else {
                                "The new node goes under this one."
                            }
                        }}
                    </p>
                </div>
                <div class="form-actions">
                    <button id="save-node" type="submit" class="button primary" disabled=move || busy.get()>
                        {move || if editing.get().is_some() { "Save the node" } else { "Add the node" }}
                    </button>
                    <Show when=move || editing.get().is_some()>
                        <button id="cancel-edit" type="button" class="button" on:click=move |_| add_under(None)>
                            "Cancel"
                        </button>
                    </Show>
                </div>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn node(id: i64, parent_id: Option<i64>, name: &str) -> Node {
        Node {
            id,
            parent_id,
            name: name.into(),
            path: String::new(),
            users: 0,
        }
    }

    // Run in wasm32 like the rest of the app: `cargo test --target wasm32-unknown-unknown --lib`.
    #[wasm_bindgen_test]
    fn children_follow_their_parent_siblings_by_name() {
        let nodes = [
            node(1, None, "Root"),
            node(2, Some(1), "North Side"),
            node(3, Some(1), "north"),
            node(4, Some(3), "School"),
            node(5, Some(1), "East"),
        ];
        let order: Vec<(i64, usize)> = tree_order(&nodes)
            .iter()
            .map(|p| (p.node.id, p.depth))
            .collect();
        assert_eq!(order, [(1, 0), (5, 1), (3, 1), (4, 2), (2, 1)]);
    }
}
