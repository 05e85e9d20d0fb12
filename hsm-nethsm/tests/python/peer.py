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
elif step == "get-cert":
    user, passphrase, key_id = args
    with connect(user, passphrase) as n:
        out["cert"] = nethsm_module.Base64.encode(n.get_key_certificate(key_id)).data
elif step == "set-cert":
    user, passphrase, key_id, cert_file = args
    with connect(user, passphrase) as n, open(cert_file, "rb") as f:
        n.set_key_certificate(key_id, f.read())
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
elif step == "device":
    # Device administration end to end; the client checks every answer against its schemas.
    from nethsm import (
        Base64,
        DecryptMode,
        EncryptMode,
        LogLevel,
        UnattendedBootStatus,
    )

    admin, operator, pem_file = args
    with connect("admin", admin) as n:
        n.add_namespace("pyns")
        out["namespaces"] = n.list_namespaces()
        out["ns_user"] = n.add_user(
            "NS Admin", Role.ADMINISTRATOR, "ns-passphrase", user_id="nsadmin", namespace="pyns"
        )
        n.set_logging_config("192.0.2.7", 5514, LogLevel.WARNING)
        lc = n.get_config_logging()
        out["logging"] = [lc.ip_address, lc.port, lc.log_level.value]
        n.set_network_config("10.1.2.3", "255.255.0.0", "10.1.0.1")
        nc = n.get_config_network()
        out["network"] = [nc.ip_address, nc.netmask, nc.gateway]
        n.set_ntp_config(ntp_ip="192.0.2.123")
        out["ntp"] = n.get_config_ntp().ntp_ip
        n.set_time("2030-01-02T03:04:05Z")
        out["time"] = n.get_config_time().isoformat()
        n.set_unattended_boot(UnattendedBootStatus.ON)
        out["unattended"] = str(n.get_config_unattended_boot())
        out["tls_public"] = n.get_public_key()
        out["tls_cert"] = n.get_certificate()
        out["tls_csr"] = n.csr(common_name="py.example.net", organization="Py")
        out["software"] = n.get_system_info().software_version
        out["members"] = len(n.list_cluster_members())
        out["etcd_running"] = n.get_cluster_diagnostics().state.running
        n.generate_key(
            KeyType.GENERIC,
            [KeyMechanism.AES_ENCRYPTION_CBC, KeyMechanism.AES_DECRYPTION_CBC],
            256,
            key_id="pyaes",
        )
        with open(pem_file) as f:
            out["pem_id"] = n.add_key_pem(
                "pypem", [KeyMechanism.ECDSA_SIGNATURE], f.read(), label="pylabel"
            )
        out["pem_label"] = n.get_key("pypem").label
        n.set_key_certificate("pypem", b"certificate bytes")
        out["key_cert"] = n.get_key_certificate("pypem").decode()
        n.move_key("pypem", "pypem2")
        n.set_backup_passphrase("py-backup-passphrase", "")
        n.add_user("Backup", Role.BACKUP, "backup-passphrase", user_id="pybackup")
    with connect("operator", operator) as n:
        iv = Base64.encode(bytes(16))
        message = b"sixteen byte blk" * 2
        enc = n.encrypt("pyaes", Base64.encode(message), EncryptMode.AES_CBC, iv)
        dec = n.decrypt("pyaes", enc.encrypted, DecryptMode.AES_CBC, enc.iv)
        out["aes_round_trip"] = dec.decode() == message
    with connect("pybackup", "backup-passphrase") as n:
        backup = n.backup()
        out["backup_bytes"] = len(backup)
    with connect("admin", admin) as n:
        n.delete_key("pyaes")
        n.restore(backup, "py-backup-passphrase", None)
        out["after_restore"] = sorted(n.list_keys())
        n.delete_namespace("pyns")
        out["namespaces_after"] = n.list_namespaces()
else:
    raise SystemExit(f"unknown step {step}")
print(json.dumps(out))
