//! The app shell: the top bar and the routes. One file per page in `pages/`.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;

use roster_shared::api::Permission;

use crate::api;
use crate::pages::{
    CheckPage, HomePage, ImportPage, NotFoundPage, RolesPage, SignInPage, TrashPage, UserPage,
    UsersPage,
};
use crate::pages::{DuplicatesPage, HierarchyPage, SettingsPage};
use crate::pages::{ImportEntryPage, ImportHistoryPage};
use crate::remote;
use crate::session::{provide_session, use_session};

#[component]
pub fn App() -> impl IntoView {
    provide_session();
    view! {
        <Router>
            <TopBar />
            <main id="main" class="page">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/check") view=CheckPage />
                    <Route path=path!("/import") view=ImportPage />
                    <Route path=path!("/imports") view=ImportHistoryPage />
                    <Route path=path!("/imports/:id") view=ImportEntryPage />
                    <Route path=path!("/sign-in") view=SignInPage />
                    <Route path=path!("/users") view=UsersPage />
                    <Route path=path!("/users/duplicates") view=DuplicatesPage />
                    <Route path=path!("/users/:id") view=UserPage />
                    <Route path=path!("/trash") view=TrashPage />
                    <Route path=path!("/roles") view=RolesPage />
                    <Route path=path!("/hierarchy") view=HierarchyPage />
                    <Route path=path!("/settings") view=SettingsPage />
                </Routes>
            </main>
        </Router>
    }
}

/// The brand, the pages the signed-in user's role allows, and who is
/// signed in with a sign-out button.
#[component]
fn TopBar() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let sign_out = remote::send(move |_: &()| {
        let navigate = navigate.clone();
        async move {
            // Signed out here whatever the server says: the token is gone.
            let _ = api::logout().await;
            session.me.set(None);
            navigate("/sign-in", Default::default());
            Ok(())
        }
    });
    let who = move || {
        session.me.with(|me| {
            me.as_ref()
                .map(|me| format!("{} ({})", me.user.username, me.role.name))
        })
    };
    view! {
        <header class="topbar">
            <nav class="topbar-inner" aria-label="Main">
                <span class="brand">
                    <A href="/" exact=true>
                        "Roster"
                    </A>
                </span>
                <A href="/check">"Check a file"</A>
                <Show when=move || session.can(Permission::ManageUsers)>
                    <A href="/users">"Users"</A>
                </Show>
                <Show when=move || session.can(Permission::ManageUsers)>
                    <A href="/import">"Import users"</A>
                </Show>
                <Show when=move || session.can(Permission::ManageUsers)>
                    <A href="/imports">"Import history"</A>
                </Show>
                <Show when=move || session.can(Permission::RestoreUsers)>
                    <A href="/trash">"Trash can"</A>
                </Show>
                <Show when=move || session.can(Permission::ManageRoles)>
                    <A href="/roles">"Roles"</A>
                </Show>
                <Show when=move || session.can(Permission::ManageHierarchy)>
                    <A href="/hierarchy">"Hierarchy"</A>
                </Show>
                <Show when=move || session.can(Permission::ManageSettings)>
                    <A href="/settings">"Regional settings"</A>
                </Show>
                <span class="topbar-spacer"></span>
                <Show
                    when=move || session.me.with(Option::is_some)
                    fallback=move || {
                        view! {
                            <Show when=move || session.known.get()>
                                <A href="/sign-in">"Sign in"</A>
                            </Show>
                        }
                    }
                >
                    <span id="signed-in-as" class="signed-in-as">
                        <span class="visually-hidden">"Signed in as "</span>
                        {who}
                    </span>
                    <button id="sign-out" type="button" class="button small" on:click=move |_| {
                        sign_out.dispatch(());
                    }>
                        "Sign out"
                    </button>
                </Show>
            </nav>
        </header>
    }
}
