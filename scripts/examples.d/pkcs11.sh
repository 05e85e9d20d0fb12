# PKCS#11: the shared examples on a SoftHSM2 token made for this run (sourced by run-examples.sh).
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
mkdir -p "$WORK/softhsm-tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$WORK/softhsm-tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label examples --so-pin 87654321 --pin 123456 >/dev/null
export EXAMPLES_PKCS11_PIN=123456
example list -- --uri "pkcs11+sim:"
shared_examples pkcs11 \
    "pkcs11:token=examples?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-env=EXAMPLES_PKCS11_PIN" \
    p256:ecdsa-sha256:sha256 p384:ecdsa-sha384:sha384 rsa2048:rsa-pss-sha256:sha256 ed25519:ed25519:ed25519
