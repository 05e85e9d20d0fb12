#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the system packages the backends need (when
# run as root), starts the services the tests talk to (pcscd with vpcd, simulators), then runs the
# CI gate: fmt, clippy, docs, tests, every example, a smoke run of every bench and of every fuzz
# target over its seed corpus.
#
#   bash scripts/test.sh
#
# Environment: CARGO_TARGET_DIR is honoured; when unset and /var/cache/hsm-rs/target exists (a
# previous run on this machine), it is reused so a second run builds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export ROOT

step() { printf '\n==> %s\n' "$*"; }

# System packages: what the backends' real peers need. Fragments may call need_packages too.
PACKAGES=(pkg-config libssl-dev libpcsclite-dev pcscd vsmartcard-vpcd opensc opensc-pkcs11
          softhsm2 openssl python3-venv procps curl ldnsutils)
need_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing system packages: ${missing[*]} (run as root to install them)" >&2
        return 1
    fi
    step "installing ${missing[*]}"
    if [ -z "${HSM_APT_UPDATED:-}" ]; then
        apt-get update -qq
        export HSM_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
need_packages "${PACKAGES[@]}"

if [ -z "${CARGO_TARGET_DIR:-}" ]; then
    mkdir -p /var/cache/hsm-rs 2>/dev/null && export CARGO_TARGET_DIR=/var/cache/hsm-rs/target || true
fi
export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=1

# Per-backend set-up: each fragment installs and starts what its tests need.
for fragment in scripts/ci.d/*.sh; do
    [ -e "$fragment" ] || continue
    step "set-up: $fragment"
    # shellcheck source=/dev/null
    source "$fragment"
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "feature sets: the default build, the examples' build, each backend alone"
bash scripts/check-features.sh

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

step "cargo test (workspace, all features)"
cargo test --workspace --all-features --locked --no-fail-fast

step "examples"
bash scripts/run-examples.sh

# Criterion runs each benchmark once when started by `cargo test` (no `--bench` flag): the same
# code as `cargo bench`, without a second, optimised build of the whole workspace.
step "benches (smoke: each benchmark once)"
cargo test --workspace --all-features --locked --bench '*'

step "fuzz (smoke: each target once over its seed corpus)"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}-fuzz" bash scripts/fuzz.sh --smoke

step "all checks passed"
