//! Roster's browser app: a thin face over the rules crate.
//!
//! The page never computes a rule. Files are read and checked by
//! `roster_shared` inside a Web Worker (`src/bin/check_worker.rs`, its state
//! in [`check_session`]), so the page stays responsive; the page shows what
//! the worker found ([`protocol`] has the messages). Nothing is sent over the
//! network: the file never leaves the browser.
//!
//! The admin pages speak to the server through [`api`], in one way
//! ([`remote`]: a `LocalResource` to load, an `Action` to change); who is
//! signed in is in [`session`].
//!
//! Map: [`app`] (top bar and routes) → [`pages`] (one file per page) →
//! [`components`] (small, presentational). Page state in [`check_state`],
//! display indexing in [`checked_file`].

#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod check_session;
pub mod check_state;
pub mod checked_file;
pub mod components;
pub mod corrected_file;
pub mod dismissed_warnings;
pub mod download;
pub mod pages;
pub mod protocol;
pub mod remembered_mapping;
pub mod remote;
pub mod session;
pub mod worker_client;

/// A clock in milliseconds for timings and the worker's watchdog: the
/// page's `performance.now()`; in the check worker, which has no window,
/// the date's.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}
