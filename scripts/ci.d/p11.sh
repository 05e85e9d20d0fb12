# hsm-p11: the peers that drive the PKCS#11 module (OpenSC's pkcs11-tool, OpenSSL through libp11's
# engine, Knot's keymgr/kzonesign, ldns-verify-zone, SoftHSM2 for parity) and the simulator
# binaries its tests start as separate processes (the module itself contains no simulator).
# GnuTLS's p11tool reads certificates back through p11-kit. Sourced by scripts/test.sh before
# `cargo test`; idempotent.
need_packages opensc softhsm2 openssl libengine-pkcs11-openssl gnutls-bin knot knot-dnssecutils ldnsutils
cargo build --quiet --locked -p hsm-nethsm --features sim --bin nethsm-sim
cargo build --quiet --locked -p hsm-n200 --features sim --bin n200-sim
cargo build --quiet --locked -p hsm-sc --features sim --bin sc-hsm-sim
cargo build --quiet --locked -p hsm-p11
