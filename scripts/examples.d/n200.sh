# N200: the shared examples against an n200-sim server whose certificate names only
# seSAM-nserie-101, reached by IP with a server-name override (sourced by run-examples.sh).
export EXAMPLES_N200_PASS=examples-n200-password EXAMPLES_N200_KEY_PIN=123456
cargo build --quiet --locked -p hsm-n200 --features sim --bin n200-sim
start_sim "listening on https://" "$WORK/n200-sim.log" \
    "$BIN_DIR/n200-sim" --listen 127.0.0.1:18444 --tls-cert-out "$WORK/n200.pem" \
    --server-name seSAM-nserie-101 --user pkmaster --password-env EXAMPLES_N200_PASS
N200_URI="n200://pkmaster@127.0.0.1:18444?password-env=EXAMPLES_N200_PASS&pin-env=EXAMPLES_N200_KEY_PIN&ca=$WORK/n200.pem&server-name=seSAM-nserie-101"
shared_examples n200 "$N200_URI" \
    p256:ecdsa-sha256:sha256 p384:ecdsa-sha384:sha384 rsa2048:rsa-pkcs1-sha256:sha256

# AES with CBC, as in the seed's encrypt/decrypt: on the built-in simulator, then on the server
# (the first run generates the key, the second uses it); keygen makes an AES-128 key there.
example n200_symmetric
example n200_symmetric -- --uri "$N200_URI" --key exaes256 --spec aes256 --message hello-world
example n200_symmetric -- --uri "$N200_URI" --key exaes256 --message "second run, same key"
example keygen -- --uri "$N200_URI" --id exaes128 --spec aes128
example n200_symmetric -- --uri "$N200_URI" --key exaes128 --message "an AES-128 key from keygen"
