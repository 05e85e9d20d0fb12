# NetHSM: the shared examples against a nethsm-sim server over HTTPS on loopback, trusting its
# certificate through `ca=` (sourced by run-examples.sh); every curve the csr example's generic
# ECDSA handle takes, each CSR checked by openssl.
cargo build --quiet --locked -p hsm-nethsm --features sim --bin nethsm-sim
start_sim "listening on https://" "$WORK/nethsm-sim.log" \
    "$BIN_DIR/nethsm-sim" --listen 127.0.0.1:18443 --tls-cert-out "$WORK/nethsm.pem" --state operational
export EXAMPLES_NETHSM_PASS=operatorpassphrase EXAMPLES_NETHSM_ADMIN_PASS=adminpassphrase
shared_examples nethsm \
    "nethsm://operator@localhost:18443?password-env=EXAMPLES_NETHSM_PASS&admin=admin&admin-password-env=EXAMPLES_NETHSM_ADMIN_PASS&ca=$WORK/nethsm.pem" \
    p256:ecdsa-sha256:sha256 p384:ecdsa-sha384:sha384 rsa2048:rsa-pkcs1-sha256:sha256 \
    rsa2048:rsa-pss-sha256:sha256 ed25519:ed25519:ed25519 \
    p521:ecdsa-sha512:sha512 secp256k1:ecdsa-sha256:sha256 brainpool256:ecdsa-sha256:sha256 \
    brainpool384:ecdsa-sha384:sha384
# The side-by-side comparison (this crate, Nitrokey's Python client, curl per signature), small.
example nethsm_compare -- --count 20 --latency-ms 1
