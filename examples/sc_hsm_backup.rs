//! Backup and restore of a SmartCard-HSM key through a DKEK share, as the seed does it with
//! `sc-hsm-tool`: initialise the device with one DKEK share, create the share file
//! (password-protected, the format `sc-hsm-tool --create-dkek-share` writes) and import it,
//! generate a key and sign, wrap the key into a file (`sc-hsm-tool --wrap-key` format),
//! re-initialise the device (which wipes every key), import the share again, unwrap the key and
//! sign with it; the signature verifies with the public key saved before the wipe.
//!
//! ```sh
//! cargo run --example sc_hsm_backup                              # the built-in simulator
//! cargo run --example sc_hsm_backup -- --uri 'sc-hsm:?reader=Nitrokey' --wipe-device \
//!     --so-pin-env SO_PIN --out backup/                          # a real device: ERASES IT
//! ```
//!
//! The share file and the wrapped key are written to `--out` (a new temporary directory by
//! default). Each share-file operation takes seconds (10 million MD5 iterations); the example
//! decrypts the share once and imports it twice.
#![allow(clippy::print_stdout, missing_docs)]

#[cfg(all(feature = "sc", feature = "sim"))]
mod common;

#[cfg(all(feature = "sc", feature = "sim"))]
fn main() -> std::process::ExitCode {
    common::exit(backup::run())
}

#[cfg(not(all(feature = "sc", feature = "sim")))]
fn main() {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("sc_hsm_backup needs the features `sc` and `sim`");
    }
}

#[cfg(all(feature = "sc", feature = "sim"))]
mod backup {
    use std::path::PathBuf;

    use clap::Parser;
    use hsm::sc::{InitParams, ScHsm, ShareFile, SoPin, WrappedKeyFile};
    use hsm::uri::BackendUri;
    use hsm::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
    use secrecy::SecretString;

    /// Back up a key through a DKEK share and restore it onto the re-initialised device.
    #[derive(Parser)]
    struct Args {
        /// `sc-hsm:?reader=NAME&pin-env=VAR` or `sc-hsm+sim:` (the default). Unlike the other
        /// examples it is not taken from `HSM_URI`: this one erases the device, so the device is
        /// named on the command line.
        #[arg(long, default_value = "sc-hsm+sim:")]
        uri: String,
        /// Required for anything but the simulator: the device is initialised twice, which
        /// erases every key on it.
        #[arg(long)]
        wipe_device: bool,
        /// Environment variable holding the SO-PIN (16 hex digits); the factory SO-PIN when
        /// absent.
        #[arg(long)]
        so_pin_env: Option<String>,
        /// The user PIN the device gets (taken from the URI's PIN when it has one).
        #[arg(long, default_value = "648219")]
        user_pin: String,
        /// Environment variable holding the DKEK share password (a fixed demo password when
        /// absent).
        #[arg(long)]
        password_env: Option<String>,
        /// Directory for `dkek-share-1.pbe` and `key.wrap`.
        #[arg(long)]
        out: Option<PathBuf>,
    }

    fn secret_from_env(var: Option<&str>, default: &str) -> Result<SecretString, String> {
        match var {
            Some(v) => std::env::var(v)
                .map(SecretString::from)
                .map_err(|_| format!("environment variable {v} is not set")),
            None => Ok(SecretString::from(default)),
        }
    }

    pub(crate) fn run() -> super::common::Result {
        super::common::init_tracing();
        let args = Args::parse();
        let uri = BackendUri::parse(&args.uri)?;
        if uri.scheme != "sc-hsm" {
            return Err(format!(
                "sc_hsm_backup needs a SmartCard-HSM: an sc-hsm: or sc-hsm+sim: URI, not {}:",
                uri.scheme
            )
            .into());
        }
        if !uri.simulated && !args.wipe_device {
            return Err(
                "this example initialises the device twice, erasing every key on it: \
                        pass --wipe-device to confirm"
                    .into(),
            );
        }
        let so_pin = SoPin::from_hex(&secret_from_env(
            args.so_pin_env.as_deref(),
            "3537363231383830",
        )?)?;
        let password = secret_from_env(args.password_env.as_deref(), "demo share password")?;
        let user_pin = SecretString::from(args.user_pin.clone());
        let out = match args.out {
            Some(d) => {
                std::fs::create_dir_all(&d)?;
                d
            }
            None => std::env::temp_dir().join(format!("sc-hsm-backup-{}", std::process::id())),
        };
        std::fs::create_dir_all(&out)?;
        let hsm = ScHsm::open(uri)?;
        hsm.set_pin(user_pin.clone())?;

        // 1. initialise with one DKEK share; create the share file and import it
        hsm.initialize(&InitParams::new(so_pin.clone(), user_pin.clone()).with_dkek_shares(1))?;
        println!("initialised (serial {:?}) for 1 DKEK share", hsm.serial()?);
        let share_file = hsm.create_dkek_share(&password)?;
        let share_path = out.join("dkek-share-1.pbe");
        std::fs::write(&share_path, share_file.as_bytes())?;
        println!("wrote {}", share_path.display());
        let share = ShareFile::from_bytes(std::fs::read(&share_path)?)?.decrypt(&password)?;
        let status = hsm.with_card(|card| card.run(|c| c.import_dkek_share(&share)))?;
        println!(
            "imported the share: {} of {} outstanding, KCV {}",
            status.outstanding,
            status.shares,
            status.kcv_hex()
        );

        // 2. a key, a signature, the public key kept aside, the key wrapped into a file
        let key = KeyId::name("backed-up-key")?;
        hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))?;
        let public = hsm.public_key(&key)?;
        let before = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"before the wipe")?;
        public.verify(b"before the wipe", &before)?;
        let wrap_path = out.join("key.wrap");
        std::fs::write(&wrap_path, hsm.wrap_key(&key)?.encode())?;
        println!("wrapped {key} into {}", wrap_path.display());

        // 3. re-initialise: every key is gone
        hsm.initialize(&InitParams::new(so_pin, user_pin).with_dkek_shares(1))?;
        if !hsm.list_keys()?.is_empty() {
            return Err("re-initialisation left keys behind".into());
        }
        println!("re-initialised: no keys left");

        // 4. the same share again, the key back from the file, and a signature with it
        let status = hsm.with_card(|card| card.run(|c| c.import_dkek_share(&share)))?;
        println!("imported the share again: KCV {}", status.kcv_hex());
        let restored =
            hsm.unwrap_key(&WrappedKeyFile::decode(&std::fs::read(&wrap_path)?)?, false)?;
        let after = hsm.sign(
            &restored.id,
            SignAlgorithm::EcdsaSha256,
            b"after the restore",
        )?;
        public.verify(b"after the restore", &after)?;
        println!(
            "restored {} and signed with it; the signature verifies with the public key from before the wipe",
            restored.id
        );
        Ok(())
    }
}
