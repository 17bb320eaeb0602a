//! The one way a page speaks to the server.
//!
//! - What a page shows is loaded by [`load`]: a [`LocalResource`] that asks
//!   again whenever a signal its fetcher reads changes (the page number,
//!   the id in the address) or on `refetch()`. An answer to an older
//!   question is dropped, never shown: no page keeps a counter for that.
//! - A change is sent by [`send`]: an [`Action`] whose `pending()` is the
//!   busy flag of what sends it and whose `value()` is its last outcome,
//!   which the page shows ([`crate::components::ErrorAlert`],
//!   [`crate::components::DoneNotice`]). A page whose forms share one busy
//!   flag sends all its changes through one action (an enum of them), so
//!   its last outcome is simply the action's value.
//!
//! Both forget the signed-in user when the server says the session has
//! ended (401), so no page has to.

use std::future::Future;

use leptos::prelude::*;

use crate::api::ApiError;
use crate::session::use_session;

/// What the server answered.
pub type Answer<T> = Result<T, ApiError>;

/// Data a page shows, loaded from the server; see the module's notes.
pub fn load<T, Fut>(fetch: impl Fn() -> Fut + 'static) -> LocalResource<Answer<T>>
where
    T: 'static,
    Fut: Future<Output = Answer<T>> + 'static,
{
    let session = use_session();
    LocalResource::new(move || {
        let answer = fetch();
        async move {
            let answer = answer.await;
            if let Err(e) = &answer {
                session.heard(e);
            }
            answer
        }
    })
}

/// A change a page sends to the server; see the module's notes.
pub fn send<I, O, Fut>(change: impl Fn(&I) -> Fut + 'static) -> Action<I, Answer<O>>
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
    Fut: Future<Output = Answer<O>> + 'static,
{
    let session = use_session();
    Action::new_local(move |input: &I| {
        let answer = change(input);
        async move {
            let answer = answer.await;
            if let Err(e) = &answer {
                session.heard(e);
            }
            answer
        }
    })
}

/// The sentence for a failed answer, if it failed (without the full stop
/// [`crate::components::ErrorAlert`] adds).
pub fn failure<T>(answer: Option<&Answer<T>>) -> Option<String> {
    answer
        .and_then(|a| a.as_ref().err())
        .map(ApiError::describe)
}

/// Something a page heard from the server: a change ([`send`]) or the data
/// it shows ([`load`]). A page's error line is the first failure of those
/// it names, the change first: `change.failure().or_else(|| list.failure())`.
pub trait Outcome: Copy + 'static {
    /// The sentence for its last answer, if that failed (tracked).
    fn failure(self) -> Option<String>;
}

impl<I, O> Outcome for Action<I, Answer<O>>
where
    I: 'static,
    O: Send + Sync + 'static,
{
    fn failure(self) -> Option<String> {
        self.value().with(|v| failure(v.as_ref()))
    }
}

impl<T: 'static> Outcome for LocalResource<Answer<T>> {
    fn failure(self) -> Option<String> {
        self.with(|v| failure(v.as_ref()))
    }
}

/// What a change that answers with a sentence last did ("Deleted the role
/// Pupil."), for [`crate::components::DoneNotice`], once `list`, which the
/// page asks again after each change (its fetcher tracks
/// `change.version()`), shows it; see [`once_shown`]. Empty when it failed
/// or nothing was sent.
pub fn notice<I, T>(
    change: Action<I, Answer<String>>,
    list: LocalResource<Answer<T>>,
) -> Signal<String>
where
    I: 'static,
    T: 'static,
{
    let said = Signal::derive(move || {
        change
            .value()
            .with(|c| c.as_ref().and_then(|c| c.as_ref().ok()).cloned())
            .unwrap_or_default()
    });
    once_shown(said, change.version().into(), list)
}

/// `text` once `list` has answered since `version` last moved, else "".
/// A change answers before the data asked again after it: said at once,
/// "Deleted Root/Spare." would be heard while the row is still shown.
pub fn once_shown<T: 'static>(
    text: Signal<String>,
    version: Signal<usize>,
    list: LocalResource<Answer<T>>,
) -> Signal<String> {
    // The version as it was when `list` last answered: read untracked,
    // only a new answer moves it (a resource says nothing when it starts
    // asking again, only when the answer is in). Not covered: an answer
    // already on its way when the version moved (Leptos shows it, then
    // asks again) counts, so the line could come one answer early.
    let answered_at = Memo::new(move |_| {
        list.track();
        version.get_untracked()
    });
    Signal::derive(move || {
        if answered_at.get() == version.get() {
            text.get()
        } else {
            String::new()
        }
    })
}

/// Forgets the last failure of `action` (the form it was about has been
/// left); a success stays said.
pub fn forget_failure<I, O>(action: Action<I, Answer<O>>)
where
    I: 'static,
    O: Send + Sync + 'static,
{
    if action.value().with_untracked(|v| matches!(v, Some(Err(_)))) {
        action.value().set(None);
    }
}

/// Asks `resource` again `ms` milliseconds after each answer for which
/// `again` holds (an import still running); stops once the page is left.
pub fn poll_while<T>(resource: LocalResource<Answer<T>>, ms: i32, again: fn(&T) -> bool)
where
    T: 'static,
{
    Effect::new(move || {
        let wanted = resource.with(|r| matches!(r, Some(Ok(found)) if again(found)));
        if wanted {
            leptos::task::spawn_local(async move {
                crate::components::format::sleep(ms).await;
                // A resource of a page that has been left is gone: nothing
                // is asked.
                resource.refetch();
            });
        }
    });
}
