# hsm-pkcs11: SoftHSM2 and OpenSC come from the test command's package list. `pkcs11+sim:` needs
# SOFTHSM2_CONF pointing at a config with a temporary token directory (the library sets no
# environment variables); hsm-pkcs11's own tests make their own and ignore this one.
# The latency module of hsm-pkcs11's pool test and bench (tests/latency/module.c) is compiled with
# cc against the PKCS#11 header of libp11-kit-dev.
need_packages libp11-kit-dev gcc libc6-dev
for f in /usr/include/p11-kit-1/p11-kit/pkcs11.h /usr/lib/softhsm/libsofthsm2.so /usr/bin/softhsm2-util /usr/bin/pkcs11-tool /usr/bin/openssl; do
    [ -e "$f" ] || { echo "hsm-pkcs11: missing $f" >&2; return 1 2>/dev/null || exit 1; }
done
HSM_RS_SOFTHSM_DIR=$(mktemp -d -t hsm-rs-softhsm.XXXXXX)
mkdir -p "$HSM_RS_SOFTHSM_DIR/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$HSM_RS_SOFTHSM_DIR" > "$HSM_RS_SOFTHSM_DIR/softhsm2.conf"
export SOFTHSM2_CONF="$HSM_RS_SOFTHSM_DIR/softhsm2.conf"
