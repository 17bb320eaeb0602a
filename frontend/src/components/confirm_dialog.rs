//! The "are you sure?" box before a deletion: an alert dialog that says
//! what goes, the dangerous button first, Escape or Cancel to step back.
//! [`ConfirmDelete`] is the whole exchange every page uses: the question
//! opened by a Delete button, the focus moved into it and back, and the
//! question closed when the deletion has been answered.

use leptos::prelude::*;

use super::focus_element;
use crate::api::ApiError;

/// The id of the dialog's dangerous button, which takes the focus.
const CONFIRM_ID: &str = "confirm-delete";

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
                    id=CONFIRM_ID
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

/// What a delete question is about, if one is open: shared by the page's
/// Delete buttons, which ask, and its [`ConfirmDelete`], which shows it.
pub struct DeleteQuestion<T: 'static> {
    about: RwSignal<Option<T>>,
    /// Set by the dangerous button until the deletion is answered.
    sent: RwSignal<bool>,
}

impl<T> Clone for DeleteQuestion<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for DeleteQuestion<T> {}

impl<T: Clone + Send + Sync + 'static> DeleteQuestion<T> {
    pub fn new() -> Self {
        DeleteQuestion {
            about: RwSignal::new(None),
            sent: RwSignal::new(false),
        }
    }

    /// Asks about `item`; the dialog's dangerous button takes the focus.
    pub fn ask(self, item: T) {
        self.sent.set(false);
        self.about.set(Some(item));
        focus_element(CONFIRM_ID);
    }

    /// Whether a question is open (tracked).
    pub fn is_open(self) -> bool {
        self.about.with(Option::is_some)
    }

    /// Closes the question without deleting.
    pub fn close(self) {
        self.sent.set(false);
        self.about.set(None);
    }
}

impl<T: Clone + Send + Sync + 'static> Default for DeleteQuestion<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The open question of `question`, if any: Cancel or Escape closes it and
/// gives the focus back to the button that asked; the dangerous button
/// runs `on_confirm`, which dispatches `action`, and waits while it is
/// pending. The question closes once the deletion has been answered; if
/// it was refused the focus goes back to the button that asked (the page
/// says how it went, and may move the focus on after a success).
#[component]
pub fn ConfirmDelete<T, I, O>(
    question: DeleteQuestion<T>,
    title: fn(&T) -> String,
    text: fn(&T) -> String,
    confirm_label: &'static str,
    /// The id of the button that asked about a thing.
    asked_by: fn(&T) -> String,
    /// Sends the deletion through `action`.
    on_confirm: Callback<T>,
    /// The page's action that deletes.
    action: Action<I, Result<O, ApiError>>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let DeleteQuestion { about, sent } = question;
    let sending = action.pending();
    // Closed when the deletion sent from here has its answer; another
    // change of the page ending does not close it.
    Effect::new(move |was_sending: Option<bool>| {
        let now = sending.get();
        if was_sending == Some(true) && !now && sent.get_untracked() {
            let refused = action.value().with_untracked(|v| matches!(v, Some(Err(_))));
            if let (true, Some(item)) = (refused, about.get_untracked()) {
                focus_element(&asked_by(&item));
            }
            question.close();
        }
        now
    });
    let cancel = move || {
        if let Some(item) = about.get_untracked() {
            question.close();
            focus_element(&asked_by(&item));
        }
    };
    move || {
        about.get().map(|item| {
            let for_confirm = item.clone();
            view! {
                <ConfirmDialog
                    title=title(&item)
                    text=text(&item)
                    confirm_label=confirm_label
                    busy=sending
                    on_confirm=Callback::new(move |_| {
                        sent.set(true);
                        on_confirm.run(for_confirm.clone());
                    })
                    on_cancel=Callback::new(move |_| cancel())
                />
            }
        })
    }
}
