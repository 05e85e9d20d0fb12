# The examples a service author copies (sourced by run-examples.sh), each checked by a tool that
# is not ours: the signing service under a bounded smoke load on loopback (samples verified with
# openssl), a CA on the HSM whose certificates `openssl verify` accepts, and zones signed through
# `domain` that ldns-verify-zone validates. Each runs on nethsm+sim: and n200+sim:.


command -v curl >/dev/null || apt-get install -y curl >/dev/null

# --- signing_service: start, errors by kind, smoke load, metrics, SIGTERM.
service_smoke() {
    local name=$1 uri=$2
    local log="$WORK/service-$name.log" dir="$WORK/service-$name"
    echo signing_service >>"$RAN"
    printf -- '--> example signing_service on %s\n' "$uri"
    start_sim "listening on http://" "$log" "$BIN_DIR/examples/signing_service" --uri "$uri" \
        --listen 127.0.0.1:0 --generate-key signer=p256 --generate-key signer-rsa=rsa2048
    local pid=${PIDS[-1]} base
    base="http://$(sed -n 's|^listening on http://\([^ ]*\) .*|\1|p' "$log")"

    [ "$(curl -sS "$base/health")" = ok ]
    curl -sSf "$base/keys/signer/public" | openssl pkey -pubin -noout
    # Errors: the status for the kind, a JSON body with the Display text, never a Debug dump.
    local status body
    expect_error() {
        local want=$1 kind=$2 data=$3
        status=$(curl -sS -o "$WORK/service-error.json" -w '%{http_code}' "$base/sign" \
            -H 'content-type: application/json' -d "$data")
        body=$(cat "$WORK/service-error.json")
        if [ "$status" != "$want" ] || ! grep -qF "\"kind\":\"$kind\"" <<<"$body" \
            || grep -qE 'Error \{|kind: ' <<<"$body"; then
            echo "POST /sign $data: expected HTTP $want ($kind), got $status: $body" >&2
            return 1
        fi
    }
    expect_error 404 "not found" '{"key":"no-such-key","algorithm":"ecdsa-sha256","message":"aGk="}'
    expect_error 400 "invalid input" '{"key":"signer","algorithm":"ecdsa-sha256","message":"%%"}'
    expect_error 400 "invalid input" '{"key":"signer","algorithm":"rsa-pkcs1-sha256","message":"aGk="}'
    expect_error 400 "invalid input" '{"key":"signer","algorithm":"no-such-alg","message":"aGk="}'
    expect_error 400 "invalid input" 'not json'
    [ "$(curl -sS -o /dev/null -w '%{http_code}' "$base/keys/no-such-key/public")" = 404 ]

    # The smoke load: bounded in count and time, every answer verified by the client, a sample
    # verified by openssl.
    example signing_service -- --load-test 200 --concurrency 8 --max-seconds 60 \
        --target "${base#http://}" --key signer --samples-dir "$dir/p256" --samples 5
    example signing_service -- --load-test 40 --concurrency 4 --max-seconds 60 \
        --target "${base#http://}" --key signer-rsa --algorithm rsa-pkcs1-sha256 \
        --samples-dir "$dir/rsa" --samples 3
    local verified=0 sample
    for sample in "$dir"/p256/sample-*.msg "$dir"/rsa/sample-*.msg; do
        openssl dgst -sha256 -verify "$(dirname "$sample")/public.pem" \
            -signature "${sample%.msg}.sig" "$sample" >/dev/null
        verified=$((verified + 1))
    done
    [ "$verified" -eq 8 ] || { echo "expected 8 openssl-verified samples, got $verified" >&2; return 1; }

    # The metrics count what was done: 240 signatures, the two failed signs by kind, and a
    # histogram whose +Inf bucket and count hold every sign call.
    local metrics
    metrics=$(curl -sS "$base/metrics")
    metric() { awk -v m="$1" '$1 == m {print $2}' <<<"$metrics"; }
    local backend=${name%%-*}
    [ "$(metric "hsm_calls_total{backend=\"$backend\",operation=\"sign\",outcome=\"ok\"}")" = 240 ]
    [ "$(metric "hsm_calls_total{backend=\"$backend\",operation=\"sign\",outcome=\"not_found\"}")" = 1 ]
    [ "$(metric "hsm_calls_total{backend=\"$backend\",operation=\"sign\",outcome=\"invalid_input\"}")" = 1 ]
    [ "$(metric "hsm_call_duration_seconds_count{backend=\"$backend\",operation=\"sign\"}")" = 242 ]
    [ "$(metric "hsm_call_duration_seconds_bucket{backend=\"$backend\",operation=\"sign\",le=\"+Inf\"}")" = 242 ]
    grep -q '^# TYPE hsm_call_duration_seconds histogram$' <<<"$metrics"

    # SIGTERM: a clean stop with exit status 0.
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    unset 'PIDS[-1]'
    if [ "$rc" -ne 0 ] || ! grep -q '^shut down cleanly$' "$log"; then
        cat "$log" >&2
        echo "signing_service on $uri: exit status $rc after SIGTERM" >&2
        return 1
    fi
}
service_smoke nethsm-sim nethsm+sim:
service_smoke n200-sim 'n200+sim:?latency-ms=0'

# --- issue_certificate: a CA key on the HSM issues for an HSM leaf key and for CSRs.
CERTS="$WORK/certs"
mkdir -p "$CERTS"
for uri in nethsm+sim: n200+sim:; do
    tag=${uri%%+*}
    example issue_certificate -- --uri "$uri" --create --ca-spec p256 --leaf-key web \
        --dns-name www.example.org --dns-name example.org --ca-out "$CERTS/$tag-ca.pem" \
        --out "$CERTS/$tag-leaf.pem"
    openssl verify -x509_strict -purpose sslserver -CAfile "$CERTS/$tag-ca.pem" "$CERTS/$tag-leaf.pem"
    openssl x509 -in "$CERTS/$tag-leaf.pem" -noout -ext subjectAltName \
        | grep -q 'DNS:www.example.org, DNS:example.org'
done
# CSRs from openssl, issued by a P-384 CA (N200) and an RSA CA (NetHSM); the certificate carries
# the request's key.
openssl req -new -newkey rsa:2048 -nodes -keyout "$CERTS/api.key" -subj /CN=api.example.org \
    -out "$CERTS/api.csr" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CERTS/ec.key" \
    -subj /CN=ec.example.org -out "$CERTS/ec.csr" 2>/dev/null
for entry in "n200+sim::p384:api" "nethsm+sim::rsa2048:ec"; do
    IFS=: read -r uri _ spec leaf <<<"$entry"
    uri="$uri:"
    example issue_certificate -- --uri "$uri" --create --ca-spec "$spec" --csr "$CERTS/$leaf.csr" \
        --dns-name "$leaf.example.org" --ca-out "$CERTS/$leaf-ca.pem" --out "$CERTS/$leaf.pem"
    openssl verify -x509_strict -purpose sslserver -CAfile "$CERTS/$leaf-ca.pem" "$CERTS/$leaf.pem"
    cmp <(openssl req -in "$CERTS/$leaf.csr" -noout -pubkey) <(openssl x509 -in "$CERTS/$leaf.pem" -noout -pubkey)
done
# A request whose signature does not verify (its subject changed after signing) is refused.
openssl req -in "$CERTS/api.csr" -outform DER -out "$CERTS/api.der"
LC_ALL=C sed 's/api\.example\.org/apj.example.org/' "$CERTS/api.der" >"$CERTS/bad.der"
if cmp -s "$CERTS/api.der" "$CERTS/bad.der"; then echo "the CSR was not changed" >&2; false; fi
openssl req -inform DER -in "$CERTS/bad.der" -out "$CERTS/bad.csr"
if out=$("$BIN_DIR/examples/issue_certificate" --uri nethsm+sim: --create --csr "$CERTS/bad.csr" \
    --dns-name bad.example.org --ca-out "$CERTS/bad-ca.pem" --out "$CERTS/bad.pem" 2>&1); then
    echo "issue_certificate issued for a CSR whose signature does not verify" >&2
    false
fi
grep -q "^error: the request's signature does not verify" <<<"$out"
