# The examples a service author copies (sourced by run-examples.sh), each checked by a tool that
# is not ours: the signing service under a bounded smoke load on loopback (samples verified with
# openssl), a CA on the HSM whose certificates `openssl verify` accepts, and zones signed through
# `domain` that ldns-verify-zone validates. Each runs on nethsm+sim: and n200+sim:.


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
