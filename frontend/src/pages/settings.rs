//! `/settings`: Regional settings, the site's time zone (SPEC section 1),
//! chosen from the IANA names of the rules crate, the very list the server
//! accepts, with a search box that narrows it.

use leptos::prelude::*;
use roster_shared::time_zone_names;
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError};
use crate::components::{DoneNotice, ErrorAlert, focus_element};
use crate::session::{RequirePermission, use_session};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <RequirePermission permission="manage_settings">
            <RegionalSettingsForm />
        </RequirePermission>
    }
}

/// The names holding every word of `query`, ignoring case; a space also
/// matches `_`, so "new york" finds `America/New_York`.
fn matching(query: &str) -> Vec<&'static str> {
    let words: Vec<String> = query
        .split_whitespace()
        .map(|w| w.to_lowercase().replace('_', " "))
        .collect();
    time_zone_names()
        .filter(|name| {
            let name = name.to_lowercase().replace('_', " ");
            words.iter().all(|w| name.contains(w.as_str()))
        })
        .collect()
}

/// The weekday, time and UTC offset now in `time_zone`, by the browser's
/// own clock ("Thu 14:05 GMT+1"); `None` if the browser does not know it.
fn time_now_in(time_zone: &str) -> Option<String> {
    use js_sys::{Array, Date, Function, Object, Reflect};
    let options = Object::new();
    for (key, value) in [
        ("timeZone", time_zone),
        ("weekday", "short"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("timeZoneName", "shortOffset"),
    ] {
        Reflect::set(&options, &key.into(), &value.into()).ok()?;
    }
    let date = Date::new_0();
    // Through `Reflect::apply`: an unknown zone throws, and is caught here.
    let format: Function = Reflect::get(&date, &"toLocaleString".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let args = Array::of2(&"en-GB".into(), &options);
    Reflect::apply(&format, &date, &args).ok()?.as_string()
}

#[component]
fn RegionalSettingsForm() -> impl IntoView {
    let session = use_session();
    let total = time_zone_names().count();
    // The saved time zone; `None` until the server has answered.
    let current = RwSignal::new(None::<String>);
    let chosen = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let matches = Memo::new(move |_| matching(&query.get()));
    let announcement = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let fail = move |e: ApiError| {
        session.heard(&e);
        // The last success no longer describes the page.
        announcement.set(String::new());
        error.set(Some(e.describe()));
    };
    leptos::task::spawn_local(async move {
        match api::regional_settings().await {
            Ok(settings) => {
                chosen.set(settings.time_zone.clone());
                current.set(Some(settings.time_zone));
            }
            Err(e) => fail(e),
        }
    });

    let save = move || {
        let time_zone = chosen.get_untracked();
        if time_zone.is_empty() {
            error.set(Some("Time zone: choose one from the list".into()));
            focus_element("tz-search");
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = api::save_regional_settings(&time_zone).await;
            busy.set(false);
            match result {
                Ok(saved) => {
                    error.set(None);
                    announcement.set(format!(
                        "Saved. The site's time zone is {}.",
                        saved.time_zone
                    ));
                    chosen.set(saved.time_zone.clone());
                    current.set(Some(saved.time_zone));
                }
                Err(e) => fail(e),
            }
        });
    };
    // From the search box to the list, picking the first match unless
    // the chosen zone is among them.
    let to_list = move || {
        matches.with_untracked(|found| {
            let kept = chosen.with_untracked(|c| found.iter().any(|name| name == c));
            if let (false, Some(first)) = (kept, found.first()) {
                chosen.set(first.to_string());
            }
        });
        focus_element("tz-list");
    };

    let count_text = move || {
        let q = query.get();
        let n = matches.with(Vec::len);
        match (q.trim().is_empty(), n) {
            (true, _) => format!("All {total} time zones."),
            (false, 0) => format!("No time zone matches “{}”.", q.trim()),
            (false, 1) => format!("1 time zone matches “{}”.", q.trim()),
            (false, n) => format!("{n} of {total} time zones match “{}”.", q.trim()),
        }
    };
    let unsaved = move || current.with(|c| c.as_deref().is_some_and(|c| c != chosen.get()));

    view! {
        <div class="page-header">
            <h1>"Regional settings"</h1>
            <p class="lede">
                "The site's time zone. A user created by an import gets the site's time zone of the moment; users already in the directory keep theirs."
            </p>
        </div>
        <DoneNotice id="settings-status" text=announcement />
        <ErrorAlert id="settings-error" error=error />
        <form
            id="settings-form"
            class="card form settings-form"
            novalidate=true
            aria-labelledby="tz-title"
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                save();
            }
        >
            <h2 id="tz-title">"Time zone"</h2>
            <p class="current-setting">
                "The site's time zone: "
                <strong id="current-time-zone">
                    {move || current.get().unwrap_or_else(|| "…".into())}
                </strong>
            </p>
            <div class="form-row">
                <label for="tz-search">"Search time zones"</label>
                <input
                    id="tz-search"
                    type="search"
                    autocomplete="off"
                    spellcheck="false"
                    aria-controls="tz-list"
                    aria-describedby="tz-search-hint"
                    prop:value=move || query.get()
                    on:input=move |ev| {
                        query.set(event_target_value(&ev));
                        // One match left: that is the one meant.
                        if let [only] = matches.get_untracked()[..] {
                            chosen.set(only.to_string());
                        }
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "ArrowDown" || ev.key() == "Enter" {
                            ev.prevent_default();
                            to_list();
                        }
                    }
                />
                <p id="tz-search-hint" class="hint">
                    "Part of a region or city, such as “Amsterdam” or “new york”. Enter or the down arrow moves to the list."
                </p>
            </div>
            <div class="form-row">
                <label for="tz-list">"Time zone"</label>
                <select
                    id="tz-list"
                    class="tz-list"
                    size="10"
                    aria-describedby="tz-count tz-chosen"
                    on:change=move |ev| chosen.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            save();
                        }
                    }
                >
                    <For each=move || matches.get() key=|name| *name let:name>
                        <option value=name selected=move || chosen.with(|c| c == name)>
                            {name}
                        </option>
                    </For>
                </select>
                <p id="tz-count" class="hint" aria-live="polite">{count_text}</p>
            </div>
            <p id="tz-chosen" class="chosen-line">
                "Chosen: "
                <strong>{move || chosen.get()}</strong>
                {move || {
                    chosen.with(|c| (!c.is_empty()).then(|| time_now_in(c)).flatten())
                        .map(|now| view! { <span class="hint">{format!(" · now {now}")}</span> })
                }}
                {move || unsaved().then(|| view! { <span class="unsaved">" · not saved yet"</span> })}
            </p>
            <div class="form-actions">
                <button id="save-settings" type="submit" class="button primary" disabled=move || busy.get()>
                    "Save the time zone"
                </button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::matching;
    use wasm_bindgen_test::wasm_bindgen_test;

    // Run in wasm32 like the rest of the app: `cargo test --target wasm32-unknown-unknown --lib`.
    #[wasm_bindgen_test]
    fn words_match_anywhere_ignoring_case_and_underscores() {
        assert_eq!(matching("amsterdam"), ["Europe/Amsterdam"]);
        assert!(matching("new york").contains(&"America/New_York"));
        assert!(matching("NEW_YORK").contains(&"America/New_York"));
        assert!(matching("").len() > 400);
        assert!(matching("no such place").is_empty());
    }
}
