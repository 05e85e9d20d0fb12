//! The module's configuration: a TOML or YAML file with one slot per backend URI.
//!
//! ```toml
//! log-level = "info"                      # error, warn (default), info, debug, trace
//! log-file = "/var/log/hsm-p11.log"       # default: standard error
//!
//! [[slot]]
//! uri = "nethsm://operator@10.1.2.3:8443?ca=/etc/hsm-p11/nethsm.pem"   # no password: C_Login's PIN is it
//! label = "nethsm"                        # token label (at most 32 bytes); default: the scheme
//! serial = "0001"                         # token serial (at most 16 bytes); default: the slot number
//!
//! [[slot]]
//! uri = "n200://pkmaster@10.1.2.4?core=1&password-env=N200_PASS&ca=/etc/hsm-p11/n200.pem"
//! label = "n200"
//! ```
//!
//! The same in YAML has `slots:` (or `slot:`) as a list. The file is YAML when its name ends in
//! `.yaml` or `.yml`, TOML otherwise. Secrets are never written in the file by default: a URI
//! with an inline password or PIN (`USER:PASSWORD@`, `password=`, `pin-value=`,
//! `admin-password=`) is refused unless `allow-inline-secrets = true`. Use `password-env=`,
//! `password-file=`, `pin-env=`, `pin-source=`, or no credential at all: the slot then asks for a
//! login and the user PIN given to `C_Login` is the backend's password (NetHSM operator
//! passphrase, N200 password, SmartCard-HSM or PKCS#11 user PIN).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The environment variable naming the configuration file.
pub const ENV: &str = "HSM_P11_CONF";
/// The file read when [`ENV`] is not set.
pub const DEFAULT_PATH: &str = "/etc/hsm-p11/hsm-p11.toml";

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// `error`, `warn`, `info`, `debug` or `trace` (default `warn`).
    #[serde(default)]
    pub log_level: Option<String>,
    /// Where the log goes (appended); standard error when absent.
    #[serde(default)]
    pub log_file: Option<PathBuf>,
    /// Allows passwords and PINs written in the URIs (off by default).
    #[serde(default)]
    pub allow_inline_secrets: bool,
    /// The slots, in order: slot ids are 0, 1, 2...
    #[serde(rename = "slot", alias = "slots", default)]
    pub slots: Vec<SlotConfig>,
}

/// One slot: one backend.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct SlotConfig {
    /// The backend URI, as `hsm::open` takes it (simulator schemes excepted).
    pub uri: String,
    /// The token label; defaults to the URI's scheme.
    #[serde(default)]
    pub label: Option<String>,
    /// The token serial number; defaults to the slot number.
    #[serde(default)]
    pub serial: Option<String>,
}

// The URI may hold an inline secret when allowed: never printed.
impl fmt::Debug for SlotConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotConfig")
            .field("scheme", &scheme_of(&self.uri))
            .field("label", &self.label)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// A configuration that cannot be used, with what is wrong (never a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hsm-p11 configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The backend families a slot URI can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `nethsm://`
    NetHsm,
    /// `n200://`
    N200,
    /// `pkcs11:`
    Pkcs11,
    /// `sc-hsm:`
    ScHsm,
}

impl Scheme {
    /// The name used as the default token label and model.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::NetHsm => "nethsm",
            Self::N200 => "n200",
            Self::Pkcs11 => "pkcs11",
            Self::ScHsm => "sc-hsm",
        }
    }
}

fn scheme_of(uri: &str) -> Option<&str> {
    uri.split_once(':').map(|(s, _)| s)
}

/// The query parameter names of a URI (values are not looked at).
fn query_names(uri: &str) -> Vec<&str> {
    uri.split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').map_or(p, |(k, _)| k))
                .collect()
        })
        .unwrap_or_default()
}

impl SlotConfig {
    /// The backend family.
    ///
    /// # Errors
    /// A [`ConfigError`] for an unknown or simulator scheme.
    pub fn scheme(&self) -> Result<Scheme, ConfigError> {
        let scheme = scheme_of(&self.uri)
            .ok_or_else(|| ConfigError("a slot URI has no scheme".into()))?
            .to_ascii_lowercase();
        match scheme.as_str() {
            "nethsm" => Ok(Scheme::NetHsm),
            "n200" => Ok(Scheme::N200),
            "pkcs11" => Ok(Scheme::Pkcs11),
            "sc-hsm" => Ok(Scheme::ScHsm),
            s if s.ends_with("+sim") => Err(ConfigError(format!(
                "`{s}:` is a built-in simulator, which the module does not contain; run the \
                 simulator binary and name it with its real URI"
            ))),
            s => Err(ConfigError(format!(
                "unknown scheme `{s}:` (nethsm, n200, pkcs11, sc-hsm)"
            ))),
        }
    }

    /// Whether the URI itself carries the backend's credential (then no `C_Login` is needed);
    /// otherwise the PIN given to `C_Login` is the credential.
    ///
    /// # Errors
    /// A [`ConfigError`] if the URI does not parse.
    pub fn has_credential(&self) -> Result<bool, ConfigError> {
        let names = query_names(&self.uri);
        let any = |list: &[&str]| names.iter().any(|n| list.contains(n));
        Ok(match self.scheme()? {
            Scheme::NetHsm | Scheme::N200 => {
                self.inline_password()? || any(&["password", "password-env", "password-file"])
            }
            Scheme::Pkcs11 | Scheme::ScHsm => any(&["pin-value", "pin-env", "pin-source"]),
        })
    }

    fn inline_password(&self) -> Result<bool, ConfigError> {
        let uri = hsm_core::uri::BackendUri::parse(&self.uri)
            .map_err(|e| ConfigError(format!("slot URI: {e}")))?;
        Ok(uri.password.is_some())
    }

    /// Whether the URI holds a secret in its text.
    fn inline_secret(&self) -> Result<bool, ConfigError> {
        let names = query_names(&self.uri);
        let inline_query = names
            .iter()
            .any(|n| ["password", "pin-value", "admin-password"].contains(n));
        Ok(inline_query
            || (matches!(self.scheme()?, Scheme::NetHsm | Scheme::N200)
                && self.inline_password()?))
    }
}

impl Config {
    /// Reads the file [`ENV`] names, else [`DEFAULT_PATH`].
    ///
    /// # Errors
    /// A [`ConfigError`] saying which file and what is wrong with it.
    pub fn load() -> Result<Self, ConfigError> {
        let path = std::env::var_os(ENV)
            .filter(|p| !p.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_PATH), PathBuf::from);
        Self::from_file(&path)
    }

    /// Reads one file.
    ///
    /// # Errors
    /// A [`ConfigError`] if the file cannot be read, does not parse, or is not valid.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "cannot read {} ({e}); set {ENV} to the configuration file",
                path.display()
            ))
        })?;
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        let config = if yaml {
            Self::from_yaml(&text)
        } else {
            Self::from_toml(&text)
        };
        config.map_err(|ConfigError(e)| ConfigError(format!("{}: {e}", path.display())))
    }

    /// Parses and checks TOML text.
    ///
    /// # Errors
    /// A [`ConfigError`] for bad syntax, unknown keys or invalid values.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError(e.message().into()))?;
        config.check()?;
        Ok(config)
    }

    /// Parses and checks YAML text.
    ///
    /// # Errors
    /// A [`ConfigError`] for bad syntax, unknown keys or invalid values.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_norway::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// The log level as a tracing level.
    ///
    /// # Errors
    /// A [`ConfigError`] for an unknown level.
    pub fn level(&self) -> Result<tracing::Level, ConfigError> {
        match self
            .log_level
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("warn" | "warning") => Ok(tracing::Level::WARN),
            Some("error") => Ok(tracing::Level::ERROR),
            Some("info") => Ok(tracing::Level::INFO),
            Some("debug") => Ok(tracing::Level::DEBUG),
            Some("trace") => Ok(tracing::Level::TRACE),
            Some(other) => Err(ConfigError(format!(
                "log-level `{other}` is not one of error, warn, info, debug, trace"
            ))),
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let _ = self.level()?;
        if self.slots.is_empty() {
            return Err(ConfigError("no slot: add a [[slot]] with a uri".into()));
        }
        let mut labels = Vec::new();
        for (n, slot) in self.slots.iter().enumerate() {
            let at = |e: ConfigError| ConfigError(format!("slot {n}: {}", e.0));
            let scheme = slot.scheme().map_err(at)?;
            match scheme {
                Scheme::Pkcs11 => {
                    let _ = hsm::pkcs11::Pkcs11Uri::parse(&slot.uri)
                        .map_err(|e| at(ConfigError(format!("URI: {e}"))))?;
                }
                _ => {
                    let _ = hsm_core::uri::BackendUri::parse(&slot.uri)
                        .map_err(|e| at(ConfigError(format!("URI: {e}"))))?;
                }
            }
            if !self.allow_inline_secrets && slot.inline_secret().map_err(at)? {
                return Err(at(ConfigError(
                    "the URI holds a password or PIN; use password-env=, password-file=, \
                     pin-env=, pin-source= or none (C_Login), or set allow-inline-secrets = true"
                        .into(),
                )));
            }
            let label = slot
                .label
                .clone()
                .unwrap_or_else(|| scheme.name().to_owned());
            if label.is_empty() || label.len() > 32 {
                return Err(at(ConfigError(format!(
                    "the label is 1 to 32 bytes, got {}",
                    label.len()
                ))));
            }
            if labels.contains(&label) {
                return Err(at(ConfigError(format!(
                    "the label `{label}` is used by another slot; give each slot its own label"
                ))));
            }
            labels.push(label);
            if let Some(serial) = &slot.serial
                && (serial.is_empty() || serial.len() > 16 || !serial.is_ascii())
            {
                {
                    return Err(at(ConfigError(
                        "the serial is 1 to 16 ASCII characters".into(),
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_yaml_give_the_same_config() {
        let t = Config::from_toml(
            "log-level = \"debug\"\n[[slot]]\nuri = \"nethsm://operator@h:8443?ca=/x.pem\"\nlabel = \"a\"\nserial = \"0001\"\n",
        )
        .unwrap();
        let y = Config::from_yaml(
            "log-level: debug\nslots:\n  - uri: \"nethsm://operator@h:8443?ca=/x.pem\"\n    label: a\n    serial: \"0001\"\n",
        )
        .unwrap();
        assert_eq!(t, y);
        assert_eq!(t.level().unwrap(), tracing::Level::DEBUG);
        assert!(!t.slots[0].has_credential().unwrap());
    }

    #[test]
    fn bad_configurations_say_what_is_wrong_without_secrets() {
        let cases = [
            ("", "no slot"),
            ("[[slot]]\nuri = \"nethsm+sim:\"\n", "simulator"),
            ("[[slot]]\nuri = \"yubi://x\"\n", "unknown scheme"),
            (
                "[[slot]]\nuri = \"nethsm://op:Sup3rSecret@h\"\n",
                "password or PIN",
            ),
            (
                "[[slot]]\nuri = \"sc-hsm:?pin-value=Sup3rSecret\"\n",
                "password or PIN",
            ),
            (
                "[[slot]]\nuri = \"n200://u@h\"\nlabel = \"x\"\n[[slot]]\nuri = \"n200://u@h\"\nlabel = \"x\"\n",
                "used by another slot",
            ),
            (
                "[[slot]]\nuri = \"n200://u@h\"\nserial = \"12345678901234567\"\n",
                "serial",
            ),
            (
                "log-level = \"loud\"\n[[slot]]\nuri = \"n200://u@h\"\n",
                "log-level",
            ),
            ("[[slot]]\nurl = \"n200://u@h\"\n", "unknown field"),
            ("[[slot]\n", ""),
        ];
        for (text, needle) in cases {
            let e = Config::from_toml(text).unwrap_err();
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
            assert!(!e.to_string().contains("Sup3rSecret"), "{e}");
        }
    }

    #[test]
    fn inline_secrets_only_when_allowed() {
        let c = Config::from_toml(
            "allow-inline-secrets = true\n[[slot]]\nuri = \"nethsm://op:pw@h\"\n",
        )
        .unwrap();
        assert!(c.slots[0].has_credential().unwrap());
        assert!(!format!("{c:?}").contains("pw@"));
        let env = Config::from_toml("[[slot]]\nuri = \"n200://u@h?password-env=X\"\n").unwrap();
        assert!(env.slots[0].has_credential().unwrap());
    }
}
