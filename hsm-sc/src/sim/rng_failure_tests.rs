//! The simulated card when its random generator fails: error answers, never zeros.

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::client::card::ScClient;
use crate::client::pin::SoPin;
use crate::protocol::apdu::Apdu;
use crate::sim::rng::{RNG_FAILURE, failing};
use crate::sim::{DEFAULT_USER_PIN, SimulatedCard};
use crate::{DkekStatus, InitParams};
use hsm_core::DeviceStatus;

fn client(sim: &SimulatedCard) -> ScClient {
    let mut sc = ScClient::in_memory(sim.emulator());
    sc.run(|c| c.select_applet().map(drop)).unwrap();
    sc.run(|c| c.verify_pin(&SecretString::from(DEFAULT_USER_PIN)))
        .unwrap();
    sc
}

fn status_of(e: &hsm_core::Error) -> Option<u16> {
    match e.status() {
        Some(DeviceStatus::StatusWord(sw)) => Some(*sw),
        _ => None,
    }
}

#[test]
fn get_challenge_fails_instead_of_answering_zeros() {
    let sim = SimulatedCard::initialized().unwrap();
    let mut sc = client(&sim);
    let challenge = Apdu::new(0x00, 0x84, 0x00, 0x00).expect(32);
    let r = failing::during(|| sc.run(|c| c.transmit(&challenge, "sc-hsm.test"))).unwrap();
    assert_eq!(r.sw().0, RNG_FAILURE);
    assert!(r.data().is_empty(), "{:02X?}", r.data());
    let e = failing::during(|| sc.run(|c| c.random(32))).unwrap_err();
    assert_eq!(status_of(&e), Some(RNG_FAILURE), "{e}");
    // with a working generator: 32 bytes, not all zero
    let r = sc.run(|c| c.random(32)).unwrap();
    assert_eq!(r.len(), 32);
    assert!(r.iter().any(|&b| b != 0));
}

#[test]
fn initialize_with_a_device_dkek_leaves_the_card_alone_when_the_generator_fails() {
    let sim = SimulatedCard::initialized().unwrap();
    let mut sc = client(&sim);
    let new_pin = SecretString::from("246810");
    let params = InitParams::new(SoPin::factory_default(), new_pin.clone()).with_dkek_shares(0);
    let e = failing::during(|| sc.run(|c| c.initialize(&params))).unwrap_err();
    assert_eq!(status_of(&e), Some(RNG_FAILURE), "{e}");
    // Not initialised: no DKEK (not a complete all-zero one), the old PIN still in place.
    assert_eq!(sc.run(|c| c.dkek_status()).unwrap(), None);
    sc.run(|c| c.select_applet().map(drop)).unwrap();
    sc.run(|c| c.verify_pin(&SecretString::from(DEFAULT_USER_PIN)))
        .unwrap();
    // With a working generator: a complete DKEK that is not the all-zero one.
    sc.run(|c| c.initialize(&params)).unwrap();
    let status: DkekStatus = sc.run(|c| c.dkek_status()).unwrap().unwrap();
    assert_eq!((status.shares, status.outstanding), (0, 0));
    assert_ne!(status.kcv, crate::protocol::dkek::kcv(&[0; 32]));
}

#[test]
fn wrap_key_fails_when_the_generator_fails() {
    let sim = SimulatedCard::initialized().unwrap();
    let mut sc = client(&sim);
    sc.run(|c| {
        c.initialize(
            &InitParams::new(
                SoPin::factory_default(),
                SecretString::from(DEFAULT_USER_PIN),
            )
            .with_dkek_shares(1),
        )
    })
    .unwrap();
    sc.run(|c| c.verify_pin(&SecretString::from(DEFAULT_USER_PIN)))
        .unwrap();
    sc.run(|c| c.import_dkek_share(&Zeroizing::new([7; 32])))
        .unwrap();
    let request = crate::client::keys::KeyGenRequest {
        key_ref: 1,
        spec: hsm_core::KeySpec::Ec(hsm_core::Curve::P256),
        car: "UTCA00001".into(),
        chr: "DESIM0000100001".into(),
        algorithms: None,
    };
    sc.run(|c| c.generate_key_pair(&request)).unwrap();
    let e = failing::during(|| sc.run(|c| c.wrap_key(1))).unwrap_err();
    assert_eq!(status_of(&e), Some(RNG_FAILURE), "{e}");
    assert!(!sc.run(|c| c.wrap_key(1)).unwrap().is_empty());
}
