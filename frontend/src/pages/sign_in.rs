//! `/sign-in`: username and password. The password lives in a signal only
//! until the request is sent and is never logged.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use roster_shared::api::Permission;

use crate::api::{self, ApiError};
use crate::components::ErrorIcon;
use crate::remote;
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
    // Set when the form is sent without a username or a password.
    let missing = RwSignal::new(false);
    let sign_in = remote::send(move |(name, secret): &(String, String)| {
        let (name, secret) = (name.clone(), secret.clone());
        let navigate = navigate.clone();
        async move {
            let answer = api::login(&name, &secret).await;
            password.set(String::new());
            let me = answer?;
            let target = if api::can(&me, Permission::ManageUsers) {
                "/users"
            } else if api::can(&me, Permission::RestoreUsers) {
                "/trash"
            } else {
                "/"
            };
            session.me.set(Some(me));
            session.known.set(true);
            navigate(target, Default::default());
            Ok(())
        }
    });
    let busy = sign_in.pending();
    let error = move || {
        if missing.get() {
            return Some("Enter your username and your password.".to_string());
        }
        sign_in
            .value()
            .with(|v| v.as_ref().and_then(|v| v.as_ref().err()).map(sign_in_error))
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let name = username.get_untracked().trim().to_string();
        let secret = password.get_untracked();
        missing.set(name.is_empty() || secret.is_empty());
        // The last answer no longer describes the form.
        sign_in.value().set(None);
        if !missing.get_untracked() {
            sign_in.dispatch((name, secret));
        }
    };

    let invalid = move || error().is_some().then_some("true");
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
                        error()
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
