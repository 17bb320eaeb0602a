//! The app binary: mounts the Leptos app on the page Trunk serves.

#![forbid(unsafe_code)]

fn main() {
    leptos::mount::mount_to_body(roster_frontend::app::App);
}
