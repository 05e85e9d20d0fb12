//! AES on the se.SAM N200, as in the jpmens.net review (seed 000): a symmetric key, `encrypt`
//! and `decrypt` with CBC on the device, the round trip checked.
//!
//! Uses the key `--key` if it exists (it must be an AES key), else generates it (`--spec`,
//! default aes256; the N200's AES generation command is not public: its name is a guess,
//! marked unconfirmed and overridable with `commands=FILE` in the URI, see `hsm-n200`).
//!
//! ```sh
//! cargo run --example n200_symmetric                                  # the built-in simulator
//! cargo run --example n200_symmetric -- --uri "n200://pkmaster@10.0.0.5?password-env=N200_PASS&pin-env=N200_KEY_PIN&ca=server63.crt&server-name=seSAM-nserie-101" \
//!     --key k01 --message hello-world
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;

use clap::Parser;
use hsm::n200::N200;
use hsm::uri::BackendUri;
use hsm::{Error, ErrorKind, KeyId, KeySpec, KeyStore as _, KeyTemplate};

const OP: &str = "example.n200_symmetric";

/// Encrypt and decrypt a message with an AES key on an N200 (CBC).
#[derive(Parser)]
struct Args {
    /// An `n200://` or `n200+sim:` URI (default: `HSM_URI`, else the built-in simulator).
    #[arg(long)]
    uri: Option<String>,
    /// The AES key's name (its nice_name on the device).
    #[arg(long, default_value = "exaes")]
    key: String,
    /// The size of a key generated here: aes128 or aes256.
    #[arg(long, default_value = "aes256")]
    spec: KeySpec,
    /// The text to encrypt.
    #[arg(long, default_value = "hello-world")]
    message: String,
}

fn main() -> ExitCode {
    common::main(|args| run(args).map_err(Into::into))
}

fn is_aes(spec: Option<KeySpec>) -> bool {
    matches!(spec, Some(KeySpec::Aes128 | KeySpec::Aes256))
}

fn run(args: Args) -> hsm::Result<()> {
    if !is_aes(Some(args.spec)) {
        return Err(Error::invalid_input(
            OP,
            format!("--spec must be aes128 or aes256, not {}", args.spec),
        ));
    }
    let uri = common::backend_uri(args.uri, "n200+sim:");
    let n200 = N200::open(BackendUri::parse(&uri)?)?;
    let key = KeyId::name(args.key)?;

    match n200.key_info(&key) {
        Ok(info) if is_aes(info.spec) => {
            let spec = info.spec.map_or("AES", KeySpec::name);
            println!("using the {spec} key {key}");
        }
        Ok(info) => {
            return Err(Error::invalid_input(
                OP,
                format!(
                    "the key {key} exists but is not an AES key ({:?})",
                    info.spec
                ),
            ));
        }
        Err(e) if e.is_not_found() => {
            let info = n200.generate_key(&KeyTemplate::new(key.clone(), args.spec))?;
            let key_id = info.extras.get("key_id").map_or("?", String::as_str);
            println!("generated the {} key {key} (key id {key_id})", args.spec);
        }
        Err(e) => return Err(e),
    }

    let ciphertext = n200.encrypt(&key, "CBC", &args.message)?;
    println!("encrypted {:?} with CBC: {ciphertext}", args.message);
    let plaintext = n200.decrypt(&key, "CBC", &ciphertext)?;
    println!("decrypted: {plaintext:?}");
    if plaintext != args.message {
        return Err(Error::new(ErrorKind::Protocol, OP).with_message(format!(
            "the round trip gave {plaintext:?}, not {:?}",
            args.message
        )));
    }
    println!("round trip ok");
    Ok(())
}
