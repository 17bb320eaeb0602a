//! Icons that go with text, never instead of it: hidden from screen readers.

use leptos::prelude::*;

/// A warning sign beside every error message.
#[component]
pub fn ErrorIcon() -> impl IntoView {
    view! {
        <svg class="icon icon-error" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M8 1.2a1 1 0 0 1 .87.5l6.6 11.5A1 1 0 0 1 14.6 14.7H1.4a1 1 0 0 1-.87-1.5L7.13 1.7A1 1 0 0 1 8 1.2Zm0 4.3a.9.9 0 0 0-.9.95l.2 3.6a.7.7 0 0 0 1.4 0l.2-3.6A.9.9 0 0 0 8 5.5Zm0 6a.9.9 0 1 0 0 1.8.9.9 0 0 0 0-1.8Z" />
        </svg>
    }
}

/// An information sign (a circled `i`) beside every warning: another shape
/// than the error's triangle, so the two differ without their colours.
#[component]
pub fn WarningIcon() -> impl IntoView {
    view! {
        <svg class="icon icon-warning" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M8 1a7 7 0 1 1 0 14A7 7 0 0 1 8 1Zm0 5.6a.8.8 0 0 0-.8.8v3.8a.8.8 0 0 0 1.6 0V7.4a.8.8 0 0 0-.8-.8Zm0-2.9a1 1 0 1 0 0 2 1 1 0 0 0 0-2Z" />
        </svg>
    }
}

/// A tick beside "no errors".
#[component]
pub fn OkIcon() -> impl IntoView {
    view! {
        <svg class="icon icon-ok" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M8 1a7 7 0 1 1 0 14A7 7 0 0 1 8 1Zm3.1 4.3a.8.8 0 0 0-1.1.1L7.1 8.9 6 7.7a.8.8 0 1 0-1.2 1.1l1.7 1.8a.8.8 0 0 0 1.2 0l3.5-4.2a.8.8 0 0 0-.1-1.1Z" />
        </svg>
    }
}
