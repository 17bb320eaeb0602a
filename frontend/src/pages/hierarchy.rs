//! `/hierarchy`: the tree of nodes users belong to (SPEC section 1), each
//! with its path and how many users it holds directly; add, rename, move
//! and delete. The server keeps the rules (names unique among siblings, no
//! node below itself, no deleting a node in use); the page says its answer.

use std::collections::HashMap;

use leptos::prelude::*;

use roster_shared::api::{NodeOut as Node, Permission};

use crate::api::{self, ApiError};
use crate::components::{
    ConfirmDelete, DeleteQuestion, DoneNotice, ErrorAlert, RowButton, focus_element, format,
};
use crate::remote::{self, Outcome};
use crate::session::RequirePermission;

#[component]
pub fn HierarchyPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageHierarchy>
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

/// What the hierarchy page sends; one action, so the page has one busy
/// flag and its last outcome is the action's.
#[derive(Clone)]
enum NodeChange {
    /// Adds a node (`target` `None`) under `parent`, or renames and moves
    /// `target` there.
    Save {
        target: Option<Node>,
        parent: Option<i64>,
        /// The parent's path, for the notice.
        under: String,
        name: String,
    },
    Delete(Node),
}

/// "Added North under Root.", "Renamed North to South.", …
fn saved_words(before: Option<&Node>, saved: &Node, under: &str) -> String {
    let Some(before) = before else {
        return format!("Added {} under {under}.", saved.name);
    };
    let renamed = before.name != saved.name;
    let moved = before.parent_id != saved.parent_id;
    match (renamed, moved) {
        (true, true) => format!(
            "Renamed {} to {} and moved it under {under}.",
            before.name, saved.name
        ),
        (true, false) => format!("Renamed {} to {}.", before.name, saved.name),
        (false, true) => format!("Moved {} under {under}.", saved.name),
        (false, false) => format!("{} is unchanged.", saved.path),
    }
}

#[component]
fn HierarchyEditor() -> impl IntoView {
    // The node being edited; `None`: adding a new one.
    let editing = RwSignal::new(None::<Node>);
    let name = RwSignal::new(String::new());
    // The parent chosen in the form; see `parent_now`.
    let parent = RwSignal::new(None::<i64>);
    let question = DeleteQuestion::<Node>::new();

    let clear_form = move || {
        editing.set(None);
        name.set(String::new());
    };
    let change = remote::send(move |change: &NodeChange| {
        let change = change.clone();
        async move {
            match change {
                NodeChange::Save {
                    target,
                    parent: chosen,
                    under,
                    name,
                } => {
                    // A typing slip is trimmed here, of what the rules crate
                    // counts as whitespace (U+200B too): the API refuses a
                    // node name that has some, as an import refuses the
                    // sub-level.
                    let typed = roster_shared::text::trim(&name).to_string();
                    let saved = match (&target, chosen) {
                        _ if typed.is_empty() => {
                            Err(ApiError::invalid("Name: give the node a name"))
                        }
                        (Some(node), _) => {
                            api::update_node(node.id, node.parent_id.and(chosen), &typed).await
                        }
                        (None, Some(under)) => api::create_node(under, &typed).await,
                        // Only when there is no node at all to go under.
                        (None, None) => {
                            Err(ApiError::invalid("Parent: choose where the node goes"))
                        }
                    };
                    focus_element("node-name");
                    let saved = saved?;
                    clear_form();
                    Ok(saved_words(target.as_ref(), &saved, &under))
                }
                NodeChange::Delete(node) => {
                    // Refused, the focus goes back to its Delete button
                    // (`ConfirmDelete`).
                    api::delete_node(node.id).await?;
                    if editing.with_untracked(|e| e.as_ref().is_some_and(|e| e.id == node.id)) {
                        clear_form();
                    }
                    if parent.get_untracked() == Some(node.id) {
                        parent.set(node.parent_id);
                    }
                    focus_element("node-name");
                    Ok(format!("Deleted {}.", node.path))
                }
            }
        }
    });
    // Asked again after every change; its notice waits for the answer.
    let loaded = remote::load(move || {
        change.version().track();
        api::hierarchy()
    });
    let nodes = Memo::new(move |_| {
        loaded
            .with(|l| l.as_ref().and_then(|l| l.as_ref().ok()).cloned())
            .unwrap_or_default()
    });
    let announcement = remote::notice(change, loaded);
    let error = Signal::derive(move || change.failure().or_else(|| loaded.failure()));
    let busy = change.pending();

    // The parent a save sends: the one chosen while it exists, else the
    // root (a new node goes under the root until another is chosen).
    let parent_now = move || {
        let choice = parent.get();
        nodes.with(|all| {
            choice
                .filter(|p| all.iter().any(|n| n.id == *p))
                .or_else(|| all.iter().find(|n| n.parent_id.is_none()).map(|n| n.id))
        })
    };

    let add_under = move |under: Option<i64>| {
        remote::forget_failure(change);
        editing.set(None);
        name.set(String::new());
        if under.is_some() {
            parent.set(under);
        }
        focus_element("node-name");
    };
    let edit = move |node: Node| {
        remote::forget_failure(change);
        name.set(node.name.clone());
        parent.set(node.parent_id);
        editing.set(Some(node));
        focus_element("node-name");
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parent = parent_now();
        let under = nodes.with_untracked(|all| {
            all.iter()
                .find(|n| Some(n.id) == parent)
                .map(|n| n.path.clone())
                .unwrap_or_default()
        });
        change.dispatch(NodeChange::Save {
            target: editing.get_untracked(),
            parent,
            under,
            name: name.get_untracked(),
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
                format::count(count, "node", "nodes"),
                format::count(users, "user", "users")
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
        <ConfirmDelete
            question=question
            title=|node: &Node| format!("Delete the node {}?", node.name)
            text=|node: &Node| {
                format!(
                    "{} is removed from the hierarchy. A node that still has child nodes or users (the trash can included) cannot be deleted.",
                    node.path,
                )
            }
            confirm_label="Delete the node"
            asked_by=|node: &Node| format!("delete-node-{}", node.id)
            on_confirm=Callback::new(move |node| {
                change.dispatch(NodeChange::Delete(node));
            })
            action=change
        />
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
                                            <RowButton
                                                id=format!("add-child-{}", node.id)
                                                label="Add child"
                                                about=format!("under {}", node.path)
                                                on_click=Callback::new(move |()| add_under(Some(for_add)))
                                            />
                                            " "
                                            <RowButton
                                                id=format!("edit-node-{}", node.id)
                                                label="Rename or move"
                                                about=node.path.clone()
                                                on_click=Callback::new(move |()| edit(for_edit.clone()))
                                            />
                                            {(!is_root)
                                                .then(|| {
                                                    view! {
                                                        " "
                                                        <RowButton
                                                            id=format!("delete-node-{}", node.id)
                                                            label="Delete"
                                                            about=node.path.clone()
                                                            on_click=Callback::new(move |()| question.ask(for_delete.clone()))
                                                        />
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
                            <option value=node.id.to_string() selected=move || parent_now() == Some(node.id)>
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
