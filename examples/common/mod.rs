//! What every example shares: the backend URI, logging, and how an error is printed.
#![allow(dead_code)] // Each example compiles this module on its own and uses a part of it.

use std::process::ExitCode;

use hsm::{Hsm, KeyId};

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

/// The `--uri` option every example takes (alone, the arguments of an example that needs
/// nothing else: see [`main_about`]).
#[derive(clap::Parser)]
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
    pub(crate) fn open(self) -> hsm::Result<Box<dyn Hsm>> {
        hsm::open(&self.uri())
    }
}

/// `--uri` and `--key`, and the example's own options `A`.
#[derive(clap::Parser)]
pub(crate) struct KeyArgs<A: clap::Args> {
    #[command(flatten)]
    backend: BackendArg,
    /// The key (`NAME` or `id:HEX`).
    #[arg(long)]
    key: KeyId,
    #[command(flatten)]
    options: A,
}

/// No options besides `--uri` and `--key`.
#[derive(clap::Args)]
pub(crate) struct NoOptions {}

/// An example's `main` when it works with one key: `--uri` and `--key` parsed with the options
/// `A`, the backend opened, and `run` called with it, the key and the options; `about` is what
/// `--help` says the example does. Errors are printed by [`exit`].
pub(crate) fn main_with_key<A: clap::Args>(
    about: &'static str,
    run: impl FnOnce(Box<dyn Hsm>, KeyId, A) -> Result,
) -> ExitCode {
    main_about(about, |args: KeyArgs<A>| {
        run(args.backend.open()?, args.key, args.options)
    })
}

/// [`main`] for arguments `A` that do not say what the example does: `about` says it in
/// `--help`.
pub(crate) fn main_about<A: clap::Parser>(
    about: &'static str,
    run: impl FnOnce(A) -> Result,
) -> ExitCode {
    init_tracing();
    let matches = A::command().about(about).long_about(None).get_matches();
    let args = A::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    exit(run(args))
}

/// An error unless `uri` names a NetHSM; `why` says what the example needs one for (e.g.
/// "nethsm_admin administers a NetHSM").
pub(crate) fn require_nethsm(uri: &hsm::uri::BackendUri, why: &str) -> Result {
    if uri.scheme == "nethsm" {
        return Ok(());
    }
    let scheme = &uri.scheme;
    Err(format!("{why}: it needs a nethsm:// or nethsm+sim: URI, not {scheme}:").into())
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
