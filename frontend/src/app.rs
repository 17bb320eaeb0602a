//! The app shell: the top bar and the routes. One file per page in `pages/`.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::pages::{CheckPage, HomePage, NotFoundPage};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <nav class="topbar-inner" aria-label="Main">
                    <span class="brand">
                        <A href="/" exact=true>
                            "Roster"
                        </A>
                    </span>
                    <A href="/check">"Check a file"</A>
                </nav>
            </header>
            <main id="main" class="page">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/check") view=CheckPage />
                </Routes>
            </main>
        </Router>
    }
}
