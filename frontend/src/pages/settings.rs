//! `/settings`: Regional settings, the site's time zone (SPEC section 1),
//! chosen from the IANA names of the rules crate, the very list the server
//! accepts, with a search box that narrows it.

use leptos::prelude::*;
use roster_shared::api::Permission;
use roster_shared::time_zone_names;
use wasm_bindgen::JsCast;

use crate::api::{self, ApiError};
use crate::components::{DoneNotice, ErrorAlert, focus_element};
use crate::remote::{self, Outcome};
use crate::session::RequirePermission;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageSettings>
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
    let total = time_zone_names().count();
    let query = RwSignal::new(String::new());
    let matches = Memo::new(move |_| matching(&query.get()));

    let save = remote::send(move |time_zone: &String| {
        let time_zone = time_zone.clone();
        async move {
            if time_zone.is_empty() {
                focus_element("tz-search");
                return Err(ApiError::invalid("Time zone: choose one from the list"));
            }
            api::save_regional_settings(&time_zone).await
        }
    });
    // The saved settings: as the server has them, then as the last save
    // answered (no need to ask again).
    let saved = remote::load(move || {
        let answer = save.value().get();
        async move {
            match answer {
                Some(Ok(settings)) => Ok(settings),
                _ => api::regional_settings().await,
            }
        }
    });
    // The saved time zone; `None` until the server has answered.
    let current = move || {
        saved.with(|s| {
            s.as_ref()
                .and_then(|s| s.as_ref().ok())
                .map(|s| s.time_zone.clone())
        })
    };
    // The zone picked in the form; `None`: the saved one.
    let picked = RwSignal::new(None::<String>);
    let chosen = Signal::derive(move || picked.get().or_else(current).unwrap_or_default());
    let announcement = Signal::derive(move || {
        save.value().with(|v| match v {
            Some(Ok(settings)) => format!("Saved. The site's time zone is {}.", settings.time_zone),
            _ => String::new(),
        })
    });
    let error = Signal::derive(move || save.failure().or_else(|| saved.failure()));
    let busy = save.pending();
    let submit = move || {
        save.dispatch(chosen.get_untracked());
    };
    // From the search box to the list, picking the first match unless
    // the chosen zone is among them.
    let to_list = move || {
        matches.with_untracked(|found| {
            let kept = chosen.with_untracked(|c| found.iter().any(|name| name == c));
            if let (false, Some(first)) = (kept, found.first()) {
                picked.set(Some(first.to_string()));
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
    let unsaved = move || current().is_some_and(|c| c != chosen.get());

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
                submit();
            }
        >
            <h2 id="tz-title">"Time zone"</h2>
            <p class="current-setting">
                "The site's time zone: "
                <strong id="current-time-zone">
                    {move || current().unwrap_or_else(|| "…".into())}
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
                            picked.set(Some(only.to_string()));
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
                    on:change=move |ev| picked.set(Some(event_target_value(&ev)))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            submit();
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
