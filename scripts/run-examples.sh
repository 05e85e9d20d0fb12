#!/usr/bin/env bash
# Runs every example once against the built-in simulators (no device needed).
set -euo pipefail
cd "$(dirname "$0")/.."
run() { printf -- '--> cargo run --example %s\n' "$*"; cargo run --quiet --locked --all-features --example "$@"; }
run quickstart
