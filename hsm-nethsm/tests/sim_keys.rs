//! The simulator's key features through the typed client: namespaces (isolated key spaces,
//! namespace administrators' limits), AES-CBC keys (checked against the `openssl` CLI),
//! stored certificates, PEM import, moves, labels and prefixed listings.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use hsm_core::ErrorKind;
use hsm_nethsm::client::KeyFilter;
use hsm_nethsm::client::model::{
    DecryptMode, DecryptRequest, EncryptMode, EncryptRequest, GenerateKeyRequest, ImportKeyRequest,
    KeyMechanism, KeyPrivateData, KeyType, PemKeyArguments, SignMode, UserPostData, UserRole,
};
use hsm_nethsm::sim::ADMIN_PASSPHRASE;
use secrecy::SecretString;
use support::{admin_and_operator, default_sim, key_request, rsa2048_request, sim_client};

fn ed25519(id: &str) -> GenerateKeyRequest {
    key_request(id, KeyType::Curve25519, &[KeyMechanism::EdDsaSignature])
}

fn new_user(role: UserRole) -> UserPostData {
    UserPostData {
        real_name: "N".into(),
        role,
        passphrase: SecretString::from("ns-user-passphrase"),
    }
}

fn kind<T: std::fmt::Debug>(r: hsm_core::Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}

#[test]
fn namespaces_isolate_keys_and_limit_their_administrators() {
    let (runtime, sim) = default_sim();
    let root = sim_client(&sim, "admin", ADMIN_PASSPHRASE);
    let ns_admin = sim_client(&sim, "ns1~admin", "ns-user-passphrase");
    let ns_op = sim_client(&sim, "ns1~op", "ns-user-passphrase");
    let orphan = sim_client(&sim, "ns2~admin", "ns-user-passphrase");
    runtime.block_on(async {
        // A root administrator may create users in namespaces not created yet; they can do
        // nothing until the namespace exists.
        root.add_user("ns1~admin", &new_user(UserRole::Administrator))
            .await
            .unwrap();
        root.add_user("ns2~admin", &new_user(UserRole::Administrator))
            .await
            .unwrap();
        assert_eq!(
            kind(ns_admin.list_keys().await),
            ErrorKind::PermissionDenied
        );
        root.add_namespace("ns1").await.unwrap();
        assert_eq!(
            kind(root.add_namespace("ns1").await),
            ErrorKind::AlreadyExists
        );
        assert_eq!(root.list_namespaces().await.unwrap(), vec!["ns1"]);
        assert_eq!(kind(orphan.list_keys().await), ErrorKind::PermissionDenied);

        // The namespace administrator manages its own users (a generated id lands in ns1)...
        ns_admin
            .add_user("ns1~op", &new_user(UserRole::Operator))
            .await
            .unwrap();
        let generated = ns_admin
            .create_user(None, &new_user(UserRole::Operator))
            .await
            .unwrap();
        assert!(generated.starts_with("ns1~"), "{generated}");
        let in_ns = root
            .create_user(Some("ns1"), &new_user(UserRole::Operator))
            .await
            .unwrap();
        assert!(in_ns.starts_with("ns1~"), "{in_ns}");
        let mut users = ns_admin.list_users().await.unwrap();
        users.sort();
        assert!(users.iter().all(|u| u.starts_with("ns1~")), "{users:?}");
        assert_eq!(users.len(), 4);
        assert!(root.list_users().await.unwrap().len() > users.len());
        // ... and nothing outside it: root users, other namespaces, root-only endpoints.
        for e in [
            kind(ns_admin.add_user("x", &new_user(UserRole::Operator)).await),
            kind(
                ns_admin
                    .add_user("ns2~x", &new_user(UserRole::Operator))
                    .await,
            ),
            kind(ns_admin.get_user("admin").await),
            kind(ns_admin.delete_user("operator").await),
            kind(ns_admin.add_namespace("ns3").await),
            kind(ns_admin.list_namespaces().await),
            kind(ns_admin.lock().await),
            kind(ns_admin.system_info().await),
            kind(ns_admin.time().await),
        ] {
            assert_eq!(e, ErrorKind::PermissionDenied);
        }

        // Same key id, two namespaces, two keys.
        root.generate_key(&ed25519("k")).await.unwrap();
        ns_admin.generate_key(&ed25519("k")).await.unwrap();
        ns_admin.generate_key(&ed25519("only-ns")).await.unwrap();
        let root_pub = root.get_key("k").await.unwrap().public.unwrap().data;
        let ns_pub = ns_admin.get_key("k").await.unwrap().public.unwrap().data;
        assert_ne!(root_pub, ns_pub);
        assert_eq!(root.list_keys().await.unwrap().len(), 1);
        assert_eq!(ns_op.list_keys().await.unwrap().len(), 2);
        assert_eq!(kind(root.get_key("only-ns").await), ErrorKind::NotFound);
        // The namespaced operator signs with its namespace's key.
        let signature = ns_op.sign("k", SignMode::EdDsa, b"message").await.unwrap();
        let key = ed25519_dalek::VerifyingKey::from_bytes(
            &ns_pub.unwrap().as_slice().try_into().unwrap(),
        )
        .unwrap();
        key.verify_strict(
            b"message",
            &ed25519_dalek::Signature::from_slice(&signature).unwrap(),
        )
        .unwrap();

        // Deleting the namespace deletes its keys; its users are powerless until it returns.
        root.delete_namespace("ns1").await.unwrap();
        assert_eq!(
            kind(root.delete_namespace("ns1").await),
            ErrorKind::NotFound
        );
        assert_eq!(kind(ns_op.list_keys().await), ErrorKind::PermissionDenied);
        root.add_namespace("ns1").await.unwrap();
        assert!(ns_op.list_keys().await.unwrap().is_empty());
        assert_eq!(root.list_keys().await.unwrap().len(), 1);
    });
}

fn openssl_aes_cbc(key: &[u8], iv: &[u8], data: &[u8], decrypt: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::write(&input, data).unwrap();
    let cipher = format!("-aes-{}-cbc", key.len() * 8);
    let mut args = vec!["enc", cipher.as_str(), "-nopad", "-K"];
    let (k, i) = (hex::encode(key), hex::encode(iv));
    args.extend([
        k.as_str(),
        "-iv",
        i.as_str(),
        "-in",
        input.to_str().unwrap(),
    ]);
    if decrypt {
        args.push("-d");
    }
    let out = Command::new("openssl").args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn aes_cbc_keys_encrypt_and_decrypt_like_openssl() {
    let (runtime, sim) = default_sim();
    let (admin, operator) = admin_and_operator(&sim);
    let aes = vec![
        KeyMechanism::AesEncryptionCbc,
        KeyMechanism::AesDecryptionCbc,
    ];
    runtime.block_on(async {
        for bits in [128usize, 192, 256] {
            let key: Vec<u8> = (0..bits / 8).map(|i| i as u8 ^ 0x5a).collect();
            let id = format!("aes{bits}");
            let request = ImportKeyRequest {
                mechanisms: aes.clone(),
                key_type: KeyType::Generic,
                private: KeyPrivateData {
                    data: Some(zeroize::Zeroizing::new(key.clone())),
                    ..KeyPrivateData::default()
                },
                restrictions: None,
                label: None,
            };
            admin.import_key(Some(&id), &request).await.unwrap();
            let iv = [7u8; 16];
            let message = b"thirty-two bytes of plaintext!!!".to_vec();
            let encrypted = operator
                .encrypt(
                    &id,
                    &EncryptRequest {
                        mode: EncryptMode::AesCbc,
                        message: message.clone(),
                        iv: Some(iv.to_vec()),
                    },
                )
                .await
                .unwrap();
            assert_eq!(encrypted.iv, iv);
            assert_eq!(
                encrypted.encrypted,
                openssl_aes_cbc(&key, &iv, &message, false)
            );
            let from_openssl = openssl_aes_cbc(&key, &iv, &message, false);
            let decrypted = operator
                .decrypt(
                    &id,
                    &DecryptRequest {
                        mode: DecryptMode::AesCbc,
                        encrypted: from_openssl,
                        iv: Some(iv.to_vec()),
                    },
                )
                .await
                .unwrap();
            assert_eq!(decrypted.decrypted, message);
        }
        // A generated AES key, a device-chosen IV, and the rules: no padding, AES mode only.
        let mut generate = ed25519("aesgen");
        generate.key_type = KeyType::Generic;
        generate.length = Some(256);
        generate.mechanisms = aes.clone();
        admin.generate_key(&generate).await.unwrap();
        assert!(admin.get_key("aesgen").await.unwrap().public.is_none());
        let encrypted = operator
            .encrypt(
                "aesgen",
                &EncryptRequest {
                    mode: EncryptMode::AesCbc,
                    message: vec![1; 48],
                    iv: None,
                },
            )
            .await
            .unwrap();
        assert_eq!((encrypted.iv.len(), encrypted.encrypted.len()), (16, 48));
        let back = operator
            .decrypt(
                "aesgen",
                &DecryptRequest {
                    mode: DecryptMode::AesCbc,
                    encrypted: encrypted.encrypted.clone(),
                    iv: Some(encrypted.iv.clone()),
                },
            )
            .await
            .unwrap();
        assert_eq!(back.decrypted, vec![1; 48]);
        let uneven = EncryptRequest {
            mode: EncryptMode::AesCbc,
            message: vec![1; 15],
            iv: None,
        };
        assert_eq!(
            kind(operator.encrypt("aesgen", &uneven).await),
            ErrorKind::InvalidInput
        );
        let wrong_mode = DecryptRequest {
            mode: DecryptMode::Pkcs1,
            encrypted: vec![0; 16],
            iv: None,
        };
        assert_eq!(
            kind(operator.decrypt("aesgen", &wrong_mode).await),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(admin.encrypt("aesgen", &uneven).await),
            ErrorKind::PermissionDenied
        );
    });
}

/// `openssl ARGS`; fails the test, with openssl's output, unless it succeeds.
fn openssl(args: &[&str]) -> String {
    hsm_testkit::cli::run(Command::new("openssl").args(args))
}

#[test]
fn certificates_pem_import_moves_labels_and_prefixes() {
    let (runtime, sim) = default_sim();
    let (admin, operator) = admin_and_operator(&sim);
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        // Certificates: stored exactly, one at a time.
        admin.generate_key(&ed25519("certkey")).await.unwrap();
        assert_eq!(
            kind(operator.key_certificate("certkey").await),
            ErrorKind::NotFound
        );
        let cert = b"\x30\x82any bytes, the device does not parse them".to_vec();
        admin.put_key_certificate("certkey", &cert).await.unwrap();
        assert_eq!(
            kind(admin.put_key_certificate("certkey", &cert).await),
            ErrorKind::AlreadyExists
        );
        assert_eq!(operator.key_certificate("certkey").await.unwrap(), cert);
        assert_eq!(
            kind(operator.delete_key_certificate("certkey").await),
            ErrorKind::PermissionDenied
        );
        admin.delete_key_certificate("certkey").await.unwrap();
        assert_eq!(
            kind(admin.delete_key_certificate("certkey").await),
            ErrorKind::NotFound
        );

        // PEM import in every form openssl writes; the device's public key is openssl's.
        for (id, curve, form) in [
            ("pem-ec", "prime256v1", "traditional"),
            ("pem-bp512", "brainpoolP512r1", "pkcs8"),
            ("pem-rsa", "", "traditional"),
            ("pem-ed", "", "pkcs8"),
        ] {
            let path = dir.path().join(format!("{id}.pem"));
            let path = path.to_str().unwrap();
            match (id, curve) {
                ("pem-rsa", _) => openssl(&["genrsa", "-traditional", "-out", path, "2048"]),
                ("pem-ed", _) => openssl(&["genpkey", "-algorithm", "ed25519", "-out", path]),
                (_, curve) if form == "traditional" => {
                    openssl(&["ecparam", "-name", curve, "-genkey", "-noout", "-out", path])
                }
                (_, curve) => openssl(&[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    &format!("ec_paramgen_curve:{curve}"),
                    "-out",
                    path,
                ]),
            };
            let pem = std::fs::read_to_string(path).unwrap();
            let mechanism = match id {
                "pem-rsa" => KeyMechanism::RsaSignaturePkcs1,
                "pem-ed" => KeyMechanism::EdDsaSignature,
                _ => KeyMechanism::EcdsaSignature,
            };
            let arguments = PemKeyArguments {
                mechanisms: vec![mechanism],
                restrictions: None,
                label: Some(format!("{id} label")),
            };
            let got = admin
                .import_key_pem(Some(id), &arguments, &SecretString::from(pem))
                .await
                .unwrap();
            assert_eq!(got, id);
            let expected = openssl(&["pkey", "-in", path, "-pubout"]);
            let device = admin.public_key_pem(id).await.unwrap();
            assert_eq!(
                openssl_der(&device, &dir),
                openssl_der(&expected, &dir),
                "{id}"
            );
            assert_eq!(
                admin.get_key(id).await.unwrap().label.as_deref(),
                Some(format!("{id} label").as_str())
            );
        }
        let bad = admin
            .import_key_pem(
                None,
                &PemKeyArguments {
                    mechanisms: vec![KeyMechanism::EcdsaSignature],
                    restrictions: None,
                    label: None,
                },
                &SecretString::from("not a key"),
            )
            .await;
        assert_eq!(kind(bad), ErrorKind::InvalidInput);

        // Prefix and label listings, labels, moves.
        let ids = |items: Vec<hsm_nethsm::client::model::KeyItem>| {
            let mut v: Vec<String> = items.into_iter().map(|i| i.id).collect();
            v.sort();
            v
        };
        let prefixed = admin
            .list_keys_filtered(&KeyFilter {
                prefix: Some("pem-"),
                ..KeyFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(
            ids(prefixed),
            vec!["pem-bp512", "pem-ec", "pem-ed", "pem-rsa"]
        );
        admin.set_key_label("certkey", "signer").await.unwrap();
        admin.set_key_label("certkey", "signer").await.unwrap();
        let labelled = admin
            .list_keys_filtered(&KeyFilter {
                label: Some("signer"),
                ..KeyFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(labelled), vec!["certkey"]);
        admin.delete_key_label("certkey").await.unwrap();
        assert_eq!(admin.get_key("certkey").await.unwrap().label, None);
        let moved = admin.move_key("certkey", "renamed").await.unwrap();
        assert_eq!(moved.id, "renamed");
        assert_eq!(kind(admin.get_key("certkey").await), ErrorKind::NotFound);
        assert_eq!(
            kind(admin.move_key("renamed", "pem-ec").await),
            ErrorKind::AlreadyExists
        );
        operator
            .sign("renamed", SignMode::EdDsa, b"still works")
            .await
            .unwrap();
    });
}

/// A PEM public key as openssl writes it (normalises the PEM's layout).
fn openssl_der(pem: &str, dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("cmp.pem");
    std::fs::write(&path, pem).unwrap();
    openssl(&["pkey", "-pubin", "-in", path.to_str().unwrap(), "-pubout"])
}

#[test]
fn rsa_raw_and_the_older_hashes_decrypt_and_sign_like_openssl() {
    use rsa::pkcs8::DecodePublicKey as _;
    let (runtime, sim) = default_sim();
    let (admin, operator) = admin_and_operator(&sim);
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    runtime.block_on(async {
        admin
            .generate_key(&rsa2048_request(
                "rsa-old",
                &[
                    KeyMechanism::RsaDecryptionRaw,
                    KeyMechanism::RsaDecryptionOaepMd5,
                    KeyMechanism::RsaDecryptionOaepSha1,
                    KeyMechanism::RsaSignaturePssMd5,
                    KeyMechanism::RsaSignaturePssSha1,
                    KeyMechanism::RsaSignaturePssSha224,
                ],
            ))
            .await
            .unwrap();
        let pem = operator.public_key_pem("rsa-old").await.unwrap();
        std::fs::write(file("pub.pem"), &pem).unwrap();
        // RAW: textbook RSA of a 256-byte block encrypted by openssl without padding.
        let mut block = vec![0u8; 256];
        block[1..]
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8);
        std::fs::write(file("block"), &block).unwrap();
        let pub_pem = file("pub.pem");
        let (block_in, block_out) = (file("block"), file("block.enc"));
        openssl(&[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            &pub_pem,
            "-pkeyopt",
            "rsa_padding_mode:none",
            "-in",
            &block_in,
            "-out",
            &block_out,
        ]);
        let decrypted = operator
            .decrypt(
                "rsa-old",
                &DecryptRequest {
                    mode: DecryptMode::Raw,
                    encrypted: std::fs::read(&block_out).unwrap(),
                    iv: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(decrypted.decrypted, block);
        // OAEP with MD5 and SHA-1 (MGF1 with the same hash), encrypted by the rsa crate.
        let public = rsa::RsaPublicKey::from_public_key_pem(&pem).unwrap();
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        for (mode, encrypted) in [
            (
                DecryptMode::OaepMd5,
                public
                    .encrypt(&mut rng, rsa::Oaep::<md5::Md5>::new(), b"md5 secret")
                    .unwrap(),
            ),
            (
                DecryptMode::OaepSha1,
                public
                    .encrypt(&mut rng, rsa::Oaep::<sha1::Sha1>::new(), b"sha1 secret")
                    .unwrap(),
            ),
        ] {
            let request = DecryptRequest {
                mode,
                encrypted,
                iv: None,
            };
            let plain = operator.decrypt("rsa-old", &request).await.unwrap();
            assert!(plain.decrypted.ends_with(b" secret"), "{mode:?}");
        }
        // PSS over MD5, SHA-1 and SHA-224 digests, verified by openssl.
        for (mode, digest, data) in [
            (SignMode::PssMd5, "md5", vec![1u8; 16]),
            (SignMode::PssSha1, "sha1", vec![2u8; 20]),
            (SignMode::PssSha224, "sha224", vec![3u8; 28]),
        ] {
            let signature = operator.sign("rsa-old", mode, &data).await.unwrap();
            std::fs::write(file("digest"), &data).unwrap();
            std::fs::write(file("sig"), &signature).unwrap();
            let (digest_in, sig_in) = (file("digest"), file("sig"));
            let verified = openssl(&[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                &pub_pem,
                "-in",
                &digest_in,
                "-sigfile",
                &sig_in,
                "-pkeyopt",
                "rsa_padding_mode:pss",
                "-pkeyopt",
                &format!("digest:{digest}"),
                "-pkeyopt",
                "rsa_pss_saltlen:digest",
            ]);
            assert!(verified.contains("Success"), "{mode:?}: {verified}");
            // A digest of the wrong size: 400.
            let e = operator
                .sign("rsa-old", mode, &[0u8; 31])
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    });
}

#[test]
fn bip340_signatures_verify_with_the_x_only_key() {
    let (runtime, sim) = default_sim();
    let (admin, operator) = admin_and_operator(&sim);
    runtime.block_on(async {
        admin
            .generate_key(&key_request(
                "taproot",
                KeyType::EcP256k1,
                &[KeyMechanism::Bip340Signature],
            ))
            .await
            .unwrap();
        let point = admin
            .get_key("taproot")
            .await
            .unwrap()
            .public
            .unwrap()
            .data
            .unwrap();
        let x: [u8; 32] = point[1..33].try_into().unwrap();
        let key = k256::schnorr::VerifyingKey::from_bytes(&x.into()).unwrap();
        for message in [&b"short"[..], &[7u8; 32][..], &[1u8; 100][..]] {
            let signature = operator
                .sign("taproot", SignMode::Bip340, message)
                .await
                .unwrap();
            let signature = k256::schnorr::Signature::try_from(signature.as_slice()).unwrap();
            key.verify_raw(message, &signature).unwrap();
        }
        // ECDSA is not among the key's mechanisms: 400.
        let e = operator
            .sign("taproot", SignMode::Ecdsa, &[0u8; 32])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn the_backend_encrypts_and_decrypts_beside_signing() {
    use hsm_core::uri::BackendUri;
    use hsm_core::{KeyId, KeySpec, KeyStore as _, KeyTemplate};
    let hsm = hsm_nethsm::NetHsm::open(BackendUri::parse("nethsm+sim:").unwrap()).unwrap();
    let aes: KeyId = "backend-aes".parse().unwrap();
    let info = hsm
        .generate_key(&KeyTemplate::new(aes.clone(), KeySpec::Aes256))
        .unwrap();
    assert_eq!(info.spec, Some(KeySpec::Aes256));
    let plaintext = [0x5au8; 64];
    let sealed = hsm.encrypt_aes_cbc(&aes, &plaintext, None).unwrap();
    assert_eq!((sealed.ciphertext.len(), sealed.iv.len()), (64, 16));
    assert_ne!(sealed.ciphertext, plaintext);
    let opened = hsm
        .decrypt(
            &aes,
            DecryptMode::AesCbc,
            &sealed.ciphertext,
            Some(&sealed.iv),
        )
        .unwrap();
    assert_eq!(opened.as_slice(), plaintext);
    let e = hsm.encrypt_aes_cbc(&aes, &[1; 15], None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // Keys the backend generates for signing do not decrypt (their mechanisms are signing).
    let rsa: KeyId = "backend-rsa".parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(rsa.clone(), KeySpec::Rsa2048))
        .unwrap();
    let e = hsm
        .decrypt(&rsa, DecryptMode::Pkcs1, &[0; 256], None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        hsm.encrypt_aes_cbc(&"bad id".parse().unwrap(), &[0; 16], None)
            .is_err()
    );
}
