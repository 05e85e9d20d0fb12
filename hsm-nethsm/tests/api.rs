//! The typed API beyond the signing path, against the simulator (and the exact wire form of
//! some requests against the scripted server): random bytes, lock and unlock, tag restrictions
//! on keys and operators, passphrase changes, filtered listings, and the requests of CSRs,
//! certificates, moves, labels and encryption.

mod support;

use hsm_core::ErrorKind;
use hsm_nethsm::RetryPolicy;
use hsm_nethsm::client::KeyFilter;
use hsm_nethsm::client::model::{
    DistinguishedName, GenerateKeyRequest, KeyMechanism, KeyRestrictions, KeyType, SignMode,
    SystemState, UserPostData, UserRole,
};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, UNLOCK_PASSPHRASE};
use hsm_testkit::scripted::{ScriptedServer, Step};
use secrecy::SecretString;
use support::ScriptedClient as _;
use support::{
    admin_and_operator, authentication_failure, default_sim, key_request, rsa2048_request,
    sim_client, sim_client_builder,
};

fn generate(id: &str, tags: Option<Vec<String>>) -> GenerateKeyRequest {
    GenerateKeyRequest {
        restrictions: tags.map(|t| KeyRestrictions { tags: Some(t) }),
        ..key_request(id, KeyType::Curve25519, &[KeyMechanism::EdDsaSignature])
    }
}

#[test]
fn random_lock_unlock_tags_and_passphrases_behave_like_the_device() {
    let (runtime, sim) = default_sim();
    let (admin, operator) = admin_and_operator(&sim);
    runtime.block_on(async {
        // Random: the length asked for, different each time; out of range is 400.
        let a = operator.random(32).await.unwrap();
        let b = operator.random(32).await.unwrap();
        assert_eq!((a.len(), b.len()), (32, 32));
        assert_ne!(a, b);
        assert_eq!(operator.random(1024).await.unwrap().len(), 1024);
        for bad in [0, 1025] {
            let e = operator.random(bad).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
        }
        assert_eq!(
            admin.random(8).await.unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );

        // Tag restrictions: a tagged key is refused (403) to an operator without the tag.
        admin
            .generate_key(&generate("tagged", Some(vec!["berlin".into()])))
            .await
            .unwrap();
        admin.generate_key(&generate("free", None)).await.unwrap();
        let e = operator
            .sign("tagged", SignMode::EdDsa, b"m")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        operator.sign("free", SignMode::EdDsa, b"m").await.unwrap();
        admin.add_user_tag("operator", "berlin").await.unwrap();
        assert_eq!(operator.user_tags("operator").await.unwrap(), ["berlin"]);
        operator
            .sign("tagged", SignMode::EdDsa, b"m")
            .await
            .unwrap();
        // Filtered listing: a tag filter keeps tagged keys with that tag and untagged ones.
        let key = operator.get_key("tagged").await.unwrap();
        assert_eq!(
            key.restrictions.tags.as_deref(),
            Some(&["berlin".to_owned()][..])
        );
        admin.add_key_tag("free", "paris").await.unwrap();
        admin.remove_key_tag("free", "paris").await.unwrap();
        assert_eq!(
            admin
                .remove_key_tag("free", "paris")
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        admin.remove_user_tag("operator", "berlin").await.unwrap();
        assert!(operator.user_tags("operator").await.unwrap().is_empty());

        // Lock: every key operation is 412; unlock with a wrong passphrase is 403, with the
        // right one the device is operational again.
        admin.lock().await.unwrap();
        assert_eq!(admin.health_state().await.unwrap(), SystemState::Locked);
        admin.health_alive().await.unwrap();
        let e = operator
            .sign("free", SignMode::EdDsa, b"m")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");
        let e = admin
            .unlock(SecretString::from("not-the-unlock-passphrase"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        admin
            .unlock(SecretString::from(UNLOCK_PASSPHRASE))
            .await
            .unwrap();
        assert_eq!(
            admin.health_state().await.unwrap(),
            SystemState::Operational
        );
        operator.sign("free", SignMode::EdDsa, b"m").await.unwrap();

        // Passphrases: an operator changes its own; the old one stops working.
        let user = UserPostData {
            real_name: "Second".into(),
            role: UserRole::Operator,
            passphrase: SecretString::from("second-passphrase"),
        };
        admin.add_user("second", &user).await.unwrap();
        let second = sim_client(&sim, "second", "second-passphrase");
        second
            .set_user_passphrase("second", SecretString::from("second-passphrase-2"))
            .await
            .unwrap();
        let renewed = sim_client(&sim, "second", "second-passphrase-2");
        assert_eq!(
            renewed
                .set_user_passphrase("operator", SecretString::from("stolen-passphrase"))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(renewed.list_keys().await.unwrap().len(), 2);
        let created = admin.create_user(None, &user).await.unwrap();
        assert!(admin.list_users().await.unwrap().contains(&created));
    });
    // The old passphrase is refused (no retry on 401 with the default policy).
    let stale = sim_client_builder(&sim, "second", "second-passphrase")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let _ = authentication_failure(runtime.block_on(stale.list_keys()));
}

#[test]
fn requests_have_the_spec_wire_form() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = ScriptedServer::start(&runtime);
    let client = server.client_builder("admin", "pw").build().unwrap();
    server.script([
        Step::Typed(
            "application/x-pem-file",
            "-----BEGIN CERTIFICATE REQUEST-----\n",
        ),
        Step::Json(200, r#"{"id":"new.id"}"#),
        Step::Json(204, ""),
        Step::Json(201, ""),
        Step::Json(200, r#"[{"id":"a"}]"#),
        Step::Json(200, r#"[]"#),
    ]);
    runtime.block_on(async {
        let subject = DistinguishedName {
            common_name: "nethsm.example.net".into(),
            country_name: Some("NL".into()),
            subject_alt_names: Some(vec!["IP:192.0.2.1".into()]),
            ..DistinguishedName::default()
        };
        let csr = client.key_csr_pem("k1", &subject).await.unwrap();
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        assert_eq!(client.move_key("k1", "new.id").await.unwrap().id, "new.id");
        client.set_key_label("k1", "label ✓").await.unwrap();
        client.put_key_certificate("k1", b"\x30\x82").await.unwrap();
        let filter = KeyFilter {
            tag: Some("berlin&x"),
            label: None,
            prefix: None,
        };
        assert_eq!(client.list_keys_filtered(&filter).await.unwrap().len(), 1);
        let prefix = KeyFilter {
            prefix: Some("dns"),
            ..KeyFilter::default()
        };
        assert!(client.list_keys_filtered(&prefix).await.unwrap().is_empty());
    });
    let seen = server.seen();
    assert_eq!(
        seen,
        [
            // Ids are checked against the spec's rules before sending (a `/` is refused, see
            // tests/spec_coverage.rs); the query is encoded.
            "POST /api/v1/keys/k1/csr.pem",
            "POST /api/v1/keys/k1/move",
            "PUT /api/v1/keys/k1/label",
            "PUT /api/v1/keys/k1/cert",
            "GET /api/v1/keys?filter=berlin%26x",
            "GET /api/v1/keys/dns*",
        ]
    );
    let bodies = server.bodies();
    let csr: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(
        csr,
        serde_json::json!({"commonName": "nethsm.example.net", "countryName": "NL",
                           "subjectAltNames": ["IP:192.0.2.1"]})
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&bodies[1]).unwrap(),
        serde_json::json!({"newId": "new.id"})
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&bodies[2]).unwrap(),
        serde_json::json!({"label": "label ✓"})
    );
    assert_eq!(bodies[3], b"\x30\x82");
}

#[test]
fn rsa_decryption_in_pkcs1_and_oaep_modes_with_real_cryptography() {
    use hsm_nethsm::client::model::{DecryptMode, DecryptRequest};
    use rsa::pkcs8::DecodePublicKey as _;
    let (runtime, sim) = default_sim();
    let (admin, operator) = admin_and_operator(&sim);
    runtime.block_on(async {
        admin
            .generate_key(&rsa2048_request(
                "dec",
                &[
                    KeyMechanism::RsaDecryptionPkcs1,
                    KeyMechanism::RsaDecryptionOaepSha256,
                ],
            ))
            .await
            .unwrap();
        let pem = operator.public_key_pem("dec").await.unwrap();
        let public = rsa::RsaPublicKey::from_public_key_pem(&pem).unwrap();
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let secret = b"a session key, 32 bytes long....";
        for (mode, encrypted) in [
            (
                DecryptMode::Pkcs1,
                public
                    .encrypt(&mut rng, rsa::Pkcs1v15Encrypt, secret)
                    .unwrap(),
            ),
            (
                DecryptMode::OaepSha256,
                public
                    .encrypt(&mut rng, rsa::Oaep::<sha2::Sha256>::new(), secret)
                    .unwrap(),
            ),
        ] {
            let request = DecryptRequest {
                mode,
                encrypted: encrypted.clone(),
                iv: None,
            };
            let answer = operator.decrypt("dec", &request).await.unwrap();
            assert_eq!(answer.decrypted, secret, "{mode:?}");
            assert!(!format!("{answer:?}").contains("session"));
        }
        // A mode the key does not allow: 400.
        let request = DecryptRequest {
            mode: DecryptMode::OaepSha512,
            encrypted: vec![0; 256],
            iv: None,
        };
        let e = operator.decrypt("dec", &request).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
}

#[test]
fn metrics_and_system_info_decode() {
    let (runtime, sim) = default_sim();
    let admin = sim_client(&sim, "admin", ADMIN_PASSPHRASE);
    runtime.block_on(async {
        let user = UserPostData {
            real_name: "Metrics".into(),
            role: UserRole::Metrics,
            passphrase: SecretString::from("metrics-passphrase"),
        };
        admin.add_user("metrics", &user).await.unwrap();
        let metrics = sim_client(&sim, "metrics", "metrics-passphrase")
            .metrics()
            .await
            .unwrap();
        assert_eq!(metrics.get("users").and_then(|v| v.as_str()), Some("3"));
        let info = admin.system_info().await.unwrap();
        assert_eq!(info.device_id, "SIMULATOR");
        assert_eq!(
            admin.metrics().await.unwrap_err().kind(),
            ErrorKind::PermissionDenied
        );
    });
}

#[test]
fn key_csrs_are_real_and_openssl_verifies_them() {
    let openssl_ok = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !openssl_ok {
        assert!(std::env::var_os("CI").is_none(), "openssl is needed in CI");
        eprintln!("SKIPPED: no openssl");
        return;
    }
    let (runtime, sim) = default_sim();
    let (admin, operator) = admin_and_operator(&sim);
    let dir = std::env::temp_dir().join(format!("hsm-nethsm-csr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (id, key_type, mechanism, length) in [
        (
            "csrp256",
            KeyType::EcP256,
            KeyMechanism::EcdsaSignature,
            None,
        ),
        (
            "csrrsa",
            KeyType::Rsa,
            KeyMechanism::RsaSignaturePkcs1,
            Some(2048),
        ),
    ] {
        runtime
            .block_on(admin.generate_key(&GenerateKeyRequest {
                length,
                ..key_request(id, key_type, &[mechanism])
            }))
            .unwrap();
        let subject = DistinguishedName {
            common_name: "nethsm.example.net".into(),
            organization_name: Some("NLnet Labs, Amsterdam".into()),
            country_name: Some("NL".into()),
            email_address: Some("info@example.net".into()),
            subject_alt_names: Some(vec!["www.example.net".into(), "IP:192.0.2.1".into()]),
            ..DistinguishedName::default()
        };
        let pem = runtime
            .block_on(operator.key_csr_pem(id, &subject))
            .unwrap();
        let path = dir.join(format!("{id}.csr"));
        std::fs::write(&path, &pem).unwrap();
        // By openssl's output: OpenSSL 3.0 exits 0 even when the signature does not verify.
        hsm_testkit::cli::openssl_req_verify(&pem);
        let text = hsm_testkit::cli::run(
            std::process::Command::new("openssl")
                .args(["req", "-noout", "-text", "-in"])
                .arg(&path),
        );
        for needle in [
            "nethsm.example.net",
            "NLnet Labs, Amsterdam",
            "DNS:www.example.net",
            "IP Address:192.0.2.1",
            "info@example.net",
        ] {
            assert!(text.contains(needle), "{id}: {needle} missing:\n{text}");
        }
        // The CSR carries the key's public key.
        let public = runtime.block_on(operator.public_key_pem(id)).unwrap();
        let csr_public = hsm_testkit::cli::run(
            std::process::Command::new("openssl")
                .args(["req", "-noout", "-pubkey", "-in"])
                .arg(&path),
        );
        assert_eq!(
            hsm_core::PublicKey::from_pem(&csr_public).unwrap(),
            hsm_core::PublicKey::from_pem(&public).unwrap()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
