//! The success line of the admin pages: text and an icon, announced
//! politely; the twin of [`super::ErrorAlert`].

use leptos::prelude::*;

use super::OkIcon;

/// A live region that is always in the page and shows what was just done,
/// if anything, with the check-mark icon.
#[component]
pub fn DoneNotice(
    /// The region's id, for tests and `aria-describedby`.
    id: &'static str,
    /// What was done; empty shows nothing.
    #[prop(into)]
    text: Signal<String>,
) -> impl IntoView {
    view! {
        <p id=id class="status-line list-status" role="status" aria-live="polite">
            {move || {
                let text = text.get();
                (!text.is_empty())
                    .then(|| view! { <span class="with-icon"><OkIcon /><span>{text}</span></span> })
            }}
        </p>
    }
}
