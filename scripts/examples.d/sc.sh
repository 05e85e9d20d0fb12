# SmartCard-HSM (sourced by run-examples.sh): the shared examples against the simulated card,
# first in process (one state file shared by the example processes), then on the real PC/SC
# stack: the sc-hsm-sim binary in vpcd reader "Virtual PCD 00 00" of the pcscd that
# scripts/ci.d/sc.sh started, where the backup/restore example runs too (each of its two
# share-file steps costs 10 million MD5 iterations, so it runs once).
export EXAMPLES_SC_PIN=648219
SC_TRIPLES=(p256:ecdsa-sha256:sha256 p384:ecdsa-sha384:sha384 rsa2048:rsa-pkcs1-sha256:sha256
            rsa2048:rsa-pss-sha256:sha256)

# 1. In process: `sc-hsm+sim:?state=FILE` starts initialised (user PIN 648219) when FILE is new.
shared_examples sc-hsm-sim "sc-hsm+sim:?state=$WORK/sc-hsm-sim.json" "${SC_TRIPLES[@]}"

# 2. Over pcscd + vpcd.
if opensc-tool --list-readers 2>/dev/null | grep -q 'Virtual PCD 00 00'; then
    cargo build --quiet --locked -p hsm-sc --features sim --bin sc-hsm-sim
    start_sim "card inserted" "$WORK/sc-hsm-sim.log" \
        "$BIN_DIR/sc-hsm-sim" --vpcd 127.0.0.1:35963 --initialized
    # pcscd notices a card within one presence poll (400 ms)
    for _ in $(seq 1 50); do
        opensc-tool --list-readers 2>/dev/null | grep -q 'Yes .*Virtual PCD 00 00' && break
        sleep 0.2
    done
    SC_URI="sc-hsm:?reader=Virtual%20PCD%2000%2000&pin-env=EXAMPLES_SC_PIN"
    shared_examples sc-hsm "$SC_URI" "${SC_TRIPLES[@]}"
    # the keys the examples made are OpenSC's too: listed with their labels
    SC_DUMP=$(pkcs15-tool --reader 0 --dump)
    grep -q 'Private EC Key \[exp256ecdsasha256\]' <<<"$SC_DUMP"
    example sc_hsm_backup -- --uri "$SC_URI" --wipe-device --out "$WORK/sc-backup-pcscd"
elif [ -n "${CI:-}" ]; then
    echo "CI: pcscd with the vpcd reader is not running (scripts/ci.d/sc.sh starts it)" >&2
    false
else
    echo "SKIPPED: the SmartCard-HSM examples over pcscd (pcscd with vpcd is not running)" >&2
    example sc_hsm_backup -- --out "$WORK/sc-backup-sim"
fi
