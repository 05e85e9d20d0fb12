//! In Rust what the NetHSM seed does with `nitropy nethsm`: provision a fresh device, add an
//! operator, list the keys. By default on the built-in simulator in its factory state.
//!
//! ```sh
//! cargo run --example nethsm_admin
//! NETHSM_ADMIN_PASS=... NETHSM_UNLOCK_PASS=... NETHSM_OPERATOR_PASS=... \
//!     cargo run --example nethsm_admin -- --uri 'nethsm://admin@10.1.2.3:8443?password-env=NETHSM_ADMIN_PASS&ca=nethsm.pem'
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;

use clap::Parser;
use hsm::nethsm::NetHsm;
use hsm::nethsm::client::model::{ProvisionRequest, SystemState, UserPostData, UserRole};
use hsm::nethsm::{Credentials, NetHsmClient};
use hsm::secret::SecretString;
use hsm::uri::BackendUri;

/// Provision a NetHSM, add an operator, list keys.
#[derive(Parser)]
struct Args {
    /// A `nethsm://` or `nethsm+sim:` URI (default: `HSM_URI`, else the simulator in its
    /// factory state).
    #[arg(long)]
    uri: Option<String>,
    /// The operator to add.
    #[arg(long, default_value = "operator2")]
    operator: String,
}

/// A secret from the environment, or the simulator's published default.
fn secret(var: &str, default: &str) -> SecretString {
    std::env::var(var).map_or_else(|_| SecretString::from(default), SecretString::from)
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let uri = common::backend_uri(args.uri, "nethsm+sim:?state=unprovisioned");
    let uri = BackendUri::parse(&uri)?;
    common::require_nethsm(&uri, "nethsm_admin administers a NetHSM")?;
    let hsm = NetHsm::open(uri)?;
    let client: &NetHsmClient = hsm.client();
    let info = hsm.block_on(client.info())?;
    println!("{} {} at {}", info.vendor, info.product, client.base_url());

    let admin_pass = secret("NETHSM_ADMIN_PASS", "adminpassphrase");
    let state = hsm.block_on(client.health_state())?;
    println!("state: {state:?}");
    if state == SystemState::Unprovisioned {
        let request = ProvisionRequest {
            unlock_passphrase: secret("NETHSM_UNLOCK_PASS", "unlockpassphrase"),
            admin_passphrase: admin_pass.clone(),
            system_time: "2026-01-01T00:00:00Z".to_owned(),
        };
        hsm.block_on(client.provision(&request))?;
        println!(
            "provisioned; state: {:?}",
            hsm.block_on(client.health_state())?
        );
    }

    let admin = client.with_credentials(Credentials::new("admin", admin_pass));
    let operator = UserPostData {
        real_name: "Signing operator".to_owned(),
        role: UserRole::Operator,
        passphrase: secret("NETHSM_OPERATOR_PASS", "operator2passphrase"),
    };
    hsm.block_on(admin.add_user(&args.operator, &operator))?;
    let user = hsm.block_on(admin.get_user(&args.operator))?;
    println!(
        "added {} ({:?}, {})",
        args.operator, user.role, user.real_name
    );

    let keys = hsm.block_on(admin.list_keys())?;
    println!("{} keys", keys.len());
    for key in keys {
        println!("  {}", key.id);
    }
    Ok(())
}
