//! What every example shares: the backend URI and logging.
#![allow(dead_code)] // Each example compiles this module on its own and uses a part of it.

/// The URI used when neither `--uri` nor `HSM_URI` is given: the built-in NetHSM simulator.
pub(crate) const DEFAULT_URI: &str = "nethsm+sim:";

/// `--uri`, else the `HSM_URI` environment variable, else `default` (usually [`DEFAULT_URI`]).
pub(crate) fn backend_uri(flag: Option<String>, default: &str) -> String {
    flag.or_else(|| std::env::var("HSM_URI").ok())
        .unwrap_or_else(|| default.to_owned())
}

/// The `--uri` option every example takes.
#[derive(clap::Args)]
pub(crate) struct BackendArg {
    /// Backend URI (default: `HSM_URI`, else the built-in NetHSM simulator).
    #[arg(long)]
    uri: Option<String>,
}

impl BackendArg {
    /// Opens the backend `--uri`, `HSM_URI` or [`DEFAULT_URI`] names.
    pub(crate) fn open(self) -> hsm::Result<Box<dyn hsm::Hsm>> {
        hsm::open(&backend_uri(self.uri, DEFAULT_URI))
    }
}

/// Logs to stderr at the level `RUST_LOG` asks for (default: warnings).
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
