//! No passphrase leaks: the full flow (provision, add a user, lock and unlock, backup and
//! restore, PEM key import, force-new, generate, sign, wrong passwords, the throttle) runs with every `tracing` event at TRACE, from this crate and from its HTTP and
//! TLS stack, captured into a buffer; no passphrase, and no Basic-auth header value, appears in
//! it, nor in any error's `Display` or `Debug`, nor in the `Debug` of any value that holds one.

use hsm_core::testkit::{Secrets, TraceCapture, error_text};
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_nethsm::client::model::{
    ChangePassphraseRequest, ClusterJoinRequest, KeyMechanism, PassphraseRequest, PemKeyArguments,
    ProvisionRequest, RestoreArguments, UserPostData, UserRole,
};
use hsm_nethsm::sim::{InitialState, SimConfig, Simulator};
use hsm_nethsm::{Credentials, NetHsm, NetHsmClient, RetryPolicy};
use p256::pkcs8::EncodePrivateKey as _;
use secrecy::SecretString;

const UNLOCK: &str = "Unlock-Secret-7781";
const ADMIN: &str = "Admin-Secret-9923";
const OPERATOR: &str = "Operator-Secret-4417";
const WRONG: &str = "Wrong-Secret-3302";
const BACKUP: &str = "Backup-Secret-5521";

/// The passphrases as text and as the Basic-auth value of every user that carries one.
fn forbidden() -> Secrets {
    let mut secrets = Secrets::new();
    let _ = secrets
        .basic_auth("admin", ADMIN)
        .basic_auth("operator", OPERATOR)
        .basic_auth("operator", WRONG)
        .basic_auth("backup", BACKUP)
        .basic_auth("unlock", UNLOCK);
    secrets
}

#[test]
fn no_secret_reaches_logs_errors_or_debug_output() {
    // Global: the `log` records of rustls and friends, and the runtime's threads, are captured too.
    let capture = TraceCapture::install_global().unwrap();
    let mut secrets = forbidden();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = Simulator::start(
        SimConfig {
            state: InitialState::Unprovisioned,
            ..SimConfig::default()
        },
        runtime.handle(),
    )
    .unwrap();
    let client = |user: &str, pass: &str, policy: RetryPolicy| {
        NetHsmClient::builder("127.0.0.1", sim.addr().port())
            .credentials(Credentials::new(user, SecretString::from(pass)))
            .tls(sim.tls_options())
            .retry_policy(policy)
            .build()
            .unwrap()
    };
    let admin = client("admin", ADMIN, RetryPolicy::default());
    let mut debug_texts = vec![format!("{admin:?}")];
    let mut errors = Vec::new();

    runtime.block_on(async {
        let request = ProvisionRequest {
            unlock_passphrase: SecretString::from(UNLOCK),
            admin_passphrase: SecretString::from(ADMIN),
            system_time: "2026-11-22T00:00:00Z".into(),
        };
        debug_texts.push(format!("{request:?}"));
        admin.provision(&request).await.unwrap();
        // Provisioning twice: a 412 error.
        errors.push(admin.provision(&request).await.unwrap_err());
        let user = UserPostData {
            real_name: "Signer".into(),
            role: UserRole::Operator,
            passphrase: SecretString::from(OPERATOR),
        };
        debug_texts.push(format!("{user:?}"));
        admin.add_user("operator", &user).await.unwrap();
        errors.push(admin.add_user("operator", &user).await.unwrap_err());
        // Lock and unlock: a wrong unlock passphrase, then the right one.
        admin.lock().await.unwrap();
        errors.push(admin.unlock(SecretString::from(WRONG)).await.unwrap_err());
        admin.unlock(SecretString::from(UNLOCK)).await.unwrap();
        let change = ChangePassphraseRequest {
            new_passphrase: SecretString::from(WRONG),
            current_passphrase: SecretString::from(UNLOCK),
        };
        debug_texts.push(format!("{change:?}"));
        debug_texts.push(format!(
            "{:?}",
            PassphraseRequest {
                passphrase: SecretString::from(OPERATOR)
            }
        ));
        // Backup and restore: the backup passphrase set, a backup, a restore with a wrong and
        // with the right passphrase.
        admin
            .change_backup_passphrase(&ChangePassphraseRequest {
                new_passphrase: SecretString::from(BACKUP),
                current_passphrase: SecretString::from(""),
            })
            .await
            .unwrap();
        let backup_user = UserPostData {
            real_name: "Backup".into(),
            role: UserRole::Backup,
            passphrase: SecretString::from(BACKUP),
        };
        admin.add_user("backup", &backup_user).await.unwrap();
        let file = client("backup", BACKUP, RetryPolicy::default())
            .backup()
            .await
            .unwrap();
        for passphrase in [WRONG, BACKUP] {
            let arguments = RestoreArguments {
                backup_passphrase: SecretString::from(passphrase),
                system_time: None,
            };
            debug_texts.push(format!("{arguments:?}"));
            if let Err(e) = admin.restore(&arguments, &file).await {
                errors.push(e);
            }
        }
        assert_eq!(errors.len(), 4, "{errors:?}");
        // A PEM private key import, and one the device refuses: the key never shows.
        let pem = p256::SecretKey::from_slice(&[0x42; 32])
            .unwrap()
            .to_pkcs8_pem(Default::default())
            .unwrap();
        let _ = secrets.text(pem.lines().nth(1).unwrap());
        let arguments = PemKeyArguments {
            mechanisms: vec![KeyMechanism::EcdsaSignature],
            restrictions: None,
            label: None,
        };
        let secret_pem = SecretString::from(pem.to_string());
        admin
            .import_key_pem(Some("pemkey"), &arguments, &secret_pem)
            .await
            .unwrap();
        let mut bad = arguments.clone();
        bad.mechanisms = vec![KeyMechanism::EdDsaSignature];
        errors.push(
            admin
                .import_key_pem(Some("pemkey2"), &bad, &secret_pem)
                .await
                .unwrap_err(),
        );
        // Force-new authenticates as `unlock` with the unlock passphrase: 412 here.
        errors.push(
            admin
                .force_new_cluster(SecretString::from(UNLOCK))
                .await
                .unwrap_err(),
        );
        debug_texts.push(format!(
            "{:?}",
            ClusterJoinRequest {
                members: Vec::new(),
                joiner_kit: "kit".into(),
                backup_passphrase: SecretString::from(BACKUP),
            }
        ));
    });

    let hsm = NetHsm::new(client("operator", OPERATOR, RetryPolicy::default()))
        .unwrap()
        .with_admin(Credentials::new("admin", SecretString::from(ADMIN)));
    debug_texts.push(format!("{hsm:?}"));
    let key: KeyId = "secretsflow".parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"m").unwrap();
    hsm.public_key(&key)
        .unwrap()
        .verify(b"m", &signature)
        .unwrap();
    errors.push(
        hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ed25519))
            .unwrap_err(),
    );

    // Wrong passphrase: 401, then the throttle waited out (default policy) and 401 again, then
    // the 429 itself (no retries).
    let wrong = NetHsm::new(client("operator", WRONG, RetryPolicy::default())).unwrap();
    debug_texts.push(format!("{wrong:?}"));
    errors.push(wrong.list_keys().unwrap_err());
    errors.push(wrong.list_keys().unwrap_err());
    let wrong_once = NetHsm::new(client("operator", WRONG, RetryPolicy::none())).unwrap();
    errors.push(
        wrong_once
            .sign(&key, SignAlgorithm::EcdsaSha256, b"m")
            .unwrap_err(),
    );
    assert!(
        errors
            .iter()
            .any(|e| e.status() == Some(&hsm_core::DeviceStatus::Http(429))),
        "{errors:?}"
    );
    debug_texts.push(format!(
        "{:?}",
        Credentials::new("x", SecretString::from(WRONG))
    ));

    for e in &errors {
        secrets.assert_absent("an error's Display", &e.to_string());
        secrets.assert_absent("an error's Debug", &format!("{e:?}"));
        secrets.assert_absent("an error's source chain", &error_text(e));
    }
    for text in &debug_texts {
        secrets.assert_absent("a Debug output", text);
    }
    drop((hsm, wrong, wrong_once, sim));
    let log = capture.text();
    // The capture worked: the client's and the HTTP stack's trace events are there.
    assert!(
        log.contains("nethsm answer"),
        "no client trace events captured"
    );
    assert!(log.contains("TRACE"), "no TRACE events captured");
    assert!(
        log.contains("rustls"),
        "the TLS stack's events were not captured"
    );
    assert!(log.lines().count() > 50, "too few events: {log}");
    secrets.assert_absent("the TRACE log", &log);
}
