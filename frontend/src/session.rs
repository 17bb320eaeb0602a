//! Who is signed in, shared by the top bar and the pages through a context.
//! Read once from `/api/me` when the app starts, set by sign-in, cleared by
//! sign-out or any 401.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use roster_shared::api::{Permission, SessionInfo};

use crate::api::{self, ApiError};

#[derive(Clone, Copy)]
pub struct Session {
    /// The signed-in user; `None` when signed out.
    pub me: RwSignal<Option<SessionInfo>>,
    /// Whether `/api/me` has answered yet.
    pub known: RwSignal<bool>,
}

impl Session {
    pub fn can(&self, permission: Permission) -> bool {
        self.me
            .with(|me| me.as_ref().is_some_and(|me| api::can(me, permission)))
    }

    /// Forgets the user after the server said the session has ended.
    pub fn ended(&self) {
        self.me.set(None);
    }

    /// Takes note of a failed request: a 401 means the session has ended.
    pub fn heard(&self, e: &ApiError) {
        if e.status == 401 {
            self.ended();
        }
    }
}

/// Makes the session context and asks the server who is signed in.
pub fn provide_session() -> Session {
    let session = Session {
        me: RwSignal::new(None),
        known: RwSignal::new(false),
    };
    provide_context(session);
    leptos::task::spawn_local(async move {
        let me = api::me().await.ok().flatten();
        session.me.set(me);
        session.known.set(true);
    });
    session
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Shows its children to a signed-in user holding `permission`; sends
/// anyone signed out to the sign-in page.
#[component]
pub fn RequirePermission(permission: Permission, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    move || {
        if !session.known.get() {
            view! { <p class="hint" role="status">"Loading…"</p> }.into_any()
        } else if session.me.with(Option::is_none) {
            view! { <Redirect path="/sign-in" /> }.into_any()
        } else if !session.can(permission) {
            view! {
                <div class="narrow">
                    <h1>"Not available"</h1>
                    <p>"Your role does not give access to this page."</p>
                </div>
            }
            .into_any()
        } else {
            children().into_any()
        }
    }
}
