//! `/sign-in`: username and password. The password lives in a signal only
//! until the request is sent and is never logged.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiError};
use crate::components::ErrorIcon;
use crate::session::use_session;

/// What to say when sign-in fails.
fn sign_in_error(error: &ApiError) -> String {
    match error.status {
        401 => "The username or password is not right. Check them and try again.".into(),
        429 => {
            let minutes = error.retry_after.map(|s| s.div_ceil(60).max(1));
            match minutes {
                Some(1) => "Too many failed sign-ins. Try again in 1 minute.".into(),
                Some(m) => format!("Too many failed sign-ins. Try again in {m} minutes."),
                None => "Too many failed sign-ins. Try again later.".into(),
            }
        }
        _ => format!("Could not sign in: {}.", error.describe()),
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let name = username.get_untracked().trim().to_string();
        let secret = password.get_untracked();
        if name.is_empty() || secret.is_empty() {
            error.set(Some("Enter your username and your password.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = api::login(&name, &secret).await;
            busy.set(false);
            match result {
                Ok(me) => {
                    password.set(String::new());
                    let target = if me.can("manage_users") {
                        "/users"
                    } else if me.can("restore_users") {
                        "/trash"
                    } else {
                        "/"
                    };
                    session.me.set(Some(me));
                    session.known.set(true);
                    navigate(target, Default::default());
                }
                Err(e) => {
                    password.set(String::new());
                    error.set(Some(sign_in_error(&e)));
                }
            }
        });
    };

    let invalid = move || error.with(Option::is_some).then_some("true");
    view! {
        <div class="narrow sign-in">
            <h1>"Sign in"</h1>
            <p class="lede">"Sign in to manage the users of your site."</p>
            <form class="card form" on:submit=submit novalidate=true>
                <div class="form-row">
                    <label for="username">"Username"</label>
                    <input
                        id="username"
                        name="username"
                        type="text"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        aria-invalid=invalid
                        aria-describedby="sign-in-error"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                </div>
                <div class="form-row">
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        aria-invalid=invalid
                        aria-describedby="sign-in-error"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </div>
                <div id="sign-in-error" role="alert" aria-live="assertive">
                    {move || {
                        error
                            .get()
                            .map(|message| {
                                view! {
                                    <p class="status-line failed with-icon">
                                        <ErrorIcon />
                                        <span>{message}</span>
                                    </p>
                                }
                            })
                    }}
                </div>
                <div class="form-actions">
                    <button id="sign-in" type="submit" class="button primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </div>
            </form>
        </div>
    }
}
