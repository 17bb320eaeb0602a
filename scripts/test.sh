#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every check and test of Roster:
# formatting, clippy, native tests (SQLite and PostgreSQL), the rules crate
# in headless Chromium, and the end-to-end tests. Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

say "cargo fmt"
cargo fmt --all -- --check

# The workspace's default members are the native crates; the frontend
# builds for wasm32 only.
say "cargo clippy (native)"
cargo clippy --all-targets --locked -- -D warnings

say "cargo clippy (wasm32)"
cargo clippy -p roster-shared -p roster-frontend --target wasm32-unknown-unknown --lib --bins --tests --locked -- -D warnings

# The browser tests (tests/browser) serve the built app from dist/.
say "building the web app (trunk)"
trunk build --release --offline

say "native tests: rules, CLI, API on SQLite and PostgreSQL, browser"
cargo test --locked

say "the rules crate and the web app's logic in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test -p roster-shared --target wasm32-unknown-unknown --test wasm --locked
CHROMEDRIVER=/usr/bin/chromedriver cargo test -p roster-frontend --target wasm32-unknown-unknown --lib --test wasm --locked

say "all tests passed"
