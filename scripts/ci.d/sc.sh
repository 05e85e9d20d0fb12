# hsm-sc: pcscd with the vsmartcard vpcd reader driver ("Virtual PCD 00 00" on 127.0.0.1:35963,
# "Virtual PCD 00 01" on :35964), for the PC/SC and OpenSC tests in hsm-sc/tests/ and the sc
# benches. Idempotent: starts pcscd only when its socket does not answer. No systemd. The tests
# start the card simulator (sc-hsm-sim) themselves, one card at a time per reader.
for f in /usr/sbin/pcscd /usr/lib/pcsc/drivers/serial/libifdvpcd.so /usr/bin/sc-hsm-tool \
         /usr/bin/pkcs11-tool /usr/bin/pkcs15-tool /usr/bin/openssl; do
    [ -e "$f" ] || { echo "hsm-sc: missing $f" >&2; return 1 2>/dev/null || exit 1; }
done
hsm_sc_pcscd_up() { opensc-tool --list-readers 2>/dev/null | grep -q 'Virtual PCD 00 00'; }
if ! hsm_sc_pcscd_up; then
    mkdir -p /run/pcscd
    if [ -S /run/pcscd/pcscd.comm ] && ! pgrep -x pcscd >/dev/null 2>&1; then
        rm -f /run/pcscd/pcscd.comm
    fi
    pgrep -x pcscd >/dev/null 2>&1 || {
        # pcscd outlives this script: it must not inherit descriptors beyond 0-2 (a `flock`
        # around the caller would otherwise stay held by pcscd for as long as it runs).
        (
            for fd in /proc/$BASHPID/fd/*; do
                n=${fd##*/}
                [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"
            done
            exec pcscd -f
        ) > "${TMPDIR:-/tmp}/hsm-sc-pcscd.log" 2>&1 &
        disown 2>/dev/null || true
    }
    for _ in $(seq 50); do hsm_sc_pcscd_up && break; sleep 0.2; done
    hsm_sc_pcscd_up || { echo "hsm-sc: pcscd did not come up with the vpcd reader" >&2; return 1 2>/dev/null || exit 1; }
fi
export HSM_SC_PCSCD=1
