//! The common parts of backend URIs: `scheme[+sim]://user@host:port/path?query`.
//!
//! Each backend documents its own grammar and parses it with these pieces, so that every scheme
//! reads secrets, TLS options and unknown parameters the same way:
//!
//! - secrets: `password-env=VAR` / `pin-env=VAR` (environment), `password-file=PATH` /
//!   `pin-source=PATH` (file), or inline (`user:password@`, `pin-value=`), never echoed back;
//! - TLS ([`crate::tls::TlsOptions`]): `ca=FILE`, `server-name=NAME`, `pin-sha256=HEX`,
//!   `insecure=true`;
//! - a parameter nobody took is an error naming it.
//!
//! Errors name the part of the URI that is wrong and never repeat the URI itself, which may hold
//! a secret.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};
use crate::secret::{SecretString, secret_from_env, secret_from_file};

const OP: &str = "parse URI";

/// A backend URI split into its parts. Query values are percent-decoded.
#[derive(Debug)]
#[non_exhaustive]
pub struct BackendUri {
    /// The scheme without `+sim` (`nethsm`, `n200`, `sc-hsm`).
    pub scheme: String,
    /// Whether the scheme ended in `+sim`: start the backend's built-in simulator.
    pub simulated: bool,
    /// The user name, percent-decoded.
    pub user: Option<String>,
    /// The password given inline in the user info.
    pub password: Option<SecretString>,
    /// The host (a name or an IP address; IPv6 without brackets).
    pub host: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The path, percent-decoded (empty or `/` when absent).
    pub path: String,
    /// The query parameters.
    pub query: QueryParams,
}

impl BackendUri {
    /// Splits `uri` into its parts.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the part that does not
    /// parse.
    pub fn parse(uri: &str) -> Result<Self> {
        let url = url::Url::parse(uri)
            .map_err(|e| Error::invalid_input(OP, format!("not a URI: {e}")))?;
        let (scheme, simulated) = match url.scheme().strip_suffix("+sim") {
            Some(base) => (base.to_owned(), true),
            None => (url.scheme().to_owned(), false),
        };
        let user = match url.username() {
            "" => None,
            u => Some(decode("user", u)?),
        };
        let password = match url.password() {
            None | Some("") => None,
            Some(p) => {
                let decoded = percent_decode_str(p).decode_utf8().map_err(|_| {
                    Error::invalid_input(OP, "the password in the URI is not UTF-8")
                })?;
                Some(SecretString::from(decoded.as_ref()))
            }
        };
        let host = url.host().map(|h| match h {
            url::Host::Ipv6(a) => a.to_string(),
            other => other.to_string(),
        });
        let path = decode("path", url.path())?;
        let query = QueryParams {
            pairs: url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        };
        Ok(Self {
            scheme,
            simulated,
            user,
            password,
            host,
            port: url.port(),
            path,
            query,
        })
    }

    /// The host, or an error saying the URI needs one.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the URI has no host.
    pub fn require_host(&self) -> Result<&str> {
        self.host
            .as_deref()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                Error::invalid_input(OP, format!("a {}:// URI needs a host", self.scheme))
            })
    }

    /// The user, or an error saying the URI needs one.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the URI has no user.
    pub fn require_user(&self) -> Result<&str> {
        self.user.as_deref().ok_or_else(|| {
            Error::invalid_input(
                OP,
                format!("a {}:// URI needs a user (USER@HOST)", self.scheme),
            )
        })
    }

    /// The password: inline in the user info, or from `password-env=` / `password-file=`.
    /// At most one source may be given.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if several sources are given or
    /// the source cannot be read.
    pub fn take_password(&mut self) -> Result<Option<SecretString>> {
        let from_query = self
            .query
            .take_secret("password", "password-env", "password-file")?;
        match (self.password.take(), from_query) {
            (Some(_), Some(_)) => Err(Error::invalid_input(
                OP,
                "the password is given both in the user info and in the query",
            )),
            (Some(p), None) | (None, Some(p)) => Ok(Some(p)),
            (None, None) => Ok(None),
        }
    }
}

/// Query parameters that backends take one by one; [`finish`](Self::finish) rejects leftovers.
#[derive(Clone, PartialEq, Eq)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for QueryParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets (`pin-value`, `password`): show names only.
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, _)| k))
            .finish()
    }
}

impl QueryParams {
    /// Parameters from decoded pairs.
    #[must_use]
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// Adds parameters, e.g. options given in code that a backend reads from its URI.
    pub fn extend(&mut self, pairs: impl IntoIterator<Item = (String, String)>) {
        self.pairs.extend(pairs);
    }

    /// Removes and returns parameter `name`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if it is given twice.
    pub fn take(&mut self, name: &str) -> Result<Option<String>> {
        let mut found: Vec<String> = Vec::new();
        self.pairs.retain(|(k, v)| {
            if k == name {
                found.push(v.clone());
                false
            } else {
                true
            }
        });
        if found.len() > 1 {
            return Err(Error::invalid_input(
                OP,
                format!("URI parameter `{name}` is given {} times", found.len()),
            ));
        }
        Ok(found.pop())
    }

    /// Removes a boolean parameter (`true`/`false`/`1`/`0`/`yes`/`no`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for another value.
    pub fn take_bool(&mut self, name: &str) -> Result<Option<bool>> {
        match self.take(name)?.as_deref() {
            None => Ok(None),
            Some("true" | "1" | "yes") => Ok(Some(true)),
            Some("false" | "0" | "no") => Ok(Some(false)),
            Some(other) => Err(Error::invalid_input(
                OP,
                format!("URI parameter `{name}` must be true or false, got {other:?}"),
            )),
        }
    }

    /// Removes a parameter parsed with `FromStr`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if it does not parse.
    pub fn take_parsed<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        match self.take(name)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| Error::invalid_input(OP, format!("URI parameter `{name}`: {e}"))),
        }
    }

    /// Removes a path parameter.
    ///
    /// # Errors
    /// As [`take`](Self::take).
    pub fn take_path(&mut self, name: &str) -> Result<Option<PathBuf>> {
        Ok(self.take(name)?.map(PathBuf::from))
    }

    /// Removes a secret given inline (`inline`), by environment variable (`env`) or by file
    /// (`file`); at most one of the three may be present. The value is never echoed.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if several are given or the
    /// variable or file cannot be read.
    pub fn take_secret(
        &mut self,
        inline: &str,
        env: &str,
        file: &str,
    ) -> Result<Option<SecretString>> {
        let inline_value = self.take(inline)?.map(zeroize::Zeroizing::new);
        let env_var = self.take(env)?;
        let path = self.take_path(file)?;
        let given = usize::from(inline_value.is_some())
            + usize::from(env_var.is_some())
            + usize::from(path.is_some());
        if given > 1 {
            return Err(Error::invalid_input(
                OP,
                format!("give only one of `{inline}`, `{env}` and `{file}`"),
            ));
        }
        if let Some(v) = inline_value {
            return Ok(Some(SecretString::from(v.as_str())));
        }
        if let Some(var) = env_var {
            return secret_from_env(&var).map(Some);
        }
        if let Some(path) = path {
            return secret_from_file(&path).map(Some);
        }
        Ok(None)
    }

    /// Fails if any parameter is left that no one took.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the first unknown
    /// parameter.
    pub fn finish(self, scheme: &str) -> Result<()> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(Error::invalid_input(
                OP,
                format!("unknown parameter `{k}` in a {scheme} URI"),
            )),
        }
    }

    /// Whether no parameter is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

fn decode(part: &str, s: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::invalid_input(OP, format!("the {part} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret as _;

    #[test]
    fn parses_rest_uri_with_inline_password() {
        let u = BackendUri::parse("nethsm://operator:p%40ss@10.0.0.5:8443?ca=/tmp/ca.pem&core=2")
            .expect("parses");
        assert!(!format!("{u:?}").contains("p@ss"));
        let mut u = u;
        assert_eq!(u.scheme, "nethsm");
        assert!(!u.simulated);
        assert_eq!(u.user.as_deref(), Some("operator"));
        assert_eq!(u.host.as_deref(), Some("10.0.0.5"));
        assert_eq!(u.port, Some(8443));
        let p = u.take_password().expect("ok").expect("some");
        assert_eq!(p.expose_secret(), "p@ss");
        assert_eq!(
            u.query.take("ca").expect("once").as_deref(),
            Some("/tmp/ca.pem")
        );
        assert_eq!(u.query.take_parsed::<u8>("core").expect("parses"), Some(2));
        assert!(!format!("{u:?}").contains("p@ss"));
        u.query.finish("nethsm").expect("nothing left");
    }

    #[test]
    fn sim_scheme_and_unknown_parameters() {
        let u = BackendUri::parse("nethsm+sim:").expect("parses");
        assert!(u.simulated);
        assert_eq!(u.scheme, "nethsm");
        let mut u = BackendUri::parse("sc-hsm:?reader=Virtual&bogus=1").expect("parses");
        assert_eq!(
            u.query.take("reader").expect("once").as_deref(),
            Some("Virtual")
        );
        let e = u.query.finish("sc-hsm").expect_err("bogus left");
        assert!(e.to_string().contains("`bogus`"), "{e}");
    }

    #[test]
    fn secrets_from_one_source_only_and_never_echoed() {
        let mut u =
            BackendUri::parse("n200://u@h?password=hunter2&password-env=X").expect("parses");
        let e = u.take_password().expect_err("two sources");
        assert!(!e.to_string().contains("hunter2"));
        let mut q = QueryParams::from_pairs(vec![("pin-value".into(), "123456".into())]);
        let pin = q
            .take_secret("pin-value", "pin-env", "pin-source")
            .expect("ok")
            .expect("some");
        assert_eq!(pin.expose_secret(), "123456");
        assert!(
            BackendUri::parse("nethsm://u:pw@h?x=1&x=2")
                .expect("parses")
                .query
                .take("x")
                .is_err()
        );
        let bad = BackendUri::parse("nethsm://u:topsecret@h:99999").expect_err("bad port");
        assert!(!bad.to_string().contains("topsecret"), "{bad}");
    }
}
