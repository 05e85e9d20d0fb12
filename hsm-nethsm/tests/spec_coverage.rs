//! Every operation of the official OpenAPI spec has a client method: the table in
//! `client::operations` lists exactly the spec's (method, path) pairs, and calling every
//! client method against a recording server sends exactly those requests.
#![allow(clippy::indexing_slicing, clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use hsm_nethsm::RetryPolicy;
use hsm_nethsm::client::KeyFilter;
use hsm_nethsm::client::model::{
    ChangePassphraseRequest, ClusterAddRequest, ClusterInitialMember, ClusterJoinRequest,
    DecryptMode, DecryptRequest, DistinguishedName, EncryptMode, EncryptRequest, ImportKeyRequest,
    KeyMechanism, KeyPrivateData, KeyType, LogLevel, LoggingConfig, NetworkConfig, NtpConfig,
    PemKeyArguments, ProvisionRequest, RestoreArguments, SignMode, Switch, TimeConfig,
    TlsKeyGenerateRequest, UnattendedBootConfig, UserPostData, UserRole,
};
use hsm_nethsm::client::operations::OPERATIONS;
use hsm_testkit::scripted::{ScriptedServer, Step};
use secrecy::SecretString;
use serde_json::Value;
use support::ScriptedClient as _;

/// (METHOD, path template) of every operation in the spec.
fn spec_operations() -> BTreeSet<(String, String)> {
    let spec: Value = serde_norway::from_str(include_str!("data/nethsm-api.yaml")).unwrap();
    let mut out = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                let _ = out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_operation_table_lists_exactly_the_spec() {
    let spec = spec_operations();
    assert_eq!(spec.len(), 78, "the spec has 78 operations");
    let table: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|o| (o.method.to_owned(), o.path.to_owned()))
        .collect();
    assert_eq!(table.len(), OPERATIONS.len(), "duplicates in the table");
    let missing: Vec<_> = spec.difference(&table).collect();
    let extra: Vec<_> = table.difference(&spec).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in the table: {missing:?}; not in the spec: {extra:?}"
    );
}

/// The spec template a request line (`METHOD /api/v1/...`) belongs to: among the matching
/// templates, the one with the fewest parameters, then the most literal text.
fn template_of(line: &str, spec: &BTreeSet<(String, String)>) -> Option<(String, String)> {
    let (method, target) = line.split_once(' ')?;
    let path = target.split('?').next()?.strip_prefix("/api/v1")?;
    let mut candidates: Vec<&(String, String)> = spec
        .iter()
        .filter(|(m, template)| {
            let pattern: Vec<String> = template
                .split('/')
                .map(|segment| match segment {
                    "{KeyPrefix}*" => r"[^/]*\*".to_owned(),
                    s if s.starts_with('{') => "[^/]+".to_owned(),
                    s => regex::escape(s),
                })
                .collect();
            m == method
                && regex::Regex::new(&format!("^{}$", pattern.join("/")))
                    .unwrap()
                    .is_match(path)
        })
        .collect();
    candidates.sort_by_key(|(_, t)| (t.matches('{').count(), std::cmp::Reverse(t.len())));
    candidates.first().map(|c| (*c).clone())
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

#[test]
fn every_client_method_sends_its_spec_operation() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = ScriptedServer::start(&runtime);
    // Every request gets 404: each method sends its request once and returns an error.
    server.script(std::iter::repeat_n(
        Step::Json(404, r#"{"message":"no"}"#),
        200,
    ));
    let c = server
        .client_builder("admin", "adminpassphrase")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let dn = DistinguishedName {
        common_name: "x".into(),
        ..DistinguishedName::default()
    };
    let user = || UserPostData {
        real_name: "U".into(),
        role: UserRole::Operator,
        passphrase: secret("a-passphrase"),
    };
    let change = || ChangePassphraseRequest {
        new_passphrase: secret("new-passphrase"),
        current_passphrase: secret("old-passphrase"),
    };
    let import = ImportKeyRequest {
        mechanisms: vec![KeyMechanism::EcdsaSignature],
        key_type: KeyType::EcP256,
        private: KeyPrivateData::default(),
        restrictions: None,
        label: None,
    };
    let pem_args = PemKeyArguments {
        mechanisms: vec![KeyMechanism::EcdsaSignature],
        restrictions: None,
        label: None,
    };
    let pem = secret("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n");
    let generate = support::key_request("k", KeyType::EcP256, &[KeyMechanism::EcdsaSignature]);
    let urls = ClusterAddRequest {
        urls: vec!["https://10.0.0.2:2380".into()],
    };
    runtime.block_on(async {
        macro_rules! call {
            ($e:expr) => {
                assert!(
                    $e.await.is_err(),
                    "{} succeeded against 404",
                    stringify!($e)
                );
            };
        }
        call!(c.info());
        call!(c.health_alive());
        call!(c.health_ready());
        call!(c.health_state());
        call!(c.health_diagnose());
        call!(c.metrics());
        call!(c.provision(&ProvisionRequest {
            unlock_passphrase: secret("unlock-passphrase"),
            admin_passphrase: secret("admin-passphrase"),
            system_time: "2026-01-01T00:00:00Z".into(),
        }));
        call!(c.unlock(secret("unlock-passphrase")));
        call!(c.lock());
        call!(c.random(16));
        call!(c.list_keys());
        call!(c.import_key(None, &import));
        call!(c.import_key_pem(None, &pem_args, &pem));
        call!(c.generate_key(&generate));
        call!(c.list_keys_filtered(&KeyFilter {
            prefix: Some("pre"),
            tag: Some("t"),
            ..KeyFilter::default()
        }));
        call!(c.get_key("k"));
        call!(c.import_key(Some("k"), &import));
        call!(c.import_key_pem(Some("k"), &pem_args, &pem));
        call!(c.delete_key("k"));
        call!(c.set_key_label("k", "label"));
        call!(c.delete_key_label("k"));
        call!(c.public_key_pem("k"));
        call!(c.key_csr_pem("k", &dn));
        call!(c.decrypt(
            "k",
            &DecryptRequest {
                mode: DecryptMode::Pkcs1,
                encrypted: vec![1],
                iv: None,
            }
        ));
        call!(c.encrypt(
            "k",
            &EncryptRequest {
                mode: EncryptMode::AesCbc,
                message: vec![0; 16],
                iv: None,
            }
        ));
        call!(c.sign("k", SignMode::EdDsa, b"m"));
        call!(c.key_certificate("k"));
        call!(c.put_key_certificate("k", b"cert"));
        call!(c.delete_key_certificate("k"));
        call!(c.move_key("k", "k2"));
        call!(c.add_key_tag("k", "t"));
        call!(c.remove_key_tag("k", "t"));
        call!(c.force_new_cluster(secret("unlock-passphrase")));
        call!(c.join_cluster(&ClusterJoinRequest {
            members: vec![ClusterInitialMember {
                name: "a".into(),
                urls: urls.urls.clone(),
            }],
            joiner_kit: "kit".into(),
            backup_passphrase: secret("backup-passphrase"),
        }));
        call!(c.cluster_members());
        call!(c.add_cluster_member(&urls));
        call!(c.promote_cluster_member("m1"));
        call!(c.update_cluster_member("m1", &urls));
        call!(c.remove_cluster_member("m1"));
        call!(c.list_namespaces());
        call!(c.add_namespace("ns"));
        call!(c.delete_namespace("ns"));
        call!(c.list_users());
        call!(c.create_user(None, &user()));
        call!(c.get_user("u"));
        call!(c.add_user("u", &user()));
        call!(c.create_user(Some("ns"), &user()));
        call!(c.delete_user("u"));
        call!(c.set_user_passphrase("u", secret("a-passphrase")));
        call!(c.user_tags("u"));
        call!(c.add_user_tag("u", "t"));
        call!(c.remove_user_tag("u", "t"));
        call!(c.change_unlock_passphrase(&change()));
        call!(c.unattended_boot());
        call!(c.set_unattended_boot(UnattendedBootConfig { status: Switch::On }));
        call!(c.tls_public_key_pem());
        call!(c.tls_certificate_pem());
        call!(c.set_tls_certificate_pem("PEM"));
        call!(c.tls_csr_pem(&dn));
        call!(c.generate_tls_key(&TlsKeyGenerateRequest {
            key_type: KeyType::EcP256,
            length: None,
        }));
        call!(c.cluster_ca_pem());
        call!(c.set_cluster_ca_pem("PEM"));
        call!(c.network());
        call!(c.set_network(&NetworkConfig {
            ip_address: "10.0.0.1".into(),
            netmask: "255.0.0.0".into(),
            gateway: None,
            ipv6: None,
        }));
        call!(c.logging());
        call!(c.set_logging(&LoggingConfig {
            ip_address: "10.0.0.9".into(),
            port: 514,
            log_level: LogLevel::Warning,
        }));
        call!(c.change_backup_passphrase(&change()));
        call!(c.ntp());
        call!(c.set_ntp(&NtpConfig::default()));
        call!(c.time());
        call!(c.set_time(&TimeConfig {
            time: "2026-01-01T00:00:00Z".into(),
        }));
        call!(c.system_info());
        call!(c.reboot());
        call!(c.shutdown());
        call!(c.factory_reset());
        call!(c.upload_update(b"image".to_vec()));
        call!(c.commit_update());
        call!(c.cancel_update());
        call!(c.backup());
        call!(c.restore(
            &RestoreArguments {
                backup_passphrase: secret("backup-passphrase"),
                system_time: None,
            },
            b"backup"
        ));
    });
    let spec = spec_operations();
    let seen = server.seen();
    let mut covered = BTreeSet::new();
    for line in &seen {
        let template =
            template_of(line, &spec).unwrap_or_else(|| panic!("{line} is no spec operation"));
        let _ = covered.insert(template);
    }
    let missing: Vec<_> = spec.difference(&covered).collect();
    assert!(missing.is_empty(), "no client call sent {missing:?}");
    // One request per call: none was repeated (404 is final).
    assert_eq!(seen.len(), 80, "{seen:#?}");
    // The multipart bodies carry their parts; the backup passphrase only in the body.
    let bodies = server.bodies();
    let restore = String::from_utf8_lossy(bodies.last().unwrap());
    assert!(restore.contains("name=\"arguments\""), "{restore}");
    assert!(restore.contains("name=\"backup_file\""), "{restore}");
    assert!(restore.contains(r#""backupPassphrase":"backup-passphrase""#));
}

#[test]
fn ids_that_break_the_spec_rules_are_refused_before_sending() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = ScriptedServer::start(&runtime);
    server.script([]);
    let c = server
        .client_builder("admin", "adminpassphrase")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    runtime.block_on(async {
        let errors = [
            c.get_key("../users").await.unwrap_err(),
            c.sign("has space", SignMode::EdDsa, b"m")
                .await
                .unwrap_err(),
            c.delete_key("").await.unwrap_err(),
            c.move_key("k", "-k").await.unwrap_err(),
            c.add_key_tag("k", "a/b").await.unwrap_err(),
            c.get_user("a~b~c").await.unwrap_err(),
            c.add_namespace("ns~").await.unwrap_err(),
            c.remove_cluster_member("m 1").await.unwrap_err(),
            c.key_certificate(&"x".repeat(129)).await.unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.kind(), hsm_core::ErrorKind::InvalidInput, "{e}");
        }
    });
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}
