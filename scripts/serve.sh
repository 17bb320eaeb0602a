#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds the web app and the server, and serves
# Roster on http://127.0.0.1:8080 with the embedded default database
# (SQLite, ./roster.db, created with its migrations on first start). The
# first start prints the generated `admin` password once, unless
# ROSTER_ADMIN_PASSWORD is set. Extra arguments go to `roster serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
trunk build --release --offline
exec cargo run --release --locked -p roster -- serve "$@"
