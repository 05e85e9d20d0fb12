#!/usr/bin/env bash
# What a user's build of `hsm` contains, checked from outside:
# - the default build (what `hsm = "..."` gives) has no simulator and links no system library;
# - the examples' build (`cargo run --example quickstart`) links no system library either, so the
#   README's first command works on a machine with only a Rust toolchain and a C compiler;
# - every backend builds alone, and with no backend at all;
# - the facade's tests pass in the default build and with each backend alone (next to the NetHSM
#   simulator, which the tests' own build always turns on: see `[dev-dependencies]`).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-features: $*" >&2; exit 1; }

# The libraries a fresh machine lacks, and the simulators' own dependencies.
SYSTEM_LIBS='^(openssl-sys|pcsc-sys) '
SIMULATORS='^(axum|rcgen|openssl|openssl-sys) '

tree() { cargo tree --locked -p hsm --prefix none --no-dedupe "$@" | sort -u; }

echo "default build: no simulator, no system library"
default_tree=$(tree -e normal,build)
if grep -E "$SIMULATORS|$SYSTEM_LIBS" <<<"$default_tree"; then
    fail "the default build of hsm contains the crates above"
fi

echo "examples' build (dev-dependencies): no system library"
examples_tree=$(tree -e normal,build,dev)
if grep -E "$SYSTEM_LIBS" <<<"$examples_tree"; then
    fail "cargo run --example quickstart would need the system libraries above"
fi

echo "the README's first command: cargo run --example quickstart"
cargo run --locked -q --example quickstart >/dev/null

echo "the default build refuses +sim URIs"
cargo test --locked -p hsm --lib -q the_default_build_refuses_simulator_uris 2>&1 | tail -3

echo "each backend alone, and none"
cargo check --locked -q -p hsm --no-default-features
for f in nethsm n200 pkcs11 sc "nethsm,tokio" "sim,sc"; do
    cargo check --locked -q -p hsm --no-default-features --features "$f"
done
# The facade's tests (lib, integration tests, and in the default build the doc tests) in the
# feature sets a user picks. The workspace run of scripts/test.sh covers --all-features; these
# catch a test or a cfg that only works when every backend is on. The target directory is the
# one the rest of CI uses, so only the facade and the backends' feature variants are rebuilt.
# `pkcs11+sim:` needs SOFTHSM2_CONF (scripts/ci.d/pkcs11.sh sets it).
facade_tests() {
    local name=$1 out
    shift
    echo "the facade's tests: $name"
    if ! out=$(cargo test --locked -q -p hsm "$@" 2>&1); then
        echo "$out" >&2
        fail "the facade's tests failed: cargo test -p hsm $*"
    fi
    grep -E '^test result' <<<"$out" | awk '{p += $4; f += $6} END {print "  " p " passed, " f " failed"}'
}
facade_tests "the default build"
for f in "nethsm,sim" "n200,sim" "pkcs11,sim" "sc,sim"; do
    facade_tests "$f alone" --no-default-features --features "$f" --lib --tests
done
echo "check-features: ok"
