//! No credential or key material in logs, errors or Debug output: the whole administrative and
//! signing flow runs with tracing at TRACE captured into a buffer (every event and span field
//! of this crate and its dependencies), then the buffer, each error's Display and Debug, and
//! the Debug of every value holding a secret are searched for each secret in ASCII and hex.

#![cfg(feature = "sim")]

use std::fmt::Write as _;

use hsm_core::testkit::{Secrets, TraceCapture, error_text};
use hsm_core::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_sc::sim::SimulatedCard;
use hsm_sc::{InitParams, PinRef, ScClient, ScHsm, SoPin};
use secrecy::SecretString;

/// Records an error's Display and Debug, and those of its sources.
fn err(shown: &mut String, e: hsm_core::Error) {
    let _ = write!(shown, "\n{}", error_text(&e));
}

#[test]
fn no_pin_so_pin_password_or_key_material_in_logs_errors_or_debug() {
    let user_pin = "918273";
    let new_pin = "246813";
    let wrong_pin = "555777";
    let so_pin_hex = "0A1B2C3D4E5F6071";
    let so_pin_bytes = hex::decode(so_pin_hex).unwrap();
    let password = "correct horse dkek";
    let wrong_password = "wrong horse dkek";

    let capture = TraceCapture::new();
    let mut shown = String::new(); // every error's Display and Debug, every Debug of a secret holder
    // each secret as text, and its bytes in hex (both cases), base64 and as a Debug byte list
    let mut secrets = Secrets::new();
    for secret in [
        user_pin,
        new_pin,
        wrong_pin,
        so_pin_hex,
        password,
        wrong_password,
    ] {
        let _ = secrets.bytes(secret.as_bytes());
    }
    let _ = secrets.bytes(&so_pin_bytes);

    capture.in_scope(|| {
        let card = SimulatedCard::factory_new().unwrap();
        let hsm = ScHsm::new(
            ScClient::in_memory(card.emulator()),
            Some(SecretString::from(user_pin)),
        )
        .unwrap();

        // initialise, change the SO-PIN, a wrong user PIN, change and unblock the user PIN
        let params = InitParams::new(SoPin::factory_default(), SecretString::from(user_pin))
            .with_dkek_shares(1);
        let _ = write!(shown, "\n{params:?}\n{hsm:?}");
        hsm.initialize(&params).unwrap();
        let new_so = SoPin::from_hex(&SecretString::from(so_pin_hex)).unwrap();
        let _ = write!(shown, "\n{new_so:?}");
        hsm.with_card(|c| c.run(|c| c.change_so_pin(&SoPin::factory_default(), &new_so, false)))
            .unwrap();
        hsm.login().unwrap();
        let bad = ScHsm::new(
            ScClient::in_memory(card.emulator()),
            Some(SecretString::from(wrong_pin)),
        )
        .unwrap();
        err(&mut shown, bad.login().unwrap_err());
        err(&mut shown, bad.login().unwrap_err()); // refused without sending it again
        let _ = write!(shown, "\n{bad:?}");
        err(
            &mut shown,
            SoPin::from_hex(&SecretString::from("not-hex-0A1B2C3D")).unwrap_err(),
        );
        err(
            &mut shown,
            hsm.unblock_pin(
                &SoPin::from_hex(&SecretString::from("FFFFFFFFFFFFFFFF")).unwrap(),
                &SecretString::from(new_pin),
                false,
            )
            .unwrap_err(),
        );
        hsm.change_pin(&SecretString::from(user_pin), &SecretString::from(new_pin))
            .unwrap();
        hsm.unblock_pin(&new_so, &SecretString::from(new_pin), false)
            .unwrap();
        hsm.set_pin(SecretString::from(new_pin)).unwrap();
        let status = hsm
            .with_card(|c| c.run(|c| c.pin_status(PinRef::User)))
            .unwrap();
        assert!(
            matches!(
                status,
                hsm_sc::PinStatus::Verified | hsm_sc::PinStatus::TriesLeft(3)
            ),
            "{status:?}"
        );

        // a DKEK share: created, decrypted with the right and a wrong password in parallel,
        // imported; a key wrapped and unwrapped under it
        let file = hsm
            .create_dkek_share(&SecretString::from(password))
            .unwrap();
        let _ = write!(shown, "\n{file:?}");
        let (share, wrong) = std::thread::scope(|s| {
            let wrong =
                s.spawn(|| capture.in_scope(|| file.decrypt(&SecretString::from(wrong_password))));
            (
                file.decrypt(&SecretString::from(password)).unwrap(),
                wrong.join().unwrap(),
            )
        });
        err(&mut shown, wrong.unwrap_err());
        let _ = secrets.bytes(share.as_slice());
        let status = hsm
            .with_card(|c| c.run(|c| c.import_dkek_share(&share)))
            .unwrap();
        assert_eq!(status.outstanding, 0);
        let key = KeyId::name("secret-key").unwrap();
        hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
            .unwrap();
        let wrapped = hsm.wrap_key(&key).unwrap();
        let _ = write!(shown, "\n{wrapped:?}");
        hsm.delete_key(&key).unwrap();
        let _ = hsm.unwrap_key(&wrapped, false).unwrap();
        let sig = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"m").unwrap();
        hsm.public_key(&key).unwrap().verify(b"m", &sig).unwrap();

        // key agreement and decryption results are key material too
        let peer = p256_point();
        let z = hsm.ecdh(&key, &peer).unwrap();
        let _ = secrets.bytes(&z);
        let rsa = KeyId::name("secret-rsa").unwrap();
        hsm.generate_key(&KeyTemplate::new(rsa.clone(), KeySpec::Rsa2048))
            .unwrap();
        let plain = b"a wrapped session key 0123456789";
        let ct = openssl_encrypt(&hsm.public_key(&rsa).unwrap().to_pem(), plain);
        let pt = hsm.decrypt_raw(&rsa, &ct).unwrap();
        assert!(pt.ends_with(plain));
        let _ = secrets.bytes(plain);
        let _ = write!(
            shown,
            "\n{hsm:?}\n{:?}",
            hsm.with_card(|c| Ok(format!("{c:?}"))).unwrap()
        );
    });

    let log = capture.text();
    assert!(
        log.contains("C-APDU"),
        "the APDU trace was not captured:\n{log}"
    );
    assert!(log.len() > 2000, "suspiciously little was logged:\n{log}");
    secrets.assert_absent("the TRACE log", &log);
    secrets.assert_absent("an error or Debug output", &shown);
}

/// A P-256 public point from a fixed, valid private key (the generator times 2).
fn p256_point() -> Vec<u8> {
    hex::decode(
        "047CF27B188D034F7E8A52380304B51AC3C08969E277F21B35A60B48FC47669978\
         07775510DB8ED040293D9AC69F7430DBBA7DADE63CE982299E04B79D227873D1",
    )
    .unwrap()
}

/// RSA PKCS#1 v1.5 encryption by the openssl CLI.
fn openssl_encrypt(pem: &str, plain: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k.pem"), pem).unwrap();
    std::fs::write(dir.path().join("p"), plain).unwrap();
    let encrypt = [
        "pkeyutl", "-encrypt", "-pubin", "-inkey", "k.pem", "-in", "p", "-out", "c",
    ];
    let mut openssl = std::process::Command::new("openssl");
    hsm_testkit::cli::run(openssl.args(encrypt).current_dir(dir.path()));
    std::fs::read(dir.path().join("c")).unwrap()
}
