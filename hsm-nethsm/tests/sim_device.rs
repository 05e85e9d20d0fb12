//! The simulator's device operations through the typed client: configuration read back as
//! written, the TLS key, CSR and certificate (checked with the `openssl` CLI; a new key is
//! served to new connections), backup and
//! restore into a fresh device, reboot, shutdown, updates and factory reset.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use hsm_core::ErrorKind;
use hsm_nethsm::client::model::{
    ChangePassphraseRequest, DistinguishedName, GenerateKeyRequest, Ipv6Config, KeyMechanism,
    KeyType, LogLevel, LoggingConfig, NetworkConfig, NtpConfig, RestoreArguments, SignMode, Switch,
    SystemState, TimeConfig, TlsKeyGenerateRequest, UnattendedBootConfig, UserPostData, UserRole,
};
use hsm_nethsm::sim::{
    ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, Simulator, UNLOCK_PASSPHRASE, UPDATE_MAGIC,
};
use hsm_nethsm::{NetHsmClient, RetryPolicy};
use secrecy::SecretString;
use support::{default_sim, key_request, sim_client_builder, unprovisioned_sim};

/// A client that does not retry, so each call is one request.
fn client(sim: &Simulator, user: &str, pass: &str) -> NetHsmClient {
    sim_client_builder(sim, user, pass)
        .retry_policy(RetryPolicy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

fn kind<T: std::fmt::Debug>(r: hsm_core::Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}

/// `openssl ARGS` in `dir`; fails the test, with openssl's output, unless it succeeds.
fn openssl(args: &[&str], dir: &tempfile::TempDir) -> String {
    hsm_testkit::cli::run(Command::new("openssl").args(args).current_dir(dir.path()))
}

#[test]
fn configuration_reads_back_what_was_written() {
    let (runtime, sim) = default_sim();
    let admin = client(&sim, "admin", ADMIN_PASSPHRASE);
    let operator = client(&sim, "operator", OPERATOR_PASSPHRASE);
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        assert_eq!(admin.unattended_boot().await.unwrap().status, Switch::Off);
        admin
            .set_unattended_boot(UnattendedBootConfig { status: Switch::On })
            .await
            .unwrap();
        assert_eq!(admin.unattended_boot().await.unwrap().status, Switch::On);

        admin
            .set_time(&TimeConfig {
                time: "2030-01-02T03:04:05Z".into(),
            })
            .await
            .unwrap();
        let time = admin.time().await.unwrap().time;
        assert!(time.starts_with("2030-01-02T03:04:"), "{time}");
        assert_eq!(
            kind(
                admin
                    .set_time(&TimeConfig {
                        time: "tomorrow".into()
                    })
                    .await
            ),
            ErrorKind::InvalidInput
        );

        let ntp = NtpConfig {
            ntp_ip: Some("192.0.2.123".into()),
            nts_name: Some("nts.example.net".into()),
        };
        admin.set_ntp(&ntp).await.unwrap();
        assert_eq!(admin.ntp().await.unwrap(), ntp);
        admin.set_ntp(&NtpConfig::default()).await.unwrap();
        assert_eq!(admin.ntp().await.unwrap(), NtpConfig::default());

        let logging = LoggingConfig {
            ip_address: "192.0.2.7".into(),
            port: 5514,
            log_level: LogLevel::Warning,
        };
        admin.set_logging(&logging).await.unwrap();
        assert_eq!(admin.logging().await.unwrap(), logging);

        let network = NetworkConfig {
            ip_address: "10.1.2.3".into(),
            netmask: "255.255.0.0".into(),
            gateway: Some("10.1.0.1".into()),
            ipv6: Some(Ipv6Config {
                cidr: "2001:db8::5/64".into(),
                gateway: None,
            }),
        };
        admin.set_network(&network).await.unwrap();
        assert_eq!(admin.network().await.unwrap(), network);
        let mut bad = network.clone();
        bad.netmask = "not a mask".into();
        assert_eq!(kind(admin.set_network(&bad).await), ErrorKind::InvalidInput);

        // Configuration is for administrators only.
        assert_eq!(kind(operator.network().await), ErrorKind::PermissionDenied);

        // The unlock passphrase: the current one must be given.
        let wrong = ChangePassphraseRequest {
            new_passphrase: secret("a-new-unlock-passphrase"),
            current_passphrase: secret("not-the-current-one"),
        };
        assert_eq!(
            kind(admin.change_unlock_passphrase(&wrong).await),
            ErrorKind::InvalidInput
        );
        admin
            .change_unlock_passphrase(&ChangePassphraseRequest {
                new_passphrase: secret("a-new-unlock-passphrase"),
                current_passphrase: secret(UNLOCK_PASSPHRASE),
            })
            .await
            .unwrap();
        admin.lock().await.unwrap();
        assert_eq!(
            kind(admin.unlock(secret(UNLOCK_PASSPHRASE)).await),
            ErrorKind::PermissionDenied
        );
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        admin
            .unlock(secret("a-new-unlock-passphrase"))
            .await
            .unwrap();

        // TLS: the public key is the served certificate's; a CSR and a new key, both checked
        // by openssl.
        let served = sim.certificate_pem().to_owned();
        std::fs::write(dir.path().join("served.pem"), &served).unwrap();
        let served_key = openssl(&["x509", "-in", "served.pem", "-pubkey", "-noout"], &dir);
        let public = admin.tls_public_key_pem().await.unwrap();
        std::fs::write(dir.path().join("public.pem"), &public).unwrap();
        assert_eq!(
            openssl(&["pkey", "-pubin", "-in", "public.pem", "-pubout"], &dir),
            served_key
        );
        assert_eq!(admin.tls_certificate_pem().await.unwrap(), served);
        let csr = admin
            .tls_csr_pem(&DistinguishedName {
                common_name: "nethsm.example.net".into(),
                organization_name: Some("Example".into()),
                ..DistinguishedName::default()
            })
            .await
            .unwrap();
        std::fs::write(dir.path().join("tls.csr"), &csr).unwrap();
        // By openssl's output: OpenSSL 3.0 exits 0 even when the signature does not verify.
        hsm_testkit::cli::openssl_req_verify(&csr);
        let text = openssl(&["req", "-in", "tls.csr", "-noout", "-subject"], &dir);
        assert!(text.contains("nethsm.example.net"), "{text}");
        let old_tls = sim.tls_options();
        admin
            .generate_tls_key(&TlsKeyGenerateRequest {
                key_type: KeyType::EcP384,
                length: None,
            })
            .await
            .unwrap();
        // New connections get the new certificate: a client pinned to the old one is refused,
        // one pinned to the new one is served.
        let old = NetHsmClient::builder("127.0.0.1", sim.addr().port())
            .tls(old_tls)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        assert!(old.health_state().await.is_err());
        let admin2 = client(&sim, "admin", ADMIN_PASSPHRASE);
        let new_public = admin2.tls_public_key_pem().await.unwrap();
        assert_ne!(new_public, public);
        let cert = admin2.tls_certificate_pem().await.unwrap();
        std::fs::write(dir.path().join("new.pem"), &cert).unwrap();
        std::fs::write(dir.path().join("new-public.pem"), &new_public).unwrap();
        assert_eq!(
            openssl(&["x509", "-in", "new.pem", "-pubkey", "-noout"], &dir),
            openssl(
                &["pkey", "-pubin", "-in", "new-public.pem", "-pubout"],
                &dir
            )
        );
        // Self-signed: it verifies against itself.
        let verified = openssl(&["verify", "-CAfile", "new.pem", "new.pem"], &dir);
        assert!(verified.contains("OK"), "{verified}");
        // A certificate for another key is refused; the device's own is accepted back.
        assert_eq!(
            kind(admin2.set_tls_certificate_pem(&served).await),
            ErrorKind::InvalidInput
        );
        admin2.set_tls_certificate_pem(&cert).await.unwrap();
        // The cluster CA: never set, then a CA that did not sign the TLS certificate (412).
        assert_eq!(kind(admin2.cluster_ca_pem().await), ErrorKind::NotFound);
        assert_eq!(
            kind(admin2.set_cluster_ca_pem(&served).await),
            ErrorKind::InvalidState
        );
        admin2.set_cluster_ca_pem(&cert).await.unwrap();
        assert_eq!(admin2.cluster_ca_pem().await.unwrap(), cert);

        assert_eq!(sim.certificate_pem(), cert);
        // Diagnosis and the one-member cluster.
        assert!(
            admin2
                .health_diagnose()
                .await
                .unwrap()
                .cluster_state
                .running
        );
        let members = admin2.cluster_members().await.unwrap();
        assert_eq!(members.len(), 1);
        assert!(!members[0].learner);
    });
}

fn p256(id: &str) -> GenerateKeyRequest {
    key_request(id, KeyType::EcP256, &[KeyMechanism::EcdsaSignature])
}

#[test]
fn a_backup_restores_into_a_fresh_device_and_over_a_running_one() {
    let (runtime, sim) = default_sim();
    let admin = client(&sim, "admin", ADMIN_PASSPHRASE);
    let operator = client(&sim, "operator", OPERATOR_PASSPHRASE);
    let backup_user = client(&sim, "backup", "backup-passphrase");
    let arguments = |p: &str| RestoreArguments {
        backup_passphrase: secret(p),
        system_time: Some("2031-05-06T07:08:09Z".into()),
    };
    let file = runtime.block_on(async {
        admin
            .add_user(
                "backup",
                &UserPostData {
                    real_name: "Backup".into(),
                    role: UserRole::Backup,
                    passphrase: secret("backup-passphrase"),
                },
            )
            .await
            .unwrap();
        // No backup passphrase yet: refused (412).
        assert_eq!(kind(backup_user.backup().await), ErrorKind::InvalidState);
        assert_eq!(kind(admin.backup().await), ErrorKind::PermissionDenied);
        admin
            .change_backup_passphrase(&ChangePassphraseRequest {
                new_passphrase: secret("the-backup-passphrase"),
                current_passphrase: secret(""),
            })
            .await
            .unwrap();
        admin.generate_key(&p256("kept")).await.unwrap();
        admin.put_key_certificate("kept", b"cert").await.unwrap();
        admin.add_namespace("nsb").await.unwrap();
        let file = backup_user.backup().await.unwrap();
        assert!(!file.is_empty());

        // Over the running device: a key deleted after the backup comes back.
        admin.delete_key("kept").await.unwrap();
        admin.generate_key(&p256("later")).await.unwrap();
        assert_eq!(
            kind(admin.restore(&arguments("wrong-passphrase"), &file).await),
            ErrorKind::InvalidInput
        );
        admin
            .restore(&arguments("the-backup-passphrase"), &file)
            .await
            .unwrap();
        assert!(admin.get_key("kept").await.is_ok());
        assert_eq!(kind(admin.get_key("later").await), ErrorKind::NotFound);
        assert_eq!(
            admin.health_state().await.unwrap(),
            SystemState::Operational
        );
        file
    });

    // Into a fresh device: no authentication, then Locked until the old unlock passphrase.
    let fresh = unprovisioned_sim(&runtime);
    let anonymous = NetHsmClient::builder("127.0.0.1", fresh.addr().port())
        .tls(fresh.tls_options())
        .build()
        .unwrap();
    let fresh_operator = client(&fresh, "operator", OPERATOR_PASSPHRASE);
    let fresh_admin = client(&fresh, "admin", ADMIN_PASSPHRASE);
    runtime.block_on(async {
        let mut damaged = file.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert_eq!(
            kind(
                anonymous
                    .restore(&arguments("the-backup-passphrase"), &damaged)
                    .await
            ),
            ErrorKind::InvalidInput
        );
        anonymous
            .restore(&arguments("the-backup-passphrase"), &file)
            .await
            .unwrap();
        assert_eq!(anonymous.health_state().await.unwrap(), SystemState::Locked);
        anonymous.unlock(secret(UNLOCK_PASSPHRASE)).await.unwrap();
        // The same key: a signature of the restored device verifies with the old public key.
        let old = operator.get_key("kept").await.unwrap();
        let restored = fresh_operator.get_key("kept").await.unwrap();
        assert_eq!(old.public.unwrap().data, restored.public.unwrap().data);
        let digest = [9u8; 32];
        let signature = fresh_operator
            .sign("kept", SignMode::Ecdsa, &digest)
            .await
            .unwrap();
        let pem = operator.public_key_pem("kept").await.unwrap();
        let key =
            <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_pem(&pem)
                .unwrap();
        let signature = p256::ecdsa::Signature::from_der(&signature).unwrap();
        ecdsa::signature::hazmat::PrehashVerifier::verify_prehash(&key, &digest, &signature)
            .unwrap();
        assert_eq!(
            fresh_operator.key_certificate("kept").await.unwrap(),
            b"cert"
        );
        assert_eq!(fresh_admin.list_namespaces().await.unwrap(), vec!["nsb"]);
        assert!(
            fresh_admin
                .time()
                .await
                .unwrap()
                .time
                .starts_with("2031-05-06")
        );
    });
}

#[test]
fn reboot_updates_shutdown_and_factory_reset() {
    let (runtime, mut sim) = default_sim();
    let admin = client(&sim, "admin", ADMIN_PASSPHRASE);
    runtime.block_on(async {
        // Without unattended boot a reboot comes back Locked; with it, Operational.
        admin.reboot().await.unwrap();
        assert_eq!(admin.health_state().await.unwrap(), SystemState::Locked);
        admin.unlock(secret(UNLOCK_PASSPHRASE)).await.unwrap();
        admin
            .set_unattended_boot(UnattendedBootConfig { status: Switch::On })
            .await
            .unwrap();
        admin.reboot().await.unwrap();
        assert_eq!(
            admin.health_state().await.unwrap(),
            SystemState::Operational
        );

        // Updates: an invalid image is refused; a valid one waits for commit or cancel.
        assert_eq!(
            kind(admin.upload_update(b"garbage".to_vec()).await),
            ErrorKind::InvalidInput
        );
        assert_eq!(kind(admin.commit_update().await), ErrorKind::InvalidState);
        let mut image = UPDATE_MAGIC.to_vec();
        image.extend_from_slice(b"Faster signing.");
        let notes = admin.upload_update(image.clone()).await.unwrap();
        assert_eq!(notes.release_notes, "Faster signing.");
        admin.cancel_update().await.unwrap();
        assert_eq!(kind(admin.cancel_update().await), ErrorKind::InvalidState);
        let before = admin.system_info().await.unwrap().software_version;
        let _ = admin.upload_update(image).await.unwrap();
        admin.commit_update().await.unwrap();
        let after = admin.system_info().await.unwrap().software_version;
        assert_ne!(before, after);
    });

    // Shutdown: the answer comes, then nothing until the device is powered on again.
    runtime.block_on(admin.shutdown()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !sim.is_shut_down() || runtime.block_on(admin.health_state()).is_ok() {
        assert!(std::time::Instant::now() < deadline, "still serving");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    sim.resume().unwrap();
    // A new client: the old one's pooled connections died with the shutdown.
    let admin = client(&sim, "admin", ADMIN_PASSPHRASE);
    runtime.block_on(async {
        // Unattended boot is on: straight back to Operational.
        assert_eq!(
            admin.health_state().await.unwrap(),
            SystemState::Operational
        );
        admin.generate_key(&p256("gone")).await.unwrap();
        admin.factory_reset().await.unwrap();
        assert_eq!(
            admin.health_state().await.unwrap(),
            SystemState::Unprovisioned
        );
        assert_eq!(kind(admin.list_keys().await), ErrorKind::InvalidState);
    });
}

/// The simulator API every hsm-rs simulator shares: `SimConfig` as a builder, `cert_pem`,
/// `client_builder` trusting that certificate, and `inject` for faults.
#[test]
fn uniform_simulator_api_config_certificate_client_and_faults() {
    use hsm_nethsm::Credentials;
    use hsm_nethsm::sim::{Fault, OPERATOR_USER, SimConfig};
    use std::time::{Duration, Instant};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = SimConfig::new().latency(Duration::from_millis(30));
    let mut sim = Simulator::start(config, runtime.handle()).unwrap();
    assert!(sim.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(sim.cert_pem(), sim.certificate_pem());
    let client = sim
        .client_builder()
        .credentials(Credentials::new(OPERATOR_USER, secret(OPERATOR_PASSPHRASE)))
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    runtime.block_on(async {
        // Verified TLS against the simulator's certificate, with the operator's credentials.
        assert!(client.list_keys().await.unwrap().is_empty());
        let started = Instant::now();
        client.health_ready().await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(30),
            "the latency is added"
        );
    });
    sim.inject(Fault::Stall).unwrap();
    let stalled = runtime.block_on(client.health_ready()).unwrap_err();
    assert_eq!(stalled.kind(), ErrorKind::Timeout);
    sim.inject(Fault::Recover).unwrap();
    runtime.block_on(client.health_ready()).unwrap();
    sim.inject(Fault::Crash).unwrap();
    assert!(runtime.block_on(client.health_ready()).is_err());
    sim.inject(Fault::Recover).unwrap();
    runtime.block_on(client.health_ready()).unwrap();
}
