"""Drives a NetHSM (our simulator) with Nitrokey's own Python client, `nethsm` on PyPI.

    peer.py HOST:PORT CA_PEM STEP [ARGS...]

Each step prints one JSON object on stdout; any failure of the client is an exception and a
non-zero exit. The Rust test (tests/python_peer.rs) checks the results with its own client and
with openssl.
"""
import contextlib
import json
import sys

import nethsm as nethsm_module
from nethsm import Authentication, KeyMechanism, KeyType, NetHSM, Role, SignMode

host, ca, step, *args = sys.argv[1:]


@contextlib.contextmanager
def connect(user=None, passphrase=None):
    auth = Authentication(username=user, password=passphrase) if user else None
    client = NetHSM(host, auth, verify_tls=True, ca_certs=ca)
    try:
        yield client
    finally:
        client.close()


out = {}
if step == "provision":
    unlock, admin = args
    with connect() as n:
        out["before"] = n.get_state().value
        n.provision(unlock, admin)
        out["after"] = n.get_state().value
        info = n.get_info()
        out["vendor"], out["product"] = info.vendor, info.product
elif step == "add-user":
    admin, user, passphrase = args
    with connect("admin", admin) as n:
        out["id"] = n.add_user("Jane Jolie", Role.OPERATOR, passphrase, user_id=user)
        u = n.get_user(user)
        out["role"], out["real_name"] = u.role.value, u.real_name
        out["users"] = sorted(n.list_users())
elif step == "generate":
    admin, key_id, key_type, mechanism, length = args
    with connect("admin", admin) as n:
        out["id"] = n.generate_key(
            KeyType.from_string(key_type),
            [KeyMechanism.from_string(mechanism)],
            int(length),
            key_id=key_id,
        )
elif step == "list":
    user, passphrase = args
    with connect(user, passphrase) as n:
        out["keys"] = sorted(n.list_keys())
        out["details"] = {}
        for k in out["keys"]:
            key = n.get_key(k)
            out["details"][k] = {
                "type": key.type.value,
                "mechanisms": sorted(m.value for m in key.mechanisms),
                "operations": key.operations,
            }
elif step == "public":
    user, passphrase, key_id = args
    with connect(user, passphrase) as n:
        out["pem"] = n.get_key_public_key(key_id)
elif step == "sign":
    user, passphrase, key_id, mode, message_b64 = args
    with connect(user, passphrase) as n:
        sig = n.sign(
            key_id, nethsm_module.Base64.from_encoded(message_b64), SignMode.from_string(mode)
        )
        out["signature"] = sig.data if hasattr(sig, "data") else str(sig)
elif step == "csr":
    user, passphrase, key_id, common_name = args
    with connect(user, passphrase) as n:
        out["pem"] = n.key_csr(
            key_id,
            common_name=common_name,
            country="NL",
            organization="NLnet Labs",
            subject_alt_names=[common_name, "IP:192.0.2.7"],
        )
elif step == "bench-sign":
    user, passphrase, key_id, mode, message_b64, count = args
    import time

    with connect(user, passphrase) as n:
        message = nethsm_module.Base64.from_encoded(message_b64)
        n.sign(key_id, message, SignMode.from_string(mode))
        started = time.perf_counter()
        for _ in range(int(count)):
            n.sign(key_id, message, SignMode.from_string(mode))
        out["seconds"] = time.perf_counter() - started
else:
    raise SystemExit(f"unknown step {step}")
print(json.dumps(out))
