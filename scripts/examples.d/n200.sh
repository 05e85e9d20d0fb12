# N200: the shared examples against an n200-sim server whose certificate names only
# seSAM-nserie-101, reached by IP with a server-name override (sourced by run-examples.sh).
export EXAMPLES_N200_PASS=examples-n200-password EXAMPLES_N200_KEY_PIN=123456
cargo build --quiet --locked -p hsm-n200 --features sim --bin n200-sim
start_sim "listening on https://" "$WORK/n200-sim.log" \
    "$BIN_DIR/n200-sim" --listen 127.0.0.1:18444 --tls-cert-out "$WORK/n200.pem" \
    --server-name seSAM-nserie-101 --user pkmaster --password-env EXAMPLES_N200_PASS
shared_examples n200 \
    "n200://pkmaster@127.0.0.1:18444?password-env=EXAMPLES_N200_PASS&pin-env=EXAMPLES_N200_KEY_PIN&ca=$WORK/n200.pem&server-name=seSAM-nserie-101" \
    p256:ecdsa-sha256:sha256 p384:ecdsa-sha384:sha384 rsa2048:rsa-pkcs1-sha256:sha256
