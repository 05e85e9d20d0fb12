//! The N200 backend against the in-process simulator: conformance, keep-alive, TLS, cores,
//! credentials in logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr
)]

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::tls::TlsOptions;
use hsm_core::uri::BackendUri;
use hsm_core::{
    Curve, ErrorKind, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _,
};
use hsm_n200::sim::{SimConfig, Simulator};
use hsm_n200::{N200, N200Client, RawResponse};

fn sim_backend() -> N200 {
    N200::open(BackendUri::parse("n200+sim:").unwrap()).unwrap()
}

#[test]
fn conformance_suite_passes() {
    let n200 = sim_backend();
    let config = hsm_core::conformance::Config::new("conf").skip_spec(KeySpec::Rsa4096);
    match hsm_core::conformance::run(&n200, &config) {
        Ok(report) => eprintln!("{report}"),
        Err(failures) => panic!("{failures}"),
    }
}

#[test]
fn one_connection_and_one_request_per_signature_after_warm_up() {
    let n200 = sim_backend();
    let key = KeyId::name("dnssec").unwrap();
    let _ = n200
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let pk = n200.public_key(&key).unwrap();
    let _ = n200
        .sign(&key, SignAlgorithm::EcdsaSha256, b"warm-up")
        .unwrap();
    let sim = n200.simulator().unwrap();
    let (conns, reqs) = (sim.connections(), sim.requests());
    for i in 0..50u32 {
        let msg = format!("record {i}");
        let sig = n200
            .sign(&key, SignAlgorithm::EcdsaSha256, msg.as_bytes())
            .unwrap();
        pk.verify(msg.as_bytes(), &sig).unwrap();
    }
    // hyper returns a connection to the pool just after the answer's body ends; on a loaded
    // machine the next request can occasionally start first and open one more. A client with a
    // connection per signature would open 50; the request count below is exact.
    let opened = sim.connections() - conns;
    assert!(
        opened <= 4,
        "{opened} new connections for 50 signatures after warm-up"
    );
    assert_eq!(sim.requests(), reqs + 50, "one HTTP request per signature");
    // During warm-up the pool may open a second connection when a request leaves before the
    // previous answer's connection is back in the pool.
    assert!(conns <= 2, "{conns} connections during warm-up");

    let messages: Vec<Vec<u8>> = (0..64u32).map(|i| format!("m{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let before = sim.requests();
    let results = n200.sign_many(&key, SignAlgorithm::EcdsaSha256, &refs);
    for (m, r) in refs.iter().zip(results) {
        pk.verify(m, &r.unwrap()).unwrap();
    }
    assert_eq!(sim.requests(), before + 64);
    // Bounded by the in-flight limit (a connection that is not back in the pool yet when the
    // next request leaves makes the pool open another one, hence the factor 2), not by 64.
    let opened = sim.connections() - conns;
    eprintln!("sign_many of 64 opened {opened} connections");
    assert!(
        opened <= 2 * hsm_n200::DEFAULT_MAX_IN_FLIGHT as u64,
        "{opened}"
    );
}

fn cert_file(sim: &Simulator) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(sim.cert_pem().as_bytes()).unwrap();
    f
}

#[test]
fn tls_needs_the_server_name_override_and_honours_pins() {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let ca = cert_file(&sim);
    let ip = sim.addr().ip().to_string();
    let client = |tls: TlsOptions| {
        N200Client::builder(ip.clone(), sim.addr().port(), "pkmaster", sim.password())
            .tls(tls)
            .retries(0)
            .build()
            .unwrap()
    };
    // The certificate names seSAM-nserie-101 only: by IP it fails, as in the record.
    let by_ip = client(TlsOptions::default().with_ca_file(ca.path()));
    assert_eq!(
        by_ip.timestamp().unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    let named = client(
        TlsOptions::default()
            .with_ca_file(ca.path())
            .with_server_name("seSAM-nserie-101"),
    );
    assert!(named.timestamp().unwrap().unix_seconds > 1_600_000_000);
    let wrong_name = client(
        TlsOptions::default()
            .with_ca_file(ca.path())
            .with_server_name("other"),
    );
    assert!(wrong_name.timestamp().is_err());
    let pinned = client(TlsOptions::default().with_pin_sha256(sim.cert_sha256()));
    assert!(pinned.get_random(8).is_ok());
    let wrong_pin = client(TlsOptions::default().with_pin_sha256([7; 32]));
    assert!(wrong_pin.get_random(8).is_err());
    let insecure = client(TlsOptions::default().danger_accept_invalid_certs());
    assert!(insecure.get_random(8).is_ok());
}

#[test]
fn cores_have_separate_key_spaces() {
    let n200 = sim_backend();
    let core1 = n200.client().clone();
    let core2 = core1.with_core(2);
    let pin = SecretString::from("12345678");
    let _ = core1
        .gen_ecc_key(Curve::P256, "on-one", &pin, "FFFF")
        .unwrap();
    let _ = core2
        .gen_ecc_key(Curve::P384, "on-two", &pin, "FFFF")
        .unwrap();
    assert!(core2.key_attributes("on-one").unwrap_err().is_not_found());
    let all = core1.list_keys_on_cores(&[1, 2], "NIST").unwrap();
    let names: Vec<(u8, String)> = all
        .into_iter()
        .map(|(c, k)| (c, k.nice_name.unwrap()))
        .collect();
    assert_eq!(names, vec![(1, "on-one".into()), (2, "on-two".into())]);
    // The GET listing without a core spans every core and says core 0, as the record shows.
    let listed = core1.get_api().list_keys("NIST").unwrap();
    assert_eq!(listed.core, Some(0));
    assert_eq!(listed.keys.len(), 2);
}

#[test]
fn key_ids_token_labels_and_pkcs11_uris() {
    let n200 = sim_backend();
    let info = n200
        .generate_key(&KeyTemplate::new(
            KeyId::name("JP.example").unwrap(),
            KeySpec::Ec(Curve::P256),
        ))
        .unwrap();
    let key_id = info.extras["key_id"].clone();
    let label = info.extras["token_label"].clone();
    assert_eq!(key_id.len(), 39);
    assert_eq!(label.len(), 31);
    assert_eq!(
        info.extras["pkcs11_uri"],
        format!("pkcs11:token={label};object=JP.example")
    );
    // The same key by nice name, key id, token label and CKA_ID.
    let listed = n200
        .key_info(&KeyId::name(key_id.clone()).unwrap())
        .unwrap();
    let cka = listed.extras["cka_id"].clone();
    for id in [key_id.clone(), label, format!("id:{cka}")] {
        let k: KeyId = id.parse().unwrap();
        assert_eq!(n200.key_info(&k).unwrap().extras["key_id"], key_id, "{id}");
    }
}

#[test]
fn errors_keep_the_raw_body_and_overrides_change_the_wire() {
    let n200 = sim_backend();
    let sim = n200.simulator().unwrap();
    let mut table = hsm_n200::commands::CommandTable::default();
    table
        .apply_json(r#"{"timestamp": {"command": "gettime"}}"#)
        .unwrap();
    let client = sim
        .client_builder()
        .unwrap()
        .commands(table)
        .build()
        .unwrap();
    let e = client.timestamp().unwrap_err();
    let raw = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<RawResponse>())
        .expect("raw answer kept");
    assert_eq!(raw.status(), 400);
    assert!(raw.body().contains("unknown command"), "{}", raw.body());

    // A wrong password is an authentication failure, sent once (never retried).
    let bad = N200Client::builder(
        sim.addr().ip().to_string(),
        sim.addr().port(),
        "pkmaster",
        SecretString::from("wrong-password"),
    )
    .tls(TlsOptions::default().with_pin_sha256(sim.cert_sha256()))
    .build()
    .unwrap();
    let before = sim.requests();
    assert!(bad.timestamp().unwrap_err().is_auth());
    assert_eq!(sim.requests(), before + 1);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn no_password_or_pin_in_logs_errors_or_debug() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let mut config = SimConfig::new("pkmaster", SecretString::from("Sup3r-Secret-Pw"));
    config.demo_keys = true;
    let sim = Simulator::start(config).unwrap();
    let pin = SecretString::from("Key-PIN-98765");
    let sym_pin = SecretString::from("12345678");
    let scalar = [0x44u8; 32];
    let scalar_hex = hex::encode_upper(scalar);
    let mut seen = String::new();
    tracing::subscriber::with_default(subscriber, || {
        let client = sim.client_builder().unwrap().build().unwrap();
        let backend = N200::new(
            client.clone(),
            SecretString::from(pin.expose_secret()),
            "FFFF",
        );
        let mut outputs: Vec<String> = vec![
            format!("{client:?}"),
            format!("{backend:?}"),
            format!("{sim:?}"),
        ];
        let mut note = |r: Result<String, hsm_core::Error>| match r {
            Ok(s) => outputs.push(s),
            Err(e) => outputs.push(format!("{e} {e:?}")),
        };
        note(
            client
                .gen_ecc_key(Curve::P256, "logkey", &pin, "FFFF")
                .map(|g| format!("{g:?}")),
        );
        note(
            client
                .gen_rsa_key(2048, "logrsa", &pin, "FFFF")
                .map(|g| format!("{g:?}")),
        );
        note(
            client
                .import_ecc_key(Curve::P256, "logimp", &pin, "FFFF", &scalar)
                .map(|g| g.to_string()),
        );
        note(client.list_keys("NIST").map(|l| format!("{l:?}")));
        note(client.key_attributes("logkey").map(|l| format!("{l:?}")));
        note(client.encrypt("k01", &sym_pin, "CBC", "hello-world"));
        note(
            client
                .get_api()
                .encrypt("k01", &sym_pin, "CBC", "hello-world"),
        );
        note(client.get_api().decrypt("k01", &pin, "CBC", "00"));
        note(client.get_random(5).map(|r| format!("{r:?}")));
        note(client.timestamp().map(|t| format!("{t:?}")));
        note(client.get_api().timestamp().map(|t| format!("{t:?}")));
        note(client.get_api().get_random(5).map(|t| format!("{t:?}")));
        note(
            client
                .get_api()
                .key_attributes("logkey")
                .map(|t| format!("{t:?}")),
        );
        note(client.get_api().list_keys("NIST").map(|t| format!("{t:?}")));
        let digest = [1u8; 32];
        let sig = client.sign_ecc(
            "logkey",
            &pin,
            Curve::P256,
            SignAlgorithm::EcdsaSha256,
            &digest,
        );
        note(
            sig.as_ref()
                .map(|s| format!("{s:?}"))
                .map_err(|e| hsm_core::Error::new(e.kind(), "x")),
        );
        if let Ok(s) = &sig {
            note(
                client
                    .verify_ecc("logkey", SignAlgorithm::EcdsaSha256, &digest, s)
                    .map(|b| b.to_string()),
            );
        }
        note(
            client
                .sign_rsa("logrsa", &pin, 256, SignAlgorithm::RsaPssSha256, &digest)
                .map(|s| format!("{s:?}")),
        );
        // Wrong PINs and a wrong password: the errors must not echo them either.
        note(
            client
                .sign_ecc(
                    "logkey",
                    &sym_pin,
                    Curve::P256,
                    SignAlgorithm::EcdsaSha256,
                    &digest,
                )
                .map(|s| format!("{s:?}")),
        );
        let key = KeyId::name("logkey").unwrap();
        note(
            backend
                .sign(&key, SignAlgorithm::EcdsaSha256, b"m")
                .map(|s| format!("{s:?}")),
        );
        note(backend.list_keys().map(|s| format!("{s:?}")));
        note(backend.public_key(&key).map(|s| format!("{s:?}")));
        note(backend.delete_key(&key).map(|s| format!("{s:?}")));
        note(client.delete_key("logrsa", &pin).map(|s| format!("{s:?}")));
        let bad = N200Client::builder(
            sim.addr().ip().to_string(),
            sim.addr().port(),
            "pkmaster",
            SecretString::from("Wrong-Pw-4321"),
        )
        .tls(TlsOptions::default().with_pin_sha256(sim.cert_sha256()))
        .build()
        .unwrap();
        note(bad.get_api().encrypt("k01", &pin, "CBC", "x"));
        seen = outputs.join("\n");
    });
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("n200.post") && logs.contains("answer"),
        "TRACE logs were captured"
    );
    assert!(logs.contains("pin=***"), "the PIN field is logged masked");
    for secret in [
        "Sup3r-Secret-Pw",
        "Key-PIN-98765",
        "12345678",
        "Wrong-Pw-4321",
        scalar_hex.as_str(),
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs");
        assert!(
            !seen.contains(secret),
            "{secret} in results, errors or Debug:\n{seen}"
        );
    }
    // Base64 of user:password in an Authorization header would also be a leak.
    assert!(!logs.contains("Authorization") && !logs.contains("Basic "));
}
