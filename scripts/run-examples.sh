#!/usr/bin/env bash
# Runs every example once, with no device: first against the `+sim` URIs, then, for multi-step
# flows, against simulator servers started here (NetHSM, N200 over HTTPS on loopback; the
# SmartCard-HSM simulator on pcscd + vpcd) and a SoftHSM2 token. Every signature and CSR the
# examples write is checked with the openssl CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

CARGO=(cargo --quiet)
# shellcheck disable=SC2206
FEATURES=(--locked ${EXAMPLE_FEATURES:---all-features})
"${CARGO[@]}" build "${FEATURES[@]}" --examples
BIN_DIR=${CARGO_TARGET_DIR:-target}/debug

example() {
    printf -- '--> example %s\n' "$*"
    "${CARGO[@]}" run "${FEATURES[@]}" --example "$@"
}

# Starts a simulator in the background and waits for its ready line.
start_sim() {
    local ready=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 300); do
        grep -q "$ready" "$log" 2>/dev/null && return 0
        if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
            cat "$log" >&2
            echo "simulator $1 exited before it was ready" >&2
            return 1
        fi
        sleep 0.1
    done
    cat "$log" >&2
    echo "simulator $1 not ready after 30 s" >&2
    return 1
}

# The shared examples, one backend: generate, list, public key, sign + openssl verify, CSR +
# openssl req -verify. Arguments: a name, the URI, then "spec:alg:dgst" triples to try.
shared_examples() {
    local name=$1 uri=$2
    shift 2
    echo "hsm-rs example message for $name" >"$WORK/msg.txt"
    for triple in "$@"; do
        IFS=: read -r spec alg dgst <<<"$triple"
        local key="ex${spec}${alg//-/}"
        example keygen -- --uri "$uri" --id "$key" --spec "$spec"
        example pubkey -- --uri "$uri" --key "$key" >"$WORK/$key.pem"
        openssl pkey -pubin -in "$WORK/$key.pem" -noout
        example sign -- --uri "$uri" --key "$key" --alg "$alg" --in "$WORK/msg.txt" --out "$WORK/$key.sig"
        if [ "$dgst" = "ed25519" ]; then
            openssl pkeyutl -verify -pubin -inkey "$WORK/$key.pem" -rawin -in "$WORK/msg.txt" -sigfile "$WORK/$key.sig"
        elif [[ "$alg" == rsa-pss-* ]]; then
            openssl dgst "-$dgst" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-2 \
                -verify "$WORK/$key.pem" -signature "$WORK/$key.sig" "$WORK/msg.txt"
        else
            openssl dgst "-$dgst" -verify "$WORK/$key.pem" -signature "$WORK/$key.sig" "$WORK/msg.txt"
        fi
        example csr -- --uri "$uri" --key "$key" --subject "CN=$name.example,O=hsm-rs" --out "$WORK/$key.csr"
        openssl req -verify -noout -in "$WORK/$key.csr"
    done
    example list -- --uri "$uri"
}

# 1. Single-process examples on the built-in simulators.
example quickstart
example list -- --uri nethsm+sim:
example keygen -- --uri nethsm+sim: --id onetime --spec ed25519
example nethsm_admin
example dnssec_sign -- 20 1

for fragment in scripts/examples.d/*.sh; do
    [ -e "$fragment" ] || continue
    printf -- '--> examples: %s\n' "$fragment"
    # shellcheck source=/dev/null
    source "$fragment"
done

echo "all examples ran"
