#!/usr/bin/env bash
# Installs what Roster needs to build, serve and test, skipping what is
# already there. Safe to run again. Debian/Ubuntu with rustup assumed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

# Trunk 0.22 needs a newer rustc than 1.95; 0.21 builds here.
if ! command -v trunk >/dev/null || ! trunk --version | grep -q '^trunk 0\.21\.'; then
    say "installing trunk 0.21 (about 5 minutes)"
    cargo install trunk --version '^0.21' --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
# Not --locked: its lock file names a crate version the registry lacks.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$wb_version" ]; then
    say "installing wasm-bindgen-cli $wb_version (about 2 minutes)"
    cargo install wasm-bindgen-cli --version "=$wb_version"
fi

if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
    say "installing chromium and chromedriver"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

# axe-core (the browser tests' WCAG 2.1 AA check) from the npm registry,
# at the version tests/browser/package-lock.json pins.
if ! [ -f tests/browser/node_modules/axe-core/axe.min.js ]; then
    if ! command -v npm >/dev/null; then
        say "installing npm"
        sudo_if_needed apt-get update -qq
        sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
    fi
    say "installing axe-core for the browser tests"
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi

# PostgreSQL is the scale-out database; the tests run against it too.
if command -v pg_ctlcluster >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    sudo_if_needed pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
