//! `hsm::open(uri)`: one entry point for every backend.

use hsm_core::uri::BackendUri;
use hsm_core::{Error, ErrorKind, Hsm, OpenOptions, Result};

const OP: &str = "hsm::open";

/// The URI schemes this build can open (each also with `+sim`), by enabled feature.
#[must_use]
pub fn schemes() -> Vec<&'static str> {
    let mut schemes = Vec::new();
    if cfg!(feature = "nethsm") {
        schemes.push("nethsm");
    }
    if cfg!(feature = "n200") {
        schemes.push("n200");
    }
    if cfg!(feature = "pkcs11") {
        schemes.push("pkcs11");
    }
    if cfg!(feature = "sc") {
        schemes.push("sc-hsm");
    }
    schemes
}

/// Opens the backend a URI names and returns it as a `Box<dyn Hsm>`.
///
/// | scheme | backend | example |
/// |---|---|---|
/// | `nethsm://USER@HOST:PORT` | Nitrokey NetHSM | `nethsm://operator@10.1.2.3:8443?password-env=NETHSM_PASS&ca=nethsm.pem` |
/// | `n200://USER@HOST:PORT` | se.SAM N200 | `n200://pkmaster@10.1.2.4?core=1&password-env=N200_PASS&server-name=seSAM-nserie-101&ca=tlscert.pem` |
/// | `pkcs11:` (RFC 7512) | any PKCS#11 module | `pkcs11:token=signer?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-env=PIN` |
/// | `sc-hsm:` | SmartCard-HSM over PC/SC | `sc-hsm:?reader=Nitrokey&pin-env=USER_PIN` |
/// | `SCHEME+sim:` | the built-in simulator | `nethsm+sim:`, `n200+sim:`, `pkcs11+sim:`, `sc-hsm+sim:` |
///
/// Secrets come from the environment (`password-env=VAR`, `pin-env=VAR`), a file
/// (`password-file=PATH`, `pin-source=PATH`) or inline (`USER:PASSWORD@`, `pin-value=`); they
/// are never echoed in errors or logs. The REST schemes take `ca=FILE`, `server-name=NAME`,
/// `pin-sha256=HEX` and `insecure=true`. See each backend's crate docs for its own parameters.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming the part of the URI that is wrong;
/// [`ErrorKind::Unsupported`] for a scheme this build does not include; otherwise the backend's
/// errors while connecting and logging in.
pub fn open(uri: &str) -> Result<Box<dyn Hsm>> {
    open_with(uri, OpenOptions::new())
}

/// [`open`] with options given in code: the credential as a `SecretString` (from your vault: no
/// environment variable, file or URI text), `timeout`, `connect_timeout`, `retries` and
/// `max_in_flight` ([`OpenOptions`]). An option given both here and in the URI is refused,
/// naming it. Each backend takes the options as its crate's `open_with` documents them: the
/// REST backends (NetHSM, N200) take them all; PKCS#11 takes the credential (the user PIN),
/// `max_in_flight` (its sessions) and `timeout` (the wait for a free session) and refuses
/// `connect_timeout` and `retries`, which mean nothing to a module loaded into the process; the
/// SmartCard-HSM backend takes its PIN from the URI only (`pin-env=`, `pin-source=`) for now.
///
/// ```no_run
/// use hsm::{OpenOptions, SecretString};
/// use std::time::Duration;
///
/// # fn vault() -> SecretString { SecretString::from("from your secret store") }
/// let hsm = hsm::open_with(
///     "nethsm://operator@10.1.2.3:8443?ca=nethsm.pem",
///     OpenOptions::new().credential(vault()).timeout(Duration::from_secs(5)),
/// )?;
/// # Ok::<(), hsm::Error>(())
/// ```
///
/// # Errors
/// As [`open`]; [`ErrorKind::InvalidInput`] for an option given twice.
pub fn open_with(uri: &str, options: OpenOptions) -> Result<Box<dyn Hsm>> {
    let scheme = uri
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .ok_or_else(|| {
            Error::invalid_input(OP, "a backend URI starts with a scheme (e.g. `nethsm://`)")
        })?;
    let base = scheme.strip_suffix("+sim").unwrap_or(&scheme);
    if base != scheme && !simulator_built(base) {
        return Err(Error::new(ErrorKind::Unsupported, OP).with_message(format!(
            "`{scheme}:` starts a built-in simulator, for tests and demos; this build of the hsm \
             crate has none (its `sim` feature, or `nethsm-sim` for the NetHSM simulator alone)"
        )));
    }
    tracing::debug!(scheme = %scheme, "opening backend");
    match base {
        "pkcs11" => open_pkcs11(uri, options),
        "nethsm" | "n200" | "sc-hsm" => {
            let parsed = BackendUri::parse(uri)?;
            match base {
                "nethsm" => open_nethsm(parsed, options),
                "n200" => open_n200(parsed, options),
                _ => open_sc(parsed, options),
            }
        }
        other => Err(Error::invalid_input(
            OP,
            format!(
                "unknown URI scheme `{other}`; this build knows {}",
                schemes().join(", ")
            ),
        )),
    }
}

/// Whether `uri` may be opened by this build as far as simulators go: not a `+sim` URI, or one
/// whose simulator is built.
#[cfg(all(feature = "tokio", any(feature = "nethsm", feature = "n200")))]
pub(crate) fn simulator_allowed(uri: &str) -> bool {
    let scheme = uri
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default();
    scheme.strip_suffix("+sim").is_none_or(simulator_built)
}

/// Whether this build of the hsm crate includes the simulator behind `BASE+sim:`.
fn simulator_built(base: &str) -> bool {
    cfg!(feature = "sim") || (base == "nethsm" && cfg!(feature = "nethsm-sim"))
}

// Unused when every backend feature is on.
#[cfg_attr(
    all(
        feature = "nethsm",
        feature = "n200",
        feature = "pkcs11",
        feature = "sc"
    ),
    allow(dead_code)
)]
fn not_built(scheme: &str, feature: &str) -> Error {
    Error::new(ErrorKind::Unsupported, OP).with_message(format!(
        "the `{scheme}` scheme needs the hsm crate's `{feature}` feature"
    ))
}

/// `fn $name(uri: $uri, options: OpenOptions) -> Result<Box<dyn Hsm>>`: the backend `$open`
/// makes when the crate is built with `$feature`, else the error [`not_built`] gives for `$scheme`.
macro_rules! opener {
    ($name:ident, $scheme:literal, $feature:literal, $uri:ty, $open:path) => {
        #[cfg(feature = $feature)]
        fn $name(uri: $uri, options: OpenOptions) -> Result<Box<dyn Hsm>> {
            Ok(Box::new($open(uri, options)?))
        }

        #[cfg(not(feature = $feature))]
        fn $name(_: $uri, _: OpenOptions) -> Result<Box<dyn Hsm>> {
            Err(not_built($scheme, $feature))
        }
    };
}

opener!(
    open_nethsm,
    "nethsm",
    "nethsm",
    BackendUri,
    hsm_nethsm::NetHsm::open_with
);
opener!(
    open_n200,
    "n200",
    "n200",
    BackendUri,
    hsm_n200::N200::open_with
);
opener!(open_pkcs11, "pkcs11", "pkcs11", &str, hsm_pkcs11::open_with);
opener!(
    open_sc,
    "sc-hsm",
    "sc",
    BackendUri,
    hsm_sc::ScHsm::open_with
);

#[cfg(test)]
mod tests {
    use super::*;

    // Only without the `sim` feature (the default build): `cargo test -p hsm --lib`.
    #[cfg(not(feature = "sim"))]
    #[test]
    fn the_default_build_refuses_simulator_uris() {
        for uri in ["n200+sim:", "pkcs11+sim:", "sc-hsm+sim:"] {
            let e = open(uri).err().unwrap_or_else(|| panic!("{uri} opened"));
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{uri}: {e}");
            assert!(e.to_string().contains("`sim` feature"), "{uri}: {e}");
        }
        if !cfg!(feature = "nethsm-sim") {
            let e = open("nethsm+sim:")
                .err()
                .unwrap_or_else(|| panic!("nethsm+sim: opened"));
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        }
    }

    #[test]
    fn unknown_scheme_names_the_scheme() {
        let e = open("yubihsm://x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("`yubihsm`"), "{e}");
        let e = open("no scheme here").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn errors_never_echo_inline_secrets() {
        for uri in [
            "nethsm://operator:Sup3rSecret@[bad-host:8443",
            "n200://pkmaster:Sup3rSecret@h?nonsense=1",
            "pkcs11:token=x?pin-value=Sup3rSecret&bogus=2",
            "sc-hsm:?pin-value=Sup3rSecret&bogus=3",
        ] {
            // Each URI is wrong (a bad host, an unknown parameter), so each must fail, and the
            // error must not carry the password or PIN it was given.
            let e = open(uri).err().unwrap_or_else(|| panic!("{uri} opened"));
            // A backend this build leaves out refuses the scheme before reading anything.
            let scheme = uri.split(':').next().unwrap_or_default();
            let expected = if schemes().contains(&scheme) {
                ErrorKind::InvalidInput
            } else {
                ErrorKind::Unsupported
            };
            assert_eq!(e.kind(), expected, "{uri}: {e}");
            let mut chain: Vec<String> = vec![e.to_string(), format!("{e:?}")];
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push(s.to_string());
                chain.push(format!("{s:?}"));
                source = s.source();
            }
            for text in chain {
                assert!(!text.contains("Sup3rSecret"), "{uri}: {text}");
            }
        }
    }
}
