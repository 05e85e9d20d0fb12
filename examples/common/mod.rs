//! What every example shares: the backend URI, logging, and how an error is printed.
#![allow(dead_code)] // Each example compiles this module on its own and uses a part of it.

use std::process::ExitCode;

pub(crate) mod x509;

/// The URI used when neither `--uri` nor `HSM_URI` is given: the built-in NetHSM simulator.
pub(crate) const DEFAULT_URI: &str = "nethsm+sim:";

/// What an example's body returns: any error, printed by [`exit`].
pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

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
    /// The URI `--uri`, `HSM_URI` or [`DEFAULT_URI`] names.
    pub(crate) fn uri(self) -> String {
        backend_uri(self.uri, DEFAULT_URI)
    }

    /// Opens the backend `--uri`, `HSM_URI` or [`DEFAULT_URI`] names.
    pub(crate) fn open(self) -> hsm::Result<Box<dyn hsm::Hsm>> {
        hsm::open(&self.uri())
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

/// An example's `main`: `fn main() -> ExitCode { common::main(run) }` with
/// `fn run(args: Args) -> common::Result`: logging set up, the arguments parsed, `run` called
/// and its error printed by [`exit`].
pub(crate) fn main<A: clap::Parser>(run: impl FnOnce(A) -> Result) -> ExitCode {
    init_tracing();
    exit(run(A::parse()))
}

/// Ends an example: exit code 0, or the error printed as [`main`] describes it.
///
/// On error it prints the error with `Display`, never `Debug` (which is what returning the error
/// from `main` would print): for an [`hsm::Error`] that is the failing operation, the kind, the
/// message and the device's status (`nethsm.sign: not found: ... [HTTP 404]`); then each cause of
/// the source chain on a line of its own. The exit code is 1.
pub(crate) fn exit(result: Result) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {error}");
                let mut source = error.source();
                while let Some(cause) = source {
                    eprintln!("  caused by: {cause}");
                    source = cause.source();
                }
            }
            ExitCode::FAILURE
        }
    }
}
