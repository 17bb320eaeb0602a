use leptos::prelude::*;
use leptos_router::components::A;

/// Any path the app does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <div class="narrow">
            <h1>"Page not found"</h1>
            <p>
                "There is no page at this address. " <A href="/check">"Check a file"</A>
                " or go to the " <A href="/">"start page"</A> "."
            </p>
        </div>
    }
}
