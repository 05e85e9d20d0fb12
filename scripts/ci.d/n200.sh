# hsm-n200: the seed replay test (tests/fidelity.rs) runs real curl and python3 with `requests`.
# Sourced by scripts/test.sh before `cargo test`.
if ! command -v curl >/dev/null 2>&1; then
    apt-get install -y -q curl >/dev/null
fi
if ! python3 -c 'import requests' >/dev/null 2>&1; then
    N200_VENV="${TMPDIR:-/tmp}/hsm-n200-venv"
    python3 -m venv "$N200_VENV" && "$N200_VENV/bin/pip" install -q requests
    export PATH="$N200_VENV/bin:$PATH"
fi
