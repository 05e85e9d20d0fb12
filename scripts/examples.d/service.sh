# The examples a service author copies (sourced by run-examples.sh), each checked by a tool that
# is not ours: the signing service under a bounded smoke load on loopback (samples verified with
# openssl), a CA on the HSM whose certificates `openssl verify` accepts, and zones signed through
# `domain` that ldns-verify-zone validates. Each runs on nethsm+sim: and n200+sim:.

if ! command -v ldns-verify-zone >/dev/null; then
    apt-get install -y ldnsutils >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y ldnsutils >/dev/null; }
fi
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

# --- dnssec_zone: the shipped zone (a delegation, glue, a wildcard) with every algorithm the
# backend has, and a generated zone of a few hundred RRsets; ldns-verify-zone validates each,
# and refuses a signed zone with one record changed.
ZONES="$WORK/zones"
mkdir -p "$ZONES"
{
    printf '$ORIGIN big.example.\n$TTL 3600\n'
    printf '@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\n'
    printf 'ns1 A 192.0.2.1\nns2 A 192.0.2.2\n'
    for i in $(seq 1 150); do
        printf 'host%d A 192.0.2.%d\nhost%d AAAA 2001:db8::%x\nhost%d TXT "record %d"\n' \
            "$i" "$((i % 250 + 1))" "$i" "$i" "$i" "$i"
    done
} >"$ZONES/big.example.zone"
for entry in nethsm+sim:rsasha256 nethsm+sim:ecdsap256sha256 nethsm+sim:ecdsap384sha384 \
    nethsm+sim:ed25519 n200+sim:rsasha256 n200+sim:ecdsap256sha256 n200+sim:ecdsap384sha384; do
    uri=${entry%:*}:
    alg=${entry##*:}
    out="$ZONES/example.org-${uri%%+*}-$alg.signed"
    example dnssec_zone -- --uri "$uri" --create --algorithm "$alg" \
        --zone examples/data/example.org.zone --out "$out"
    ldns-verify-zone "$out"
done
for uri in nethsm+sim: 'n200+sim:?latency-ms=0'; do
    out="$ZONES/big.example-${uri%%+*}.signed"
    example dnssec_zone -- --uri "$uri" --create --zone "$ZONES/big.example.zone" --out "$out"
    ldns-verify-zone "$out"
    # 454 RRsets (SOA, NS, 2 A, 150 x A, AAAA, TXT): each has its RRSIG; the apex has a DNSKEY
    [ "$(awk '$4 == "RRSIG" && $5 != "NSEC" && $5 != "DNSKEY"' "$out" | wc -l)" -eq 454 ]
    grep -qE '^big\.example\. [0-9]+ IN DNSKEY 257 3 13 ' "$out"
done
# An independent validator that says no: one changed address breaks its signature.
sed 's/^host7\.big\.example\. 3600 IN A 192\.0\.2\.8$/host7.big.example. 3600 IN A 192.0.2.9/' \
    "$ZONES/big.example-nethsm.signed" >"$ZONES/tampered.signed"
if cmp -s "$ZONES/big.example-nethsm.signed" "$ZONES/tampered.signed"; then
    echo "the signed zone was not changed" >&2
    false
fi
if ldns-verify-zone "$ZONES/tampered.signed" >"$ZONES/tampered.log" 2>&1; then
    echo "ldns-verify-zone accepted a zone with a changed record" >&2
    false
fi
grep -q 'Bogus DNSSEC signature for host7.big.example.' "$ZONES/tampered.log"
