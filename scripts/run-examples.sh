#!/usr/bin/env bash
# Runs every example once, with no device: first against the `+sim` URIs, then, for multi-step
# flows, against simulator servers started here (NetHSM, N200 over HTTPS on loopback; the
# SmartCard-HSM simulator on pcscd + vpcd) and a SoftHSM2 token. Every signature and CSR the
# examples write is checked with the openssl CLI. Then every example is given a URI it cannot
# open and must fail with a non-zero exit and a Display-style message (`error: ...`, each cause
# on a `caused by:` line), never a Debug dump. Last, every examples/*.rs must have run.
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

RAN="$WORK/examples-ran"
example() {
    printf -- '--> example %s\n' "$*"
    echo "$1" >>"$RAN"
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

# `pkcs11+sim:` makes its token in the directory of SOFTHSM2_CONF (scripts/ci.d/pkcs11.sh sets one).
if [ -z "${SOFTHSM2_CONF:-}" ]; then
    mkdir -p "$WORK/sim-tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$WORK/sim-tokens" >"$WORK/sim-softhsm2.conf"
    export SOFTHSM2_CONF="$WORK/sim-softhsm2.conf"
fi

# 1. Single-process examples on the built-in simulators.
example quickstart
for uri in n200+sim: pkcs11+sim: sc-hsm+sim:; do
    example quickstart -- --uri "$uri"
done
HSM_URI=pkcs11+sim: example quickstart
example list -- --uri nethsm+sim:
example keygen -- --uri nethsm+sim: --id onetime --spec ed25519
example nethsm_admin
example dnssec_sign -- 20 1
example dnssec_sign -- --uri 'n200+sim:?latency-ms=0' 10
example dnssec_sign -- --uri nethsm+sim: 10

for fragment in scripts/examples.d/*.sh; do
    [ -e "$fragment" ] || continue
    printf -- '--> examples: %s\n' "$fragment"
    # shellcheck source=/dev/null
    source "$fragment"
done

# 2. A URI that cannot be opened: exit status 1 and the error in Display form, naming the scheme.
bad_uri() {
    local name=$1 expect=$2 out rc=0
    shift 2
    printf -- '--> example %s with a bad URI\n' "$name"
    out=$(env -u HSM_URI "$BIN_DIR/examples/$name" "$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ] || ! grep -q '^error: ' <<<"$out" || ! grep -qF -- "$expect" <<<"$out" \
        || grep -qE 'Error \{|Custom \{|kind: ' <<<"$out"; then
        printf '%s exited %s; expected a non-zero exit and "error: ...%s..." without Debug output:\n%s\n' \
            "$name" "$rc" "$expect" "$out" >&2
        return 1
    fi
}
echo "hsm-rs" >"$WORK/bad-uri-msg.txt"
BAD=nosuch:x
bad_uri quickstart "unknown URI scheme \`nosuch\`" --uri "$BAD"
bad_uri list "unknown URI scheme \`nosuch\`" --uri "$BAD"
bad_uri keygen "unknown URI scheme \`nosuch\`" --uri "$BAD" --id k --spec p256
bad_uri pubkey "unknown URI scheme \`nosuch\`" --uri "$BAD" --key k
bad_uri sign "unknown URI scheme \`nosuch\`" --uri "$BAD" --key k --alg ecdsa-sha256 \
    --in "$WORK/bad-uri-msg.txt" --out "$WORK/bad-uri.sig"
bad_uri csr "unknown URI scheme \`nosuch\`" --uri "$BAD" --key k --subject CN=x --out "$WORK/bad-uri.csr"
bad_uri dnssec_sign "unknown URI scheme \`nosuch\`" --uri "$BAD" 1 0
bad_uri nethsm_admin nosuch --uri "$BAD"
bad_uri nethsm_compare nosuch --uri "$BAD"
bad_uri sc_hsm_backup nosuch --uri "$BAD"
# The cause chain: a NetHSM nobody listens on, each cause on its own line.
bad_uri quickstart "caused by: " --uri 'nethsm://operator:x@127.0.0.1:9?insecure=true&connect-timeout-ms=200&timeout-ms=500'
# Any other example: at least a failure in Display form.
for file in examples/*.rs; do
    name=$(basename "$file" .rs)
    case " quickstart list keygen pubkey sign csr dnssec_sign nethsm_admin nethsm_compare sc_hsm_backup " in
        *" $name "*) ;;
        *) bad_uri "$name" "error: " --uri "$BAD" ;;
    esac
done

# 3. Every example ran.
missing=()
for file in examples/*.rs; do
    name=$(basename "$file" .rs)
    grep -qx "$name" "$RAN" || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "examples never run by scripts/run-examples.sh or scripts/examples.d: ${missing[*]}" >&2
    exit 1
fi

echo "all examples ran"
