//! `NetHsm` as a key store against the simulator and a scripted server: key ids shared with
//! Nitrokey's PKCS#11 module, concurrent listing, ECDSA signatures in hsm-core's one form, and
//! import of every key type it claims, each checked with OpenSSL; certificates stored with keys
//! and the device's random generator.
#![allow(clippy::panic, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use base64::Engine as _;
use hsm_core::{
    Curve, ErrorKind, ImportRequest, KeyId, KeySpec, KeyStore as _, KeyTemplate, PrivateKeyDer,
    SignAlgorithm, Signer as _,
};
use hsm_nethsm::client::model::{KeyMechanism, KeyType};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{Credentials, NetHsm, RetryPolicy};
use hsm_testkit::scripted::{ScriptedServer, Step};
use openssl::pkey::{PKey, Private};
use secrecy::SecretString;
use support::ScriptedClient as _;
use support::{admin_and_operator, default_sim, generate_p256_keys, key_request, sim_client};
use zeroize::Zeroizing;

/// A `NetHsm` signing as the operator and managing keys as the administrator, with an empty
/// key cache.
fn backend(sim: &Simulator) -> NetHsm {
    NetHsm::new(sim_client(sim, "operator", OPERATOR_PASSPHRASE))
        .unwrap()
        .with_admin(Credentials::new(
            "admin",
            SecretString::from(ADMIN_PASSPHRASE),
        ))
}

fn bytes_id(bytes: &[u8]) -> KeyId {
    KeyId::from_bytes(bytes).unwrap()
}

#[test]
fn a_key_made_through_nitrokeys_pkcs11_module_is_found_by_its_cka_id() {
    let (runtime, sim) = default_sim();
    let (admin, _) = admin_and_operator(&sim);
    // nethsm-pkcs11 2.1+ stores a key whose CKA_ID is `test~key` under this NetHSM id.
    runtime
        .block_on(admin.generate_key(&key_request(
            "0---746573747E6B6579",
            KeyType::EcP256,
            &[KeyMechanism::EcdsaSignature],
        )))
        .unwrap();
    let hsm = backend(&sim);
    let key = bytes_id(b"test~key");
    let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"zone").unwrap();
    hsm.public_key(&key)
        .unwrap()
        .verify(b"zone", &signature)
        .unwrap();
    assert_eq!(hsm.key_info(&key).unwrap().id, key);
    let listed: Vec<KeyId> = hsm.list_keys().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(listed, vec![key.clone()]);
    assert_eq!(key.to_string(), "id:746573747e6b6579");
}

#[test]
fn binary_ids_made_here_show_the_modules_cka_id_on_the_device() {
    let (runtime, sim) = default_sim();
    let (admin, _) = admin_and_operator(&sim);
    let hsm = backend(&sim);
    // (CKA_ID bytes, the NetHSM id the module uses, what this crate reports back)
    let cases: [(&[u8], &str, KeyId); 5] = [
        (&[0x00], "0---00", bytes_id(&[0x00])),
        (b".key", "0---2E6B6579", bytes_id(b".key")),
        (b"-key", "0---2D6B6579", bytes_id(b"-key")),
        (
            &[0xde, 0xad, 0xbe, 0xef],
            "0---DEADBEEF",
            bytes_id(&[0xde, 0xad, 0xbe, 0xef]),
        ),
        // Bytes that already form a NetHSM id are that id: the module shows CKA_ID `key1`.
        (b"key1", "key1", KeyId::name("key1").unwrap()),
    ];
    for (raw, _, reported) in &cases {
        let info = hsm
            .generate_key(&KeyTemplate::new(bytes_id(raw), KeySpec::Ec(Curve::P256)))
            .unwrap();
        assert_eq!(&info.id, reported);
        // Found again by the same id:HEX.
        hsm.sign(&bytes_id(raw), SignAlgorithm::EcdsaSha256, b"m")
            .unwrap();
    }
    let mut on_device: Vec<String> = runtime
        .block_on(admin.list_keys())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    on_device.sort();
    let mut expected: Vec<&str> = cases.iter().map(|c| c.1).collect();
    expected.sort_unstable();
    assert_eq!(on_device, expected);
    let mut listed: Vec<KeyId> = hsm.list_keys().unwrap().into_iter().map(|i| i.id).collect();
    listed.sort();
    let mut reported: Vec<KeyId> = cases.iter().map(|c| c.2.clone()).collect();
    reported.sort();
    assert_eq!(listed, reported);
    // 63 bytes that need encoding do not fit in 128 characters: refused before sending.
    let e = hsm
        .generate_key(&KeyTemplate::new(
            bytes_id(&[0xff; 63]),
            KeySpec::Ec(Curve::P256),
        ))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.operation(), "nethsm.generate_key");
}

#[test]
fn list_keys_fetches_key_details_concurrently_in_the_devices_order() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = SimConfig {
        latency: Duration::from_millis(5),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config, runtime.handle()).unwrap();
    let (admin, _) = admin_and_operator(&sim);
    runtime.block_on(generate_p256_keys(
        &admin,
        (0..40).map(|i| format!("lk{i:03}")),
    ));
    let device_order: Vec<KeyId> = runtime
        .block_on(admin.list_keys())
        .unwrap()
        .into_iter()
        .map(|i| KeyId::name(i.id).unwrap())
        .collect();
    let hsm = backend(&sim);
    sim.reset_max_in_flight();
    let before = sim.requests();
    let listed = hsm.list_keys().unwrap();
    // One listing and one request per key, overlapping: more than one in flight at once,
    // and never more than the bound.
    assert_eq!(sim.requests() - before, 41);
    let most = sim.max_in_flight();
    assert!(
        (2..=16).contains(&most),
        "{most} requests in flight at most"
    );
    let ids: Vec<KeyId> = listed.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids, device_order);
    assert!(
        listed
            .iter()
            .all(|i| i.spec == Some(KeySpec::Ec(Curve::P256)))
    );
    // Known keys come from the cache: one request.
    let before = sim.requests();
    assert_eq!(hsm.list_keys().unwrap().len(), 40);
    assert_eq!(sim.requests() - before, 1);
}

/// A backend of the scripted server's operator that sends every request once.
fn scripted_backend(server: &ScriptedServer) -> NetHsm {
    let client = server
        .client_builder("operator", "operatorpassphrase")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    NetHsm::new(client).unwrap()
}

/// A P-256 key's `GET /keys/{id}` answer (a fixed key), for the scripted server.
fn p256_key_json() -> &'static str {
    let secret = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    ec_key_json(
        "EC_P256",
        secret.verifying_key().to_sec1_point(false).as_bytes(),
    )
}

/// The `GET /keys/{id}` answer for an ECDSA key of `key_type` whose public point is `point`.
fn ec_key_json(key_type: &str, point: &[u8]) -> &'static str {
    let json = serde_json::json!({
        "mechanisms": ["ECDSA_Signature"],
        "type": key_type,
        "restrictions": {},
        "public": {"data": base64::engine::general_purpose::STANDARD.encode(point)},
        "operations": 0,
    });
    Box::leak(json.to_string().into_boxed_str())
}

#[test]
fn a_key_deleted_between_listing_and_fetching_is_left_out() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = ScriptedServer::start(&runtime);
    let key = p256_key_json();
    // Whichever key is asked for second was deleted meanwhile (404).
    server.script([
        Step::Json(200, r#"[{"id":"a"},{"id":"b"},{"id":"c"}]"#),
        Step::Json(200, key),
        Step::Json(404, r#"{"message":"Key not found"}"#),
        Step::Json(200, key),
    ]);
    let hsm = scripted_backend(&server);
    let listed: Vec<String> = hsm
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    // The two left are in the device's order.
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    let mut seen = server.seen();
    seen.sort();
    assert_eq!(
        seen,
        [
            "GET /api/v1/keys",
            "GET /api/v1/keys/a",
            "GET /api/v1/keys/b",
            "GET /api/v1/keys/c"
        ]
    );
}

#[test]
fn secp256k1_signatures_are_low_s_and_verify_with_k256() {
    let (runtime, sim) = default_sim();
    let hsm = backend(&sim);
    let key = KeyId::name("k1").unwrap();
    hsm.generate_key(&KeyTemplate::new(
        key.clone(),
        KeySpec::Ec(Curve::Secp256k1),
    ))
    .unwrap();
    let public = hsm.public_key(&key).unwrap();
    let verifier = k256::ecdsa::VerifyingKey::from_sec1_bytes(public.ec_point().unwrap()).unwrap();
    // The device, like NetHSM firmware, answers with either S: about half are high.
    let (_, operator) = admin_and_operator(&sim);
    let digest = [9u8; 32];
    let high = (0..64)
        .filter(|_| {
            let der = runtime
                .block_on(operator.sign("k1", hsm_nethsm::client::model::SignMode::Ecdsa, &digest))
                .unwrap();
            let s = k256::ecdsa::Signature::from_der(&der).unwrap();
            s.normalize_s() != s
        })
        .count();
    assert!(high > 0, "the simulator never answered a high S");
    // Through NetHsm every one is low-S and verifies with k256 (which refuses high S).
    let messages: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let results = hsm.sign_many(&key, SignAlgorithm::EcdsaSha256, &refs);
    for (message, result) in messages.iter().zip(results) {
        let signature = result.unwrap();
        assert_eq!(signature.is_low_s(), Some(true));
        let k = k256::ecdsa::Signature::from_slice(&signature.to_raw()).unwrap();
        ecdsa::signature::Verifier::verify(&verifier, message, &k).unwrap();
    }
    for i in 0..20u8 {
        let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, &[i]).unwrap();
        assert_eq!(signature.is_low_s(), Some(true));
        public.verify(&[i], &signature).unwrap();
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` of big-endian magnitudes.
fn ecdsa_der(r: &[u8], s: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let mut body = v.to_vec();
        if body.first().is_some_and(|b| b & 0x80 != 0) {
            body.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(body.len()).unwrap()];
        out.extend(body);
        out
    };
    let mut inner = int(r);
    inner.extend(int(s));
    let mut out = vec![0x30, u8::try_from(inner.len()).unwrap()];
    out.extend(inner);
    out
}

#[test]
fn a_device_signature_outside_the_curve_order_is_a_protocol_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = ScriptedServer::start(&runtime);
    let secret = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let key = ec_key_json(
        "EC_P256K1",
        secret.verifying_key().to_sec1_point(false).as_bytes(),
    );
    let n = Curve::Secp256k1.order().to_vec();
    let mut n_plus_1 = n.clone();
    *n_plus_1.last_mut().unwrap() += 1;
    let hostile = [
        ecdsa_der(&[1], &n),
        ecdsa_der(&[1], &n_plus_1),
        ecdsa_der(&n, &[1]),
        ecdsa_der(&[0], &[1]),
    ];
    let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
    let answers: Vec<&'static str> = hostile
        .iter()
        .map(|der| &*Box::leak(format!(r#"{{"signature":"{}"}}"#, b64(der)).into_boxed_str()))
        .collect();
    let mut script = vec![Step::Json(200, key)];
    script.extend(answers.iter().map(|a| Step::Json(200, a)));
    server.script(script);
    let hsm = scripted_backend(&server);
    let id = KeyId::name("k").unwrap();
    for (i, _) in hostile.iter().enumerate() {
        let e = hsm.sign(&id, SignAlgorithm::EcdsaSha256, b"m").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "answer {i}: {e}");
        assert_eq!(e.operation(), "nethsm.sign", "answer {i}");
    }
    // One key fetch, then one sign request per answer: no retry of a garbage answer.
    assert_eq!(server.seen().len(), 1 + hostile.len());
}

#[test]
fn a_signature_that_does_not_verify_is_verification_failed() {
    let (_runtime, sim) = default_sim();
    let hsm = backend(&sim);
    let key = KeyId::name("vf").unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let signature = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"signed")
        .unwrap();
    let e = hsm
        .public_key(&key)
        .unwrap()
        .verify(b"not signed", &signature)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::VerificationFailed);
}

/// A software key of `spec`, made by OpenSSL, and its PKCS#8 DER.
fn software_key(spec: KeySpec) -> (PKey<Private>, Zeroizing<Vec<u8>>) {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    let ec = |nid: Nid| {
        let group = EcGroup::from_curve_name(nid).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    };
    let key = match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            let bits = u32::try_from(spec.rsa_bits().unwrap()).unwrap();
            PKey::from_rsa(openssl::rsa::Rsa::generate(bits).unwrap()).unwrap()
        }
        KeySpec::Ec(Curve::P256) => ec(Nid::X9_62_PRIME256V1),
        KeySpec::Ec(Curve::P384) => ec(Nid::SECP384R1),
        KeySpec::Ec(Curve::P521) => ec(Nid::SECP521R1),
        KeySpec::Ec(Curve::Secp256k1) => ec(Nid::SECP256K1),
        KeySpec::Ec(Curve::BrainpoolP256r1) => ec(Nid::BRAINPOOL_P256R1),
        KeySpec::Ec(Curve::BrainpoolP384r1) => ec(Nid::BRAINPOOL_P384R1),
        KeySpec::Ec(Curve::BrainpoolP512r1) => ec(Nid::BRAINPOOL_P512R1),
        KeySpec::Ed25519 => PKey::generate_ed25519().unwrap(),
        other => panic!("no software key for {other}"),
    };
    let der = Zeroizing::new(key.private_key_to_pkcs8().unwrap());
    (key, der)
}

/// Whether OpenSSL, with the software key, accepts `signature` over `message`.
fn openssl_verifies(
    key: &PKey<Private>,
    algorithm: SignAlgorithm,
    message: &[u8],
    signature: &hsm_core::Signature,
) -> bool {
    use openssl::hash::MessageDigest;
    use openssl::rsa::Padding;
    use openssl::sign::{RsaPssSaltlen, Verifier};
    if algorithm == SignAlgorithm::Ed25519 {
        let mut v = Verifier::new_without_digest(key).unwrap();
        return v.verify_oneshot(signature.as_raw(), message).unwrap();
    }
    let digest = match algorithm.hash().unwrap().output_len() {
        32 => MessageDigest::sha256(),
        48 => MessageDigest::sha384(),
        _ => MessageDigest::sha512(),
    };
    let mut v = Verifier::new(digest, key).unwrap();
    if algorithm.is_rsa_pss() {
        v.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
    }
    v.update(message).unwrap();
    // DER for ECDSA, the signature bytes otherwise.
    v.verify(&signature.to_der()).unwrap_or(false)
}

#[test]
fn every_claimed_key_type_imports_from_pkcs8_and_signs_verifiably() {
    let (_runtime, sim) = default_sim();
    let hsm = backend(&sim);
    let specs: Vec<KeySpec> = hsm
        .capabilities()
        .key_specs
        .into_iter()
        .filter(|s| s.is_asymmetric())
        .collect();
    assert_eq!(specs.len(), 11, "{specs:?}");
    let message = b"imported key, signed on the device";
    for spec in specs {
        let (software, der) = software_key(spec);
        let id = KeyId::name(format!("imp-{}", spec.name())).unwrap();
        let info = hsm
            .import_key(&ImportRequest::new(id.clone(), PrivateKeyDer::new(der)))
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(info.spec, Some(spec));
        // The device holds the imported key's public half.
        let public = hsm.public_key(&id).unwrap();
        let device_public = PKey::public_key_from_der(public.as_der()).unwrap();
        assert!(
            device_public.public_eq(&software),
            "{spec}: another public key"
        );
        let algorithms: Vec<SignAlgorithm> = match spec {
            KeySpec::Ed25519 => vec![SignAlgorithm::Ed25519],
            KeySpec::Ec(curve) => vec![match curve.matching_hash().output_len() {
                32 => SignAlgorithm::EcdsaSha256,
                48 => SignAlgorithm::EcdsaSha384,
                _ => SignAlgorithm::EcdsaSha512,
            }],
            _ => vec![SignAlgorithm::RsaPkcs1Sha256, SignAlgorithm::RsaPssSha256],
        };
        for algorithm in algorithms {
            let signature = hsm
                .sign(&id, algorithm, message)
                .unwrap_or_else(|e| panic!("{spec} {algorithm}: {e}"));
            assert!(
                openssl_verifies(&software, algorithm, message, &signature),
                "{spec} {algorithm}: OpenSSL refuses the signature"
            );
            assert!(
                !openssl_verifies(&software, algorithm, b"another message", &signature),
                "{spec} {algorithm}: OpenSSL accepts it for another message"
            );
        }
    }
}

/// A certificate (DER) made once by `openssl req -x509`; the NetHSM does not check that it
/// belongs to the key it is stored with.
fn test_certificate() -> (String, Vec<u8>) {
    let pem = include_str!("data/cert.pem").to_owned();
    let der = openssl::x509::X509::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    (pem, der)
}

#[test]
fn certificates_read_back_as_der_replace_and_tell_a_missing_key_from_a_missing_certificate() {
    let (runtime, sim) = default_sim();
    let (admin, _) = admin_and_operator(&sim);
    let hsm = backend(&sim);
    assert!(hsm.capabilities().certificates);
    let key: KeyId = "certified".parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    // The device answers 404 for both; the backend tells them apart.
    assert_eq!(hsm.certificate(&key).unwrap(), None);
    let missing: KeyId = "no-such-key".parse().unwrap();
    let e = hsm.certificate(&missing).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // Another client stored PEM (as nethsm-pkcs11 does with certificate_format: PEM): DER here.
    let (pem, der) = test_certificate();
    runtime
        .block_on(admin.put_key_certificate("certified", pem.as_bytes()))
        .unwrap();
    assert_eq!(hsm.certificate(&key).unwrap().as_deref(), Some(&der[..]));

    // Storing over it replaces it (the device says 409 to a second PUT): the device now holds
    // exactly the DER.
    hsm.store_certificate(&key, &der).unwrap();
    assert_eq!(
        runtime
            .block_on(admin.key_certificate("certified"))
            .unwrap(),
        der
    );
    assert_eq!(hsm.certificate(&key).unwrap().as_deref(), Some(&der[..]));

    // Bytes that are no certificate are refused before anything is sent.
    let before = sim.requests();
    let e = hsm
        .store_certificate(&key, b"not a certificate")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(sim.requests(), before, "nothing was sent");
    let e = hsm.store_certificate(&missing, &der).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // What is not a certificate on the device is a protocol error, not bytes passed on.
    hsm.delete_certificate(&key).unwrap();
    runtime
        .block_on(admin.put_key_certificate("certified", b"certificate bytes"))
        .unwrap();
    let e = hsm.certificate(&key).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    hsm.delete_certificate(&key).unwrap();
    assert_eq!(hsm.certificate(&key).unwrap(), None);
    let e = hsm.delete_certificate(&key).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // Without an administrator certificates are not declared, and refused as such.
    let operator_only = NetHsm::new(sim_client(&sim, "operator", OPERATOR_PASSPHRASE)).unwrap();
    assert!(!operator_only.capabilities().certificates);
    for e in [
        operator_only.certificate(&key).unwrap_err(),
        operator_only.store_certificate(&key, &der).unwrap_err(),
        operator_only.delete_certificate(&key).unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    }
}

#[test]
fn random_bytes_come_in_requests_of_at_most_the_devices_limit() {
    let (_runtime, sim) = default_sim();
    let hsm = NetHsm::new(sim_client(&sim, "operator", OPERATOR_PASSPHRASE)).unwrap();
    assert!(hsm.capabilities().random);
    let before = sim.requests();
    assert!(hsm.random(0).unwrap().is_empty());
    assert_eq!(sim.requests(), before, "no request for no bytes");
    // 2500 bytes: 1024 + 1024 + 452, three requests.
    let bytes = hsm.random(2500).unwrap();
    assert_eq!(bytes.len(), 2500);
    assert_eq!(sim.requests() - before, 3);
    assert_ne!(bytes[..1024], bytes[1024..2048], "the chunks differ");
    let all = hsm.random(hsm_core::MAX_RANDOM_LEN).unwrap();
    assert_eq!(all.len(), hsm_core::MAX_RANDOM_LEN);
    let e = hsm.random(hsm_core::MAX_RANDOM_LEN + 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // An administrator may not read the generator (the spec's role is Operator).
    let admin_only = NetHsm::new(sim_client(&sim, "admin", ADMIN_PASSPHRASE)).unwrap();
    let e = admin_only.random(16).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
}
