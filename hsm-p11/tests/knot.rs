//! A DNSSEC signer through the module: Knot DNS's `keymgr` generates the KSK and ZSK in a
//! `backend: pkcs11` keystore that names `libhsm_p11.so`, `kzonesign` signs a zone with them, and
//! `ldns-verify-zone` (and `kzonecheck --dnssec on`) validate the result. Each DNSKEY of the signed
//! zone is checked against the public key `pkcs11-tool` reads from the device through the module,
//! so the signatures that validate were made by keys on the (simulated) HSM. Backends: the NetHSM
//! simulator, the N200 simulator, and the SmartCard-HSM simulator in a vpcd reader of pcscd
//! behind an `sc-hsm:` slot.
//!
//! Knot loads the module through GnuTLS and p11-kit, which call `C_Initialize` with
//! `CKF_LIBRARY_CANT_CREATE_OS_THREADS`; the module accepts it (see `module.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing)]

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Hosts in the test zone: each has an A and a TXT RRset.
const HOSTS: usize = 60;

/// One Knot set-up: a configuration with a `pkcs11` keystore over the module, and two zones, one
/// signed with ECDSA P-256 (algorithm 13), one with RSA/SHA-256 (algorithm 8).
struct Knot {
    dir: PathBuf,
    conf: PathBuf,
    env: Vec<(String, String)>,
    token: String,
    /// The C_Login PIN, when the slot needs one (pkcs11-tool gets it too).
    pin: Option<String>,
}

const ZONES: [(&str, &str, &str); 2] = [
    ("ecdsa.example.", "ecdsap256sha256", "13"),
    ("rsa.example.", "rsasha256", "8"),
];

impl Knot {
    fn new(dir: &Path, module_conf: &Path, token: &str, pin: Option<&str>) -> Self {
        let zones = dir.join("zones");
        for d in [&zones, &dir.join("knot-db"), &dir.join("kasp")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let uri = match pin {
            Some(p) => format!("pkcs11:token={token};pin-value={p}"),
            None => format!("pkcs11:token={token}"),
        };
        let mut conf = format!(
            "database:\n  storage: {db}\nkeystore:\n  - id: hsm\n    backend: pkcs11\n    \
             config: \"{uri} {module}\"\npolicy:\n",
            db = dir.join("knot-db").display(),
            module = module_path().display(),
        );
        for (zone, algorithm, _) in ZONES {
            writeln!(
                conf,
                "  - id: {zone}\n    keystore: hsm\n    algorithm: {algorithm}\n    manual: on"
            )
            .unwrap();
        }
        writeln!(
            conf,
            "template:\n  - id: default\n    storage: {}\n    kasp-db: {}\nzone:",
            zones.display(),
            dir.join("kasp").display()
        )
        .unwrap();
        for (zone, _, _) in ZONES {
            writeln!(
                conf,
                "  - domain: {zone}\n    dnssec-signing: on\n    dnssec-policy: {zone}\n    \
                 file: {zone}zone"
            )
            .unwrap();
            std::fs::write(zones.join(format!("{zone}zone")), zone_text(zone)).unwrap();
        }
        let path = dir.join("knot.conf");
        std::fs::write(&path, conf).unwrap();
        // GnuTLS, under Knot's tools, loads every module p11-kit knows beside the one the
        // keystore names: SoftHSM2's (harmless) and OpenSC's, which talks to pcscd and so to the
        // card of the SmartCard-HSM test running beside this one. Under load, OpenSC 0.23's
        // C_Initialize then deadlocked on its own lock (sc_connect_card -> sc_lock) and hung a
        // NetHSM test's kzonesign for good. p11-kit reads no user configuration as root (CI's
        // case), so instead an OpenSC configuration whose PC/SC library does not exist makes
        // OpenSC's C_Initialize fail at once, and p11-kit leaves it out: the Knot processes here
        // use this module alone.
        let opensc_conf = dir.join("opensc.conf");
        std::fs::write(
            &opensc_conf,
            "app default {\n  reader_driver pcsc {\n    provider_library = /nonexistent/libpcsclite.so.1;\n  }\n}\n",
        )
        .unwrap();
        let mut env = module_env(module_conf, None);
        env.push(("OPENSC_CONF".to_owned(), opensc_conf.display().to_string()));
        Self {
            dir: dir.to_owned(),
            conf: path,
            env,
            token: token.to_owned(),
            pin: pin.map(str::to_owned),
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.arg("-c")
            .arg(&self.conf)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    fn keymgr(&self, zone: &str, args: &[&str]) -> String {
        run(self.command("keymgr").arg(zone).args(args))
    }

    /// `pkcs11-tool` on the module's token.
    fn tool(&self) -> Command {
        let mut c = Command::new("pkcs11-tool");
        c.arg("--module")
            .arg(module_path())
            .args(["--token-label", &self.token])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(pin) = &self.pin {
            c.args(["--login", "--pin", pin]);
        }
        c
    }
}

/// A zone with an apex (SOA, NS), a name server and [`HOSTS`] hosts.
fn zone_text(zone: &str) -> String {
    let mut z = format!(
        "$ORIGIN {zone}\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 3600\n\
         @ IN NS ns1\nns1 IN A 192.0.2.1\n"
    );
    for n in 0..HOSTS {
        writeln!(z, "host{n} IN A 198.51.100.{}", n % 250).unwrap();
        writeln!(z, "host{n} IN TXT \"hsm-p11 knot test {n}\"").unwrap();
    }
    z
}

/// The RRsets a signed zone must carry an RRSIG for: apex SOA, NS, DNSKEY, NSEC; the name
/// server's A and NSEC; each host's A, TXT and NSEC.
fn expected_rrsigs() -> usize {
    4 + 2 + 3 * HOSTS
}

/// `openssl base64 -d` of one line.
fn base64_decode(dir: &Path, text: &str) -> Vec<u8> {
    let file = dir.join("b64.txt");
    std::fs::write(&file, format!("{text}\n")).unwrap();
    fixtures::run_ok(
        Command::new("openssl")
            .args(["base64", "-d", "-A", "-in"])
            .arg(&file),
        "openssl base64 -d",
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The key ids (hex CKA_ID) `keymgr list` shows for a zone.
fn key_ids(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.len() >= 16 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .collect()
}

/// Generates KSK and ZSK for both zones, signs them, validates them.
fn sign_and_validate(knot: &Knot) {
    let out = knot.dir.join("signed");
    std::fs::create_dir_all(&out).unwrap();
    for (zone, _, algorithm) in ZONES {
        let alg = format!("algorithm={algorithm}");
        let ksk = knot.keymgr(zone, &["generate", &alg, "ksk=yes"]);
        let zsk = knot.keymgr(zone, &["generate", &alg, "ksk=no"]);
        let listing = knot.keymgr(zone, &["list"]);
        let ids = key_ids(&listing);
        assert_eq!(ids.len(), 2, "{listing}");
        assert!(ids.contains(&ksk.trim().to_owned()), "{listing}");
        assert!(ids.contains(&zsk.trim().to_owned()), "{listing}");

        // The keys are on the device: the module lists them with Knot's CKA_IDs.
        let objects = run(knot.tool().arg("-O"));
        for id in &ids {
            assert!(objects.contains(&format!("ID:         {id}")), "{objects}");
        }

        run(knot.command("kzonesign").arg(zone).arg("-o").arg(&out));
        let signed = out.join(format!("{zone}zone"));
        let text = std::fs::read_to_string(&signed).unwrap();

        // Independent validators.
        let verified = run(Command::new("ldns-verify-zone").arg(&signed));
        assert!(
            verified.contains("Zone is verified and complete"),
            "{verified}"
        );
        run(Command::new("kzonecheck")
            .args(["--dnssec", "on", "-o", zone])
            .arg(&signed));

        // Every RRset signed; algorithm as configured.
        let rrsigs: Vec<&str> = text
            .lines()
            .filter(|l| l.split_whitespace().nth(2) == Some("RRSIG"))
            .collect();
        assert_eq!(rrsigs.len(), expected_rrsigs(), "{text}");
        assert!(
            rrsigs
                .iter()
                .all(|l| l.split_whitespace().nth(4) == Some(algorithm)),
            "{text}"
        );

        // Each DNSKEY is the public key of a key on the device.
        let dnskeys: Vec<Vec<u8>> = text
            .lines()
            .filter(|l| l.split_whitespace().nth(2) == Some("DNSKEY"))
            .map(|l| base64_decode(&knot.dir, &l.split_whitespace().skip(6).collect::<String>()))
            .collect();
        assert_eq!(dnskeys.len(), 2, "{text}");
        for id in &ids {
            let der = knot.dir.join(format!("{id}.pub.der"));
            run(knot
                .tool()
                .args(["--read-object", "--type", "pubkey", "--id", id, "-o"])
                .arg(&der));
            let spki = std::fs::read(&der).unwrap();
            let matched = dnskeys.iter().any(|k| match algorithm {
                // ECDSA: the DNSKEY is X || Y, the end of the SPKI's uncompressed point.
                "13" => spki.ends_with(k),
                // RSA: exponent length, exponent, modulus; the modulus is in the SPKI.
                _ => {
                    let skip = 1 + usize::from(k[0]);
                    contains(&spki, &k[skip..]) && contains(&spki, &k[1..skip])
                }
            });
            assert!(matched, "no DNSKEY of {zone} is the device's key {id}");
        }

        // The validator does check: a changed record makes it fail.
        let tampered = knot.dir.join(format!("{zone}tampered"));
        assert!(text.contains("198.51.100.7\n"), "{text}");
        std::fs::write(
            &tampered,
            text.replacen("198.51.100.7\n", "198.51.100.99\n", 1),
        )
        .unwrap();
        let bad = hsm_testkit::cli::output(Command::new("ldns-verify-zone").arg(&tampered));
        assert!(!bad.status.success(), "a tampered zone verified");
    }
}

#[test]
fn knot_signs_zones_with_keys_on_the_nethsm_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let sim = nethsm_sim(dir.path(), 0);
    let conf = write_config(dir.path(), &[(nethsm_uri(&sim), "nethsm", "N0001")]);
    // The operator passphrase is the C_Login PIN, given in Knot's PKCS#11 URI.
    let knot = Knot::new(dir.path(), &conf, "nethsm", Some(NETHSM_OPERATOR_PASS));
    sign_and_validate(&knot);
}

#[test]
fn knot_signs_zones_with_keys_on_the_n200_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let sim = n200_sim(dir.path(), 0);
    // Here the slot holds its credential (password-env=): Knot's URI has no PIN, the token asks
    // for no login.
    let uri = format!("{}&password-env=P11_TEST_N200_PASS", n200_uri(&sim));
    let conf = write_config(dir.path(), &[(uri, "n200", "N2001")]);
    let mut knot = Knot::new(dir.path(), &conf, "n200", None);
    knot.env
        .push(("P11_TEST_N200_PASS".to_owned(), N200_PASS.to_owned()));
    sign_and_validate(&knot);
}

#[test]
fn knot_signs_zones_with_keys_on_the_smartcard_hsm_simulator() {
    if !pcscd_with_vpcd() {
        return;
    }
    // Reader 0: the other hsm-p11 card test (peers.rs) takes reader 1, so the two never wait for
    // each other; hsm-sc's tests use both readers, and the reader lock serializes us with them.
    let card = ScCard::insert(0);
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(dir.path(), &[(card.uri(), "sc-hsm", "S0001")]);
    // The user PIN is the C_Login PIN, given in Knot's PKCS#11 URI. Knot's default key sizes
    // (P-256; RSA 2048 bits for KSK and ZSK) are ones the SmartCard-HSM generates, so the policy
    // is the same as for the other backends.
    let knot = Knot::new(dir.path(), &conf, "sc-hsm", Some(SC_HSM_USER_PIN));
    sign_and_validate(&knot);
}
