//! A table row's small action button ("Edit", "Delete", "Restore"): its
//! label, then, for a screen reader only, what it acts on, so the rows'
//! buttons are told apart ("Delete Mary Major").

use leptos::prelude::*;

#[component]
pub fn RowButton(
    id: String,
    label: &'static str,
    /// What the button acts on, read after the label ("Mary Major",
    /// "under School A").
    about: String,
    on_click: Callback<()>,
    /// Disabled while this is true (never, if not given).
    #[prop(optional, into)]
    disabled: Signal<bool>,
) -> impl IntoView {
    view! {
        <button
            id=id
            type="button"
            class="button small"
            disabled=move || disabled.get()
            on:click=move |_| on_click.run(())
        >
            {label}
            <span class="visually-hidden">{format!(" {about}")}</span>
        </button>
    }
}
