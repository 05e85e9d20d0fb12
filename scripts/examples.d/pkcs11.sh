# PKCS#11: the shared examples on a SoftHSM2 token made for this run, with URIs written the way
# seed 001 writes them (token attributes, `id`, `object`, `type`, `module-path`, `pin-value`),
# next to keys made by OpenSC's pkcs11-tool as in seed 002. Every signature and CSR is checked
# with openssl (sourced by run-examples.sh).
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
mkdir -p "$WORK/softhsm-tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$WORK/softhsm-tokens" >"$SOFTHSM2_CONF"
PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so
softhsm2-util --init-token --free --label examples --so-pin 87654321 --pin 123456 >/dev/null
PKCS11_SERIAL=$(softhsm2-util --show-slots | awk '/Serial number:/ {s=$3} /Label: +examples/ {print s; exit}')
[ -n "$PKCS11_SERIAL" ] || { echo "no serial for the examples token" >&2; exit 1; }
PKCS11_TOKEN="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$PKCS11_SERIAL;token=examples"
PKCS11_QUERY="module-path=$PKCS11_MODULE&pin-value=123456"

example list -- --uri "pkcs11+sim:"

# Keys generated through the examples, addressed by the seed-style token URI.
shared_examples pkcs11 "$PKCS11_TOKEN?$PKCS11_QUERY" \
    p256:ecdsa-sha256:sha256 p384:ecdsa-sha384:sha384 rsa2048:rsa-pkcs1-sha256:sha256 \
    rsa2048:rsa-pss-sha256:sha256 ed25519:ed25519:ed25519
# The PIN from the environment instead of the URI.
export EXAMPLES_PKCS11_PIN=123456
example list -- --uri "pkcs11:token=examples?module-path=$PKCS11_MODULE&pin-env=EXAMPLES_PKCS11_PIN"

# Seed 002: pkcs11-tool makes the key pairs (by id and label); the examples find them through a
# full seed-001-style object URI, by label and by id, sign, and write CSRs; openssl verifies.
pkcs11-tool --module "$PKCS11_MODULE" --token-label examples --login --pin 123456 \
    --keypairgen --key-type EC:prime256v1 --id f90fb8e79e60 --label seed-ec >/dev/null
pkcs11-tool --module "$PKCS11_MODULE" --token-label examples --login --pin 123456 \
    --keypairgen --key-type rsa:2048 --id 02 --label seed-rsa >/dev/null
echo "hsm-rs example message for the seed keys" >"$WORK/seed-msg.txt"
for entry in "seed-ec:%F9%0F%B8%E7%9E%60:id:f90fb8e79e60:ecdsa-sha256" "seed-rsa:%02:id:02:rsa-pkcs1-sha256"; do
    IFS=: read -r label pct idscheme idhex alg <<<"$entry"
    uri="$PKCS11_TOKEN;id=$pct;object=$label;type=private?$PKCS11_QUERY"
    for key in "$label" "$idscheme:$idhex"; do
        out="$WORK/seed-${key//:/-}"
        example pubkey -- --uri "$uri" --key "$key" >"$out.pem"
        example sign -- --uri "$uri" --key "$key" --alg "$alg" --in "$WORK/seed-msg.txt" --out "$out.sig"
        openssl dgst -sha256 -verify "$out.pem" -signature "$out.sig" "$WORK/seed-msg.txt"
        example csr -- --uri "$uri" --key "$key" --subject "CN=$label.example,O=hsm-rs" --out "$out.csr"
        openssl req -verify -noout -in "$out.csr"
        # The CSR carries the token's public key, as pkcs11-tool reads it.
        pkcs11-tool --module "$PKCS11_MODULE" --token-label examples --read-object --type pubkey \
            --id "$idhex" --output-file "$out.tool.der" >/dev/null 2>&1
        cmp <(openssl pkey -pubin -inform DER -in "$out.tool.der" -outform PEM) \
            <(openssl req -in "$out.csr" -noout -pubkey | openssl pkey -pubin -outform PEM)
    done
done
unset EXAMPLES_PKCS11_PIN
