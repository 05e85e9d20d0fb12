//! Options every backend takes, set in code or in the URI: the credential, time limits, retries
//! and how many calls may be in flight.
//!
//! A service usually keeps the URI in its configuration and the secret in a vault: it passes the
//! secret here, as a [`SecretString`], and it never touches an environment variable, a file or
//! a string. The same options have URI spellings, so either place works:
//!
//! | option | in code | in the URI |
//! |---|---|---|
//! | user | [`OpenOptions::user`] | `USER@` |
//! | password or PIN | [`OpenOptions::credential`] | `USER:PASSWORD@`, `password-env=`, `password-file=` (`pin-value=`, `pin-env=`, `pin-source=` for PIN backends) |
//! | time for one call, retries included | [`OpenOptions::timeout`] | `timeout-ms=` |
//! | time to connect | [`OpenOptions::connect_timeout`] | `connect-timeout-ms=` |
//! | retries of idempotent calls | [`OpenOptions::retries`] | `retries=` |
//! | calls in flight at once | [`OpenOptions::max_in_flight`] | `max-in-flight=` |
//!
//! An option given both in code and in the URI is an error that names it: neither silently wins.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::uri::BackendUri;

const OP: &str = "open options";

/// Options for opening a backend; see the [module](self) for their URI spellings.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// The user (NetHSM and N200 user names; ignored by PIN backends).
    pub user: Option<String>,
    /// The password (REST backends) or user PIN (PKCS#11, SmartCard-HSM).
    pub credential: Option<SecretString>,
    /// The time one call may take, retries and connection included.
    pub timeout: Option<Duration>,
    /// The time to set up one connection.
    pub connect_timeout: Option<Duration>,
    /// How often an idempotent call (a read, a signature) is retried after a transient failure.
    /// Calls that change state are never retried.
    pub retries: Option<u32>,
    /// How many calls run at once; the rest wait.
    pub max_in_flight: Option<usize>,
}

impl fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("user", &self.user)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "[REDACTED]"),
            )
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// Builder methods that set an option to the value given.
macro_rules! setters {
    ($($(#[doc = $doc:literal])* $option:ident: $type:ty;)*) => {$(
        $(#[doc = $doc])*
        #[must_use]
        pub fn $option(mut self, $option: $type) -> Self {
            self.$option = Some($option);
            self
        }
    )*};
}

impl OpenOptions {
    /// No options: everything from the URI or the backend's defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the user.
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    setters! {
        /// Sets the password or PIN.
        credential: SecretString;
        /// Sets the time one call may take.
        timeout: Duration;
        /// Sets the time to connect.
        connect_timeout: Duration;
        /// Sets the retries of idempotent calls.
        retries: u32;
    }

    /// Sets how many calls run at once (at least one).
    #[must_use]
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = Some(calls.max(1));
        self
    }

    /// Takes the common options out of `uri` (user, credential with the given parameter names,
    /// `timeout-ms`, `connect-timeout-ms`, `retries`, `max-in-flight`) and merges them with
    /// these. `credential_params` names the inline, environment and file parameters of the
    /// scheme's credential: `("password", "password-env", "password-file")` for the REST
    /// backends, `("pin-value", "pin-env", "pin-source")` for PIN backends.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a value that does not
    /// parse, a secret that cannot be read, or an option given both here and in the URI.
    pub fn merge_uri(
        mut self,
        uri: &mut BackendUri,
        credential_params: (&str, &str, &str),
    ) -> Result<Self> {
        let (inline, env, file) = credential_params;
        let from_query = uri.query.take_secret(inline, env, file)?;
        let from_userinfo = uri.password.take();
        let uri_credential = match (from_userinfo, from_query) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid_input(
                    OP,
                    "the credential is given both in the user info and in the query",
                ));
            }
            (a, b) => a.or(b),
        };
        self.credential = merged("the credential", self.credential, uri_credential)?;
        self.user = merged("the user", self.user, uri.user.clone())?;
        let ms = |v: Option<u64>| v.map(Duration::from_millis);
        let timeout = ms(uri.query.take_parsed("timeout-ms")?);
        self.timeout = merged("timeout", self.timeout, timeout)?;
        let connect = ms(uri.query.take_parsed("connect-timeout-ms")?);
        self.connect_timeout = merged("connect-timeout", self.connect_timeout, connect)?;
        let retries = uri.query.take_parsed("retries")?;
        self.retries = merged("retries", self.retries, retries)?;
        let in_flight = uri.query.take_parsed::<usize>("max-in-flight")?;
        if in_flight == Some(0) {
            return Err(Error::invalid_input(OP, "max-in-flight must be at least 1"));
        }
        self.max_in_flight = merged("max-in-flight", self.max_in_flight, in_flight)?;
        Ok(self)
    }
}

fn merged<T>(name: &str, code: Option<T>, uri: Option<T>) -> Result<Option<T>> {
    match (code, uri) {
        (Some(_), Some(_)) => Err(Error::invalid_input(
            OP,
            format!("{name} is given both in code and in the URI; give it once"),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;
    use crate::ErrorKind;

    const REST: (&str, &str, &str) = ("password", "password-env", "password-file");

    #[test]
    fn uri_values_fill_in_and_leave_the_rest_to_the_backend() {
        let mut uri = BackendUri::parse(
            "nethsm://operator:s3cret@host:8443?timeout-ms=2500&retries=2&max-in-flight=16&ca=x.pem",
        )
        .expect("uri");
        let options = OpenOptions::new()
            .connect_timeout(Duration::from_secs(1))
            .merge_uri(&mut uri, REST)
            .expect("merge");
        assert_eq!(options.user.as_deref(), Some("operator"));
        assert_eq!(
            options
                .credential
                .as_ref()
                .map(|c| c.expose_secret().to_owned()),
            Some("s3cret".to_owned())
        );
        assert_eq!(options.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(1)));
        assert_eq!(options.retries, Some(2));
        assert_eq!(options.max_in_flight, Some(16));
        // The backend's own parameters stay for it.
        assert_eq!(uri.query.take("ca").expect("ca").as_deref(), Some("x.pem"));
        assert!(uri.query.is_empty());
    }

    #[test]
    fn a_secret_from_code_never_shows_and_twice_given_options_are_refused() {
        let options = OpenOptions::new()
            .user("operator")
            .credential(SecretString::from("vault-secret"));
        let debug = format!("{options:?}");
        assert!(!debug.contains("vault-secret"), "{debug}");
        assert!(debug.contains("REDACTED"));
        let mut uri =
            BackendUri::parse("nethsm://host?password-env=HSM_TEST_UNSET_VAR_XYZ").expect("uri");
        // The query credential is read (and fails: unset variable) before the conflict check,
        // naming the variable, not a value.
        let err = options
            .clone()
            .merge_uri(&mut uri, REST)
            .expect_err("unset");
        assert!(err.to_string().contains("HSM_TEST_UNSET_VAR_XYZ"));
        let mut uri = BackendUri::parse("nethsm://operator:inline@host").expect("uri");
        let err = options
            .clone()
            .merge_uri(&mut uri, REST)
            .expect_err("twice");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("credential"));
        assert!(!err.to_string().contains("inline"), "{err}");
        let mut uri = BackendUri::parse("nethsm://host?retries=1").expect("uri");
        let err = OpenOptions::new()
            .retries(3)
            .merge_uri(&mut uri, REST)
            .expect_err("twice");
        assert!(err.to_string().contains("retries"));
        let mut uri = BackendUri::parse("nethsm://host?max-in-flight=0").expect("uri");
        assert!(OpenOptions::new().merge_uri(&mut uri, REST).is_err());
        let mut uri = BackendUri::parse("nethsm://host?timeout-ms=soon").expect("uri");
        assert!(OpenOptions::new().merge_uri(&mut uri, REST).is_err());
    }
}
