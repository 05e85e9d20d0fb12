# hsm-nethsm: Nitrokey's own NetHSM clients, for the fidelity test (tests/python_peer.rs) and the
# side-by-side comparison. Installed once into a venv cached under /var/cache/hsm-rs (reused on
# later runs); the tests find it through HSM_NETHSM_VENV. Sourced by scripts/test.sh.
NETHSM_VENV="${HSM_NETHSM_VENV:-/var/cache/hsm-rs/venv-nethsm}"
if [ ! -x "$NETHSM_VENV/bin/python" ] \
    || ! "$NETHSM_VENV/bin/python" -c 'import nethsm' >/dev/null 2>&1 \
    || [ ! -x "$NETHSM_VENV/bin/nitropy" ]; then
    mkdir -p "$(dirname "$NETHSM_VENV")"
    python3 -m venv "$NETHSM_VENV"
    "$NETHSM_VENV/bin/pip" install -q --disable-pip-version-check nethsm pynitrokey
fi
export HSM_NETHSM_VENV="$NETHSM_VENV"
if ! command -v curl >/dev/null 2>&1; then
    apt-get install -y -q curl >/dev/null
fi
