//! No credential leaks: every command of both APIs, through the client and the backend, with its
//! failures (wrong password, wrong PINs, unknown and duplicate keys, answers broken off and
//! settled, a refused TLS pin), runs with every `tracing` event at TRACE captured into a buffer
//! (this crate's, and the `log` records of its HTTP and TLS stack); no password, PIN, imported
//! scalar or Basic-auth value appears in it, nor in any result, error `Display`/`Debug`, nor in
//! the `Debug` of any value that holds one.

use hsm_core::secret::SecretString;
use hsm_core::testkit::{Secrets, TraceCapture, error_text};
use hsm_core::tls::TlsOptions;
use hsm_core::{
    Curve, ImportRequest, KeyId, KeySpec, KeyStore as _, KeyTemplate, PrivateKeyDer, SignAlgorithm,
    Signer as _,
};
use hsm_n200::sim::{Fault, SimConfig, Simulator};
use hsm_n200::{N200, N200Client};
use p256::pkcs8::EncodePrivateKey as _;

const PASSWORD: &str = "Sup3r-Secret-Pw";
const WRONG_PASSWORD: &str = "Wrong-Pw-4321";
const PIN: &str = "Key-PIN-98765";
const WRONG_PIN: &str = "Bad-PIN-13579";
/// The PIN of the record's symmetric key `k01` (the simulator's demo key).
const SYM_PIN: &str = "12345678";

/// Collects what a call returned: its value's `Debug`, or its error's `Display` and `Debug`
/// (which show the whole source chain, the kept raw answer included).
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn note<T: std::fmt::Debug>(&mut self, what: &str, r: hsm_core::Result<T>) {
        self.0.push(match r {
            Ok(v) => format!("{what}: ok {v:?}"),
            Err(e) => format!("{what}: {}", error_text(&e)),
        });
    }

    fn error<T: std::fmt::Debug>(&mut self, what: &str, r: hsm_core::Result<T>) {
        assert!(r.is_err(), "{what} should fail: {r:?}");
        self.note(what, r);
    }
}

#[test]
fn no_password_pin_or_key_reaches_logs_errors_or_debug_output() {
    // Global: the `log` records of rustls and hyper, and the runtime's threads, are captured too.
    let capture = TraceCapture::install_global().unwrap();

    let mut config = SimConfig::new().credentials("pkmaster", SecretString::from(PASSWORD));
    config.demo_keys = true;
    config.key_pin = SecretString::from(PIN);
    let sim = Simulator::start(config).unwrap();
    let scalar = [0x44u8; 32];
    let scalar_hex = hex::encode_upper(scalar);
    let pin = SecretString::from(PIN);
    let wrong_pin = SecretString::from(WRONG_PIN);
    let sym_pin = SecretString::from(SYM_PIN);
    let builder = sim.client_builder().unwrap();
    let mut seen = Seen::default();
    seen.0.push(format!("{builder:?} {sim:?}"));
    let client = builder.build().unwrap();
    let n200 = N200::new(client.clone(), SecretString::from(PIN), "FFFF").unwrap();
    seen.0
        .push(format!("{client:?} {n200:?} {:?}", n200.to_async()));
    let c = n200.client().clone();

    // POST v1, every command, successes.
    seen.note(
        "gen_ecc_key",
        n200.block_on(c.gen_ecc_key(Curve::P256, "logkey", &pin, "FFFF")),
    );
    seen.note(
        "gen_rsa_key",
        n200.block_on(c.gen_rsa_key(2048, "logrsa", &pin, "FFFF")),
    );
    seen.note(
        "import_ecc_key",
        n200.block_on(c.import_ecc_key(Curve::P256, "logimp", &pin, "FFFF", &scalar)),
    );
    seen.note(
        "gen_sym_key",
        n200.block_on(c.gen_sym_key(256, "logaes", &pin, "FFFF")),
    );
    seen.note("list_keys", n200.block_on(c.list_keys("NIST")));
    seen.note(
        "list_keys_on_cores",
        n200.block_on(c.list_keys_on_cores(&[1, 2], "RSA")),
    );
    seen.note("key_attributes", n200.block_on(c.key_attributes("logkey")));
    let ct = n200.block_on(c.encrypt("k01", &sym_pin, "CBC", "hello-world"));
    seen.note(
        "encrypt",
        n200.block_on(c.encrypt("k01", &sym_pin, "CBC", "x")),
    );
    if let Ok(ct) = &ct {
        seen.note(
            "decrypt",
            n200.block_on(c.decrypt("k01", &sym_pin, "CBC", ct)),
        );
    }
    seen.note("get_random", n200.block_on(c.get_random(5)));
    seen.note("timestamp", n200.block_on(c.timestamp()));
    let digest = [1u8; 32];
    let sig = n200.block_on(c.sign_ecc(
        "logkey",
        &pin,
        Curve::P256,
        SignAlgorithm::EcdsaSha256,
        &digest,
    ));
    if let Ok(s) = &sig {
        seen.note(
            "verify_ecc",
            n200.block_on(c.verify_ecc("logkey", SignAlgorithm::EcdsaSha256, &digest, s)),
        );
    }
    seen.note("sign_ecc", sig);
    seen.note(
        "sign_rsa",
        n200.block_on(c.sign_rsa("logrsa", &pin, 256, SignAlgorithm::RsaPssSha256, &digest)),
    );

    // GET API, every command.
    let g = c.get_api();
    seen.note("get timestamp", n200.block_on(g.timestamp()));
    seen.note("get getrandom", n200.block_on(g.get_random(5)));
    seen.note(
        "get getkeyattributes",
        n200.block_on(g.key_attributes("logkey")),
    );
    seen.note("get listkeys", n200.block_on(g.list_keys("NIST")));
    let gct = n200.block_on(g.encrypt("k01", &sym_pin, "CBC", "hello-world"));
    if let Ok(ct) = &gct {
        seen.note(
            "get decrypt",
            n200.block_on(g.decrypt("k01", &sym_pin, "CBC", ct)),
        );
    }
    seen.note("get encrypt", gct);

    // Failures: wrong PINs, unknown and duplicate keys.
    seen.error(
        "sign_ecc wrong pin",
        n200.block_on(c.sign_ecc(
            "logkey",
            &wrong_pin,
            Curve::P256,
            SignAlgorithm::EcdsaSha256,
            &digest,
        )),
    );
    seen.error(
        "sign_rsa wrong pin",
        n200.block_on(c.sign_rsa(
            "logrsa",
            &wrong_pin,
            256,
            SignAlgorithm::RsaPkcs1Sha256,
            &digest,
        )),
    );
    seen.error(
        "encrypt wrong pin",
        n200.block_on(c.encrypt("k01", &wrong_pin, "CBC", "x")),
    );
    seen.error(
        "get encrypt wrong pin",
        n200.block_on(g.encrypt("k01", &wrong_pin, "CBC", "x")),
    );
    seen.error(
        "get decrypt wrong pin",
        n200.block_on(g.decrypt("k01", &wrong_pin, "CBC", "00")),
    );
    seen.error(
        "delete wrong pin",
        n200.block_on(c.delete_key("logimp", &wrong_pin)),
    );
    seen.error(
        "encrypt wrong pin, generated AES key",
        n200.block_on(c.encrypt("logaes", &wrong_pin, "CBC", "x")),
    );
    seen.error(
        "duplicate gen",
        n200.block_on(c.gen_ecc_key(Curve::P256, "logkey", &pin, "FFFF")),
    );
    seen.error(
        "duplicate import",
        n200.block_on(c.import_ecc_key(Curve::P256, "logimp", &pin, "FFFF", &scalar)),
    );
    seen.error(
        "sign unknown",
        n200.block_on(c.sign_ecc(
            "nokey",
            &pin,
            Curve::P256,
            SignAlgorithm::EcdsaSha256,
            &digest,
        )),
    );

    // Answers broken off after the device acted, and refused ones: settled by asking.
    sim.inject([Fault::BreakAfterCommit]);
    seen.note(
        "import settled",
        n200.block_on(c.import_ecc_key(Curve::P256, "logimp2", &pin, "FFFF", &scalar)),
    );
    sim.inject([Fault::Refuse(500)]);
    seen.error(
        "import refused",
        n200.block_on(c.import_ecc_key(Curve::P256, "logimp3", &pin, "FFFF", &scalar)),
    );
    sim.inject([Fault::BreakAfterCommit]);
    seen.note(
        "delete settled",
        n200.block_on(c.delete_key("logimp2", &pin)),
    );
    sim.inject([Fault::Refuse(503), Fault::Refuse(500), Fault::Refuse(502)]);
    seen.error(
        "sign after three 5xx",
        n200.block_on(c.sign_ecc(
            "logkey",
            &pin,
            Curve::P256,
            SignAlgorithm::EcdsaSha256,
            &digest,
        )),
    );

    // The backend, the whole flow.
    let key = KeyId::name("backend-key").unwrap();
    seen.note(
        "generate_key",
        n200.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256))),
    );
    seen.note("sign", n200.sign(&key, SignAlgorithm::EcdsaSha256, b"m"));
    let many: Vec<&[u8]> = vec![b"a", b"b"];
    for r in n200.sign_many(&key, SignAlgorithm::EcdsaSha256, &many) {
        seen.note("sign_many", r);
    }
    seen.note("list", n200.list_keys());
    seen.note("public_key", n200.public_key(&key));
    let aes = KeyId::name("backend-aes").unwrap();
    seen.note(
        "generate_key aes",
        n200.generate_key(&KeyTemplate::new(aes.clone(), KeySpec::Aes128)),
    );
    let backend_ct = n200.encrypt(&aes, "CBC", "backend secret text");
    if let Ok(ct) = &backend_ct {
        seen.note("backend decrypt", n200.decrypt(&aes, "CBC", ct));
    }
    seen.note("backend encrypt", backend_ct);
    seen.error("backend encrypt, EC key", n200.encrypt(&key, "CBC", "x"));
    let pkcs8 = p256::SecretKey::from_slice(&[0x55u8; 32])
        .unwrap()
        .to_pkcs8_der()
        .unwrap();
    let pkcs8_hex = hex::encode_upper([0x55u8; 32]);
    let request = ImportRequest::new(
        KeyId::name("imported").unwrap(),
        PrivateKeyDer::new(zeroize::Zeroizing::new(pkcs8.as_bytes().to_vec())),
    );
    seen.0.push(format!("{request:?}"));
    seen.note("import_key", n200.import_key(&request));
    seen.error("import_key again", n200.import_key(&request));
    seen.note("delete", n200.delete_key(&key));
    seen.error(
        "sign deleted",
        n200.sign(&key, SignAlgorithm::EcdsaSha256, b"m"),
    );

    // A wrong password, on both APIs (the GET one carries the PIN in its path).
    let bad = N200Client::builder(
        sim.addr().ip().to_string(),
        sim.addr().port(),
        "pkmaster",
        SecretString::from(WRONG_PASSWORD),
    )
    .tls(
        TlsOptions::default()
            .with_pin_sha256(sim.cert_sha256())
            .with_server_name(sim.server_name()),
    )
    .build()
    .unwrap();
    seen.0.push(format!("{bad:?}"));
    seen.error("wrong password post", n200.block_on(bad.timestamp()));
    seen.error(
        "wrong password post with pin",
        n200.block_on(bad.sign_ecc(
            "logkey",
            &pin,
            Curve::P256,
            SignAlgorithm::EcdsaSha256,
            &digest,
        )),
    );
    seen.error(
        "wrong password get with pin",
        n200.block_on(bad.get_api().encrypt("k01", &sym_pin, "CBC", "x")),
    );
    let bad_backend = N200::new(bad, SecretString::from(PIN), "FFFF").unwrap();
    seen.error(
        "wrong password backend",
        bad_backend.sign(&key, SignAlgorithm::EcdsaSha256, b"m"),
    );

    // A refused TLS pin.
    let pinned_wrong = sim
        .client_builder()
        .unwrap()
        .tls(TlsOptions::default().with_pin_sha256([9; 32]))
        .build()
        .unwrap();
    seen.error(
        "tls refused",
        n200.block_on(pinned_wrong.get_api().encrypt("k01", &sym_pin, "CBC", "x")),
    );

    let logs = capture.text();
    let seen = seen.0.join("\n");
    assert!(
        logs.contains("n200.post") && logs.contains("answer") && logs.contains("TRACE"),
        "TRACE logs were captured"
    );
    assert!(logs.contains("pin=***"), "the PIN field is logged masked");
    assert!(
        logs.contains("checking whether the key"),
        "settlement logged"
    );
    let mut secrets = Secrets::new();
    let _ = secrets
        .text(PIN)
        .text(WRONG_PIN)
        .text(SYM_PIN)
        .text(scalar_hex)
        .text(pkcs8_hex)
        .basic_auth("pkmaster", PASSWORD)
        .basic_auth("pkmaster", WRONG_PASSWORD);
    secrets.assert_absent("the TRACE log", &logs);
    secrets.assert_absent("results, errors or Debug", &seen);
    assert!(!logs.contains("Authorization") && !logs.contains("authorization: Basic"));
    // The outputs were really produced: failures with their kinds, and settled calls.
    assert!(seen.contains("import settled: ok"), "{seen}");
    assert!(seen.contains("delete settled: ok"), "{seen}");
    assert!(seen.contains("was not created"), "{seen}");
}
