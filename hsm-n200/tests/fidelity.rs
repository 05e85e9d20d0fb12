//! Seed replay: the requests of seed 000 (curl and the Python `requests` import script), sent
//! as written but for host, port and CA, against the simulator; the answers have the seed's shape.
//! The name `seSAM-nserie-101` resolves to the simulator without /etc/hosts (`curl --resolve`,
//! a `getaddrinfo` shim for Python).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::process::Command;

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_n200::sim::{SimConfig, Simulator};
use serde_json::Value;

fn tool(name: &str, probe: &[&str]) -> bool {
    let ok = Command::new(name)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{name} is needed in CI");
        eprintln!("SKIPPED: {name} is not available");
    }
    ok
}

/// The field names of a JSON object, sorted, separated by spaces.
fn keys(v: &Value) -> String {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k.join(" ")
}

#[test]
fn seed_requests_replay_with_the_seed_shapes() {
    if !tool("curl", &["--version"]) || !tool("python3", &["-c", "import requests"]) {
        return;
    }
    let mut config = SimConfig::new().credentials("pkmaster", SecretString::from("seed-pass-1"));
    config.demo_keys = true;
    // The seed's GET examples and its Python script send no credentials, and the device
    // answered them.
    config.allow_anonymous = true;
    let sim = Simulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server63.crt");
    std::fs::write(&cert, sim.cert_pem()).unwrap();
    let port = sim.addr().port();
    let host = format!("https://seSAM-nserie-101:{port}");
    let resolve = format!("seSAM-nserie-101:{port}:127.0.0.1");
    let curl = |args: &[&str]| -> Value {
        let mut curl = Command::new("curl");
        let _ = curl.args(["--cacert", cert.to_str().unwrap(), "--resolve", &resolve]);
        let _ = curl.args(["--no-progress-meter"]).args(args);
        serde_json::from_str(&hsm_testkit::cli::run(&mut curl)).unwrap()
    };
    let user = format!("pkmaster:{}", sim.password().expose_secret());
    let post = format!("{host}/n200/web/postv1");
    let g = curl(&[
        "-u",
        &user,
        "-d",
        "command=genecckey",
        "-d",
        "core=1",
        "-d",
        "curve=NIST",
        "-d",
        "keysize=256",
        "-d",
        "acl=FFFF",
        "-d",
        "pin=12345678",
        "-d",
        "nice_name=JP.example",
        &post,
    ]);
    assert_eq!(
        keys(&g),
        "clustersync command core nice_name publickey result"
    );
    assert_eq!(g["command"], "genecckey");
    assert_eq!(g["core"], 1);
    assert_eq!(g["publickey"].as_str().unwrap().len(), 128);
    assert_eq!(g["result"].as_str().unwrap().len(), 39);

    // The Python import script (the closing brace of `data` is restored: the page lost it).
    let script = format!(
        r#"
import socket
_real = socket.getaddrinfo
def _hosts(host, *a, **k):
    return _real("127.0.0.1" if str(host).lower() == "sesam-nserie-101" else host, *a, **k)
socket.getaddrinfo = _hosts

import requests
import json

url = "https://seSAM-nserie-101:{port}/n200/web/postv1"

data = {{
        "command" : "importecckey",
        "core" : 1,
        "curve" : "NIST",
        "acl" : "FFFF",
        "pin" : "12345678",
        "nice_name" : "example-dot-com-EC",
        "key_to_import" : "443A5A0F630559075B8ED453E69FB134E73BED96B7E7695D55AFBBFC085278CD"
}}
r = requests.post(url, data, verify='{cert}')

print("status: %s, %s" % (r.status_code,
        json.dumps(json.loads(r.text), indent=4)))
"#,
        cert = cert.display()
    );
    let out = hsm_testkit::cli::output(Command::new("python3").arg("-c").arg(script));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, json) = text.split_once(", ").unwrap();
    assert_eq!(status, "status: 200");
    let imported: Value = serde_json::from_str(json).unwrap();
    assert_eq!(keys(&imported), "command core result");
    assert_eq!(imported["command"], "importecckey");

    let t = curl(&[&format!("{host}/n200/timestamp/")]);
    assert_eq!(keys(&t), "command result");
    assert!(t["result"].as_str().unwrap().parse::<u64>().is_ok());
    let r = curl(&[&format!("{host}/n200/getrandom/5/")]);
    assert_eq!(keys(&r), "command core numbers result");
    assert_eq!(r["numbers"], "5");
    assert_eq!(r["result"].as_str().unwrap().len(), 10);
    let a = curl(&[&format!("{host}/n200/getkeyattributes/k01/")]);
    let entry = a["result"].as_object().unwrap().values().next().unwrap();
    assert_eq!(
        keys(entry),
        "key_acl key_id key_len key_owner key_type nice_name"
    );
    assert_eq!(entry["key_type"], "SYM");
    assert_eq!(entry["key_len"], 256);
    let e = curl(&[&format!(
        "{host}/n200/encrypt/k01/12345678/CBC/hello-world/"
    )]);
    assert_eq!(keys(&e), "command core result");
    let ct = e["result"].as_str().unwrap();
    assert!(hex::decode(ct).is_ok());
    // The seed decrypts the ciphertext its encrypt returned; ours comes from our key.
    let d = curl(&[&format!("{host}/n200/decrypt/k01/12345678/CBC/{ct}/")]);
    assert_eq!(d["result"], "hello-world");
    let l = curl(&[&format!("{host}/n200/listkeys/NIST/")]);
    assert_eq!(l["core"], 0);
    let listed = l["result"].as_object().unwrap();
    assert_eq!(listed.len(), 2);
    let jp = listed
        .values()
        .find(|k| k["nice_name"] == "JP.example")
        .unwrap();
    assert_eq!(
        keys(jp),
        concat!(
            "date_of_creation date_of_last_use date_planned_lifetime_until id key_acl key_id ",
            "key_len key_owner key_type nice_name public_key slot token_name"
        )
    );
    assert_eq!(jp["public_key"], g["publickey"]);
    assert_eq!(jp["key_id"], g["result"]);
    assert!(jp["date_planned_lifetime_until"].is_null());
    // The imported key has the public key of the seed's scalar (checked with p256).
    let scalar =
        hex::decode("443A5A0F630559075B8ED453E69FB134E73BED96B7E7695D55AFBBFC085278CD").unwrap();
    let sk = p256::SecretKey::from_slice(&scalar).unwrap();
    use p256::elliptic_curve::sec1::ToSec1Point as _;
    let point = sk.public_key().to_sec1_point(false);
    let imp = listed
        .values()
        .find(|k| k["nice_name"] == "example-dot-com-EC")
        .unwrap();
    assert_eq!(
        imp["public_key"].as_str().unwrap(),
        hex::encode_upper(&point.as_bytes()[1..])
    );
}
