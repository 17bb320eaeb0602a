//! The error line of the admin pages: text and an icon, announced at once.

use leptos::prelude::*;

use super::ErrorIcon;

/// A live region that is always in the page (so screen readers announce
/// what appears in it) and shows the error, if any, as a sentence.
#[component]
pub fn ErrorAlert(
    /// The region's id, for tests and `aria-describedby`.
    id: &'static str,
    /// The error, if any, as a sentence without its full stop.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div id=id role="alert" aria-live="assertive">
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p class="status-line failed with-icon">
                                <ErrorIcon />
                                <span>{format!("{message}.")}</span>
                            </p>
                        }
                    })
            }}
        </div>
    }
}
