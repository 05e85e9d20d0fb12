//! The N200 backend against the in-process simulator: conformance, keep-alive, TLS, cores,
//! credentials, the async API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::testkit::sign_and_verify;
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

/// A runtime for the async client's futures.
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn conformance_suite_passes() {
    let n200 = sim_backend();
    // Every declared spec, RSA-4096 and AES-128/256 included.
    let config = hsm_core::conformance::Config::new("conf");
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
        sign_and_verify(&n200, &key, SignAlgorithm::EcdsaSha256, &pk, msg.as_bytes()).unwrap();
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
fn tls_fails_closed_needs_the_server_name_override_and_honours_pins() {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let rt = rt();
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
        rt.block_on(by_ip.timestamp()).unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    let named = client(
        TlsOptions::default()
            .with_ca_file(ca.path())
            .with_server_name("seSAM-nserie-101"),
    );
    assert!(rt.block_on(named.timestamp()).unwrap().unix_seconds > 1_600_000_000);
    let wrong_name = client(
        TlsOptions::default()
            .with_ca_file(ca.path())
            .with_server_name("other"),
    );
    assert!(rt.block_on(wrong_name.timestamp()).is_err());
    // Another device's certificate as CA, the right name: refused.
    let other = Simulator::start(SimConfig::random_credentials()).unwrap();
    let other_ca = cert_file(&other);
    let wrong_ca = client(
        TlsOptions::default()
            .with_ca_file(other_ca.path())
            .with_server_name("seSAM-nserie-101"),
    );
    let e = rt.block_on(wrong_ca.timestamp()).unwrap_err();
    assert!(e.to_string().contains("TLS"), "{e}");
    let pinned = client(TlsOptions::default().with_pin_sha256(sim.cert_sha256()));
    assert!(rt.block_on(pinned.get_random(8)).is_ok());
    let wrong_pin = client(TlsOptions::default().with_pin_sha256([7; 32]));
    assert!(rt.block_on(wrong_pin.get_random(8)).is_err());
    // A refused certificate is final: one connection, not one per retry.
    let retrying = N200Client::builder(ip.clone(), sim.addr().port(), "pkmaster", sim.password())
        .tls(TlsOptions::default().with_pin_sha256([7; 32]))
        .retries(3)
        .build()
        .unwrap();
    let before = sim.connections();
    let e = rt.block_on(retrying.timestamp()).unwrap_err();
    assert!(e.to_string().contains("TLS"), "{e} {e:?}");
    assert_eq!(sim.connections() - before, 1);
    let insecure = client(TlsOptions::default().danger_accept_invalid_certs());
    assert!(rt.block_on(insecure.get_random(8)).is_ok());
}

#[test]
fn cores_have_separate_key_spaces() {
    let n200 = sim_backend();
    let core1 = n200.client().clone();
    let core2 = core1.with_core(2);
    let pin = SecretString::from("12345678");
    let _ = n200
        .block_on(core1.gen_ecc_key(Curve::P256, "on-one", &pin, "FFFF"))
        .unwrap();
    let _ = n200
        .block_on(core2.gen_ecc_key(Curve::P384, "on-two", &pin, "FFFF"))
        .unwrap();
    assert!(
        n200.block_on(core2.key_attributes("on-one"))
            .unwrap_err()
            .is_not_found()
    );
    let all = n200
        .block_on(core1.list_keys_on_cores(&[1, 2], "NIST"))
        .unwrap();
    let names: Vec<(u8, String)> = all
        .into_iter()
        .map(|(c, k)| (c, k.nice_name.unwrap()))
        .collect();
    assert_eq!(names, vec![(1, "on-one".into()), (2, "on-two".into())]);
    // The GET listing without a core spans every core and says core 0, as the record shows.
    let listed = n200.block_on(core1.get_api().list_keys("NIST")).unwrap();
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
    let mut table = hsm_n200::CommandTable::default();
    table
        .apply_json(r#"{"timestamp": {"command": "gettime"}}"#)
        .unwrap();
    let client = sim
        .client_builder()
        .unwrap()
        .commands(table)
        .build()
        .unwrap();
    let e = n200.block_on(client.timestamp()).unwrap_err();
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
    assert!(n200.block_on(bad.timestamp()).unwrap_err().is_auth());
    assert_eq!(sim.requests(), before + 1);
}

#[test]
fn credentials_are_required_unless_anonymous_access_is_allowed() {
    let rt = rt();
    let status = |sim: &Simulator, get: bool, auth: Option<&str>| -> u16 {
        let tls = TlsOptions::default().with_pin_sha256(sim.cert_sha256());
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(hsm_core::tls::client_config(&tls).unwrap())
            .resolve(sim.server_name(), sim.addr())
            .build()
            .unwrap();
        let base = format!("https://{}:{}/n200/", sim.server_name(), sim.addr().port());
        let mut request = if get {
            http.get(format!("{base}timestamp/"))
        } else {
            http.post(format!("{base}web/postv1"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("command=timestamp")
        };
        if let Some(password) = auth {
            request = request.basic_auth(sim.user(), Some(password));
        }
        rt.block_on(request.send()).unwrap().status().as_u16()
    };
    let strict = Simulator::start(SimConfig::random_credentials()).unwrap();
    let password = strict.password().expose_secret().to_owned();
    for get in [true, false] {
        assert_eq!(status(&strict, get, None), 401, "no credentials, get={get}");
        assert_eq!(status(&strict, get, Some("wrong")), 401, "wrong, get={get}");
        assert_eq!(
            status(&strict, get, Some(&password)),
            200,
            "right, get={get}"
        );
    }
    let mut config = SimConfig::random_credentials();
    config.allow_anonymous = true;
    let open = Simulator::start(config).unwrap();
    for get in [true, false] {
        assert_eq!(status(&open, get, None), 200, "anonymous, get={get}");
        assert_eq!(status(&open, get, Some("wrong")), 401, "wrong, get={get}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_api_serves_a_tokio_service_without_blocking_it() {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let client = sim.client_builder().unwrap().build().unwrap();
    let n200 = hsm_n200::AsyncN200::new(client, sim.key_pin(), "FFFF");
    let key = KeyId::name("async-key").unwrap();
    let _ = n200
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P384)))
        .await
        .unwrap();
    let pk = n200.public_key(&key).await.unwrap();
    // Futures are Send: signatures run as spawned tasks of the service's own runtime.
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let (n200, key) = (n200.clone(), key.clone());
            tokio::spawn(async move {
                let msg = format!("task {i}").into_bytes();
                let sig = n200
                    .sign(&key, SignAlgorithm::EcdsaSha384, &msg)
                    .await
                    .unwrap();
                (msg, sig)
            })
        })
        .collect();
    for t in tasks {
        let (msg, sig) = t.await.unwrap();
        pk.verify(&msg, &sig).unwrap();
    }
    let messages: Vec<&[u8]> = vec![b"a", b"b", b"c"];
    for (m, r) in messages.iter().zip(
        n200.sign_many(&key, SignAlgorithm::EcdsaSha384, &messages)
            .await,
    ) {
        pk.verify(m, &r.unwrap()).unwrap();
    }
    assert!(n200.client().timestamp().await.unwrap().unix_seconds > 1_600_000_000);
    n200.delete_key(&key).await.unwrap();
    assert!(n200.key_info(&key).await.unwrap_err().is_not_found());
}

#[test]
fn aes_keys_are_generated_and_encrypt_and_decrypt_with_cbc() {
    let n200 = sim_backend();
    let message = "hello-world";
    let mut ciphertexts = Vec::new();
    for (spec, bits) in [(KeySpec::Aes128, 128u32), (KeySpec::Aes256, 256)] {
        let key = KeyId::name(format!("sym-{bits}")).unwrap();
        let info = n200
            .generate_key(&KeyTemplate::new(key.clone(), spec))
            .unwrap();
        assert_eq!(info.spec, Some(spec));
        // The device lists it as the record shows k01: key_type SYM with its size.
        let entry = n200
            .block_on(n200.client().key_attributes(key.as_name().unwrap()))
            .unwrap();
        assert_eq!(entry.key_type.as_deref(), Some("SYM"));
        assert_eq!(entry.key_len, Some(bits));
        assert_eq!(n200.key_info(&key).unwrap().spec, Some(spec));
        assert_eq!(
            n200.public_key(&key).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );

        let ct = n200.encrypt(&key, "CBC", message).unwrap();
        let bytes = hex::decode(&ct).unwrap();
        // IV and at least one block; a fresh IV each time, so never the same ciphertext twice.
        assert!(bytes.len() >= 32 && bytes.len().is_multiple_of(16), "{ct}");
        assert!(!ct.contains(&hex::encode_upper(message)));
        let again = n200.encrypt(&key, "CBC", message).unwrap();
        assert_ne!(ct, again);
        assert_eq!(n200.decrypt(&key, "CBC", &ct).unwrap(), message);
        assert_eq!(n200.decrypt(&key, "CBC", &again).unwrap(), message);
        ciphertexts.push((key, ct));
    }
    // The other key does not decrypt it to the message.
    let (k128, ct128) = &ciphertexts[0];
    let (k256, _) = &ciphertexts[1];
    assert!(
        n200.decrypt(k256, "CBC", ct128)
            .map_or(true, |plain| plain != message)
    );
    // A signing key does not encrypt, and an AES key does not sign.
    let ec = KeyId::name("not-aes").unwrap();
    let _ = n200
        .generate_key(&KeyTemplate::new(ec.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let e = n200.encrypt(&ec, "CBC", message).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.operation(), "n200.encrypt");
    let e = n200
        .sign(k128, SignAlgorithm::EcdsaSha256, b"m")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        n200.encrypt(&KeyId::name("nosuch").unwrap(), "CBC", message)
            .unwrap_err()
            .is_not_found()
    );
    // The typed client command and the GET form (the record's curl lines) on the same key.
    let pin = n200.simulator().unwrap().key_pin();
    let client = n200.client();
    let ct = n200
        .block_on(client.get_api().encrypt("sym-256", &pin, "CBC", message))
        .unwrap();
    assert_eq!(
        n200.block_on(client.decrypt("sym-256", &pin, "CBC", &ct))
            .unwrap(),
        message
    );
    n200.delete_key(k128).unwrap();
    assert!(n200.key_info(k128).unwrap_err().is_not_found());
}

#[test]
fn the_guessed_aes_generation_command_is_overridable() {
    // A device whose manual names the command and its size field differently.
    let dialect = r#"{"gen_sym_key": {"command": "genaeskey", "fields": {"key_size": "bits"}}}"#;
    let mut table = hsm_n200::CommandTable::default();
    table.apply_json(dialect).unwrap();
    let mut config = SimConfig::random_credentials();
    config.commands = table.clone();
    let sim = Simulator::start(config).unwrap();

    // With the built-in guess, the device does not know the command: nothing is created.
    let guessing = N200::new(
        sim.client_builder().unwrap().build().unwrap(),
        sim.key_pin(),
        "FFFF",
    )
    .unwrap();
    let key = KeyId::name("aes-dialect").unwrap();
    let e = guessing
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Aes256))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.operation(), "n200.gen_sym_key");
    let raw = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<RawResponse>())
        .expect("raw answer kept");
    assert!(raw.body().contains("unknown command"), "{}", raw.body());
    assert!(guessing.key_info(&key).unwrap_err().is_not_found());

    // With the override (the same JSON a `commands=FILE` URI parameter reads), it works.
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(dialect.as_bytes()).unwrap();
    let mut from_file = hsm_n200::CommandTable::default();
    from_file.apply_file(file.path()).unwrap();
    assert_eq!(from_file, table);
    let told = N200::new(
        sim.client_builder()
            .unwrap()
            .commands(from_file)
            .build()
            .unwrap(),
        sim.key_pin(),
        "FFFF",
    )
    .unwrap();
    let info = told
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Aes256))
        .unwrap();
    assert_eq!(info.spec, Some(KeySpec::Aes256));
    let ct = told.encrypt(&key, "CBC", "overridden").unwrap();
    assert_eq!(told.decrypt(&key, "CBC", &ct).unwrap(), "overridden");
}

/// `openssl dgst -verify` of an RSA signature (PKCS#1 v1.5, or PSS with a digest-length salt).
fn openssl_verifies(pk: &hsm_core::PublicKey, message: &[u8], sig: &[u8], pss: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (pem, msg, sig_file) = (
        dir.path().join("pub.pem"),
        dir.path().join("msg"),
        dir.path().join("sig"),
    );
    std::fs::write(&pem, pk.to_pem()).unwrap();
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig_file, sig).unwrap();
    let mut cmd = std::process::Command::new("openssl");
    let _ = cmd.args(["dgst", "-sha256", "-verify"]).arg(&pem);
    if pss {
        let _ = cmd.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ]);
    }
    let out = cmd
        .arg("-signature")
        .arg(&sig_file)
        .arg(&msg)
        .output()
        .expect("the openssl CLI runs");
    out.status.success()
}

#[test]
fn rsa_4096_keys_sign_pkcs1_and_pss_verified_by_openssl() {
    let n200 = sim_backend();
    let key = KeyId::name("rsa4096").unwrap();
    let started = std::time::Instant::now();
    let info = n200
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Rsa4096))
        .unwrap();
    eprintln!("RSA-4096 generated in {:?}", started.elapsed());
    assert_eq!(info.spec, Some(KeySpec::Rsa4096));
    let pk = n200.public_key(&key).unwrap();
    assert_eq!(pk.spec(), Some(KeySpec::Rsa4096));
    let message = b"licence file, signed with RSA-4096";
    for (alg, pss) in [
        (SignAlgorithm::RsaPkcs1Sha256, false),
        (SignAlgorithm::RsaPssSha256, true),
    ] {
        let sig = n200.sign(&key, alg, message).unwrap();
        assert_eq!(sig.as_raw().len(), 512, "{alg}");
        pk.verify(message, &sig).unwrap();
        assert!(openssl_verifies(&pk, message, sig.as_raw(), pss), "{alg}");
        // Another message: openssl refuses it, and so does verify, as a failed verification.
        assert!(
            !openssl_verifies(&pk, b"another file", sig.as_raw(), pss),
            "{alg}"
        );
        assert_eq!(
            pk.verify(b"another file", &sig).unwrap_err().kind(),
            ErrorKind::VerificationFailed,
            "{alg}"
        );
    }
    for alg in [SignAlgorithm::RsaPkcs1Sha512, SignAlgorithm::RsaPssSha384] {
        let sig = n200.sign(&key, alg, message).unwrap();
        pk.verify(message, &sig).unwrap();
    }
}

#[test]
fn the_async_traits_on_async_n200_pass_the_conformance_suite() {
    // AsyncN200 as an `Arc<dyn AsyncHsm>`, driven from blocking code through hsm-core's bridge:
    // the same suite as the blocking backend, through the async trait methods.
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let client = sim.client_builder().unwrap().build().unwrap();
    let n200: std::sync::Arc<dyn hsm_core::AsyncHsm> =
        std::sync::Arc::new(hsm_n200::AsyncN200::new(client, sim.key_pin(), "FFFF"));
    assert_eq!(n200.backend(), "n200");
    let runtime =
        std::sync::Arc::new(hsm_core::runtime::BlockingRuntime::new("hsm-n200-test").unwrap());
    let blocking = hsm_core::asynchronous::BlockingOverAsync::new(n200, runtime);
    let config = hsm_core::conformance::Config::new("async")
        .skip_spec(KeySpec::Rsa3072)
        .skip_spec(KeySpec::Rsa4096);
    let report = hsm_core::conformance::run(&blocking, &config).unwrap_or_else(|f| panic!("{f}"));
    assert!(report.passed.len() > 100, "{report}");
}
