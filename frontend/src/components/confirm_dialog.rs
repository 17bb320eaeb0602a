//! The "are you sure?" box before a deletion: an alert dialog that says
//! what goes, the dangerous button first, Escape or Cancel to step back.

use leptos::prelude::*;

#[component]
pub fn ConfirmDialog(
    title: String,
    text: String,
    confirm_label: &'static str,
    #[prop(into)] busy: Signal<bool>,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <div
            class="card confirm"
            role="alertdialog"
            aria-labelledby="confirm-title"
            aria-describedby="confirm-text"
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    on_cancel.run(());
                }
            }
        >
            <h2 id="confirm-title">{title}</h2>
            <p id="confirm-text">{text}</p>
            <div class="form-actions">
                <button
                    id="confirm-delete"
                    type="button"
                    class="button danger"
                    disabled=move || busy.get()
                    on:click=move |_| on_confirm.run(())
                >
                    {confirm_label}
                </button>
                <button id="cancel-delete" type="button" class="button" on:click=move |_| on_cancel.run(())>
                    "Cancel"
                </button>
            </div>
        </div>
    }
}
