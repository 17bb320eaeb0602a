//! `sqlx::migrate!` embeds `migrations/` at compile time, but Cargo reruns
//! it only when an input it knows of changes: without this, a new migration
//! file alone would leave the binary migrating to the old list. This is the
//! build script `sqlx migrate build-script` writes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
