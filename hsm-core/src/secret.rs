//! Credentials: passwords, PINs and passphrases live only in [`secrecy`] types.
//!
//! [`SecretString`] redacts itself in `Debug` and zeroizes its buffer when dropped; call
//! [`ExposeSecret::expose_secret`] only at the point where the bytes go to the device.

use std::path::Path;

pub use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// Reads a secret from the environment variable `var`.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] if the variable is unset, empty or not UTF-8. The error names the
/// variable, never its value.
pub fn secret_from_env(var: &str) -> Result<SecretString> {
    let value = std::env::var(var).map_err(|e| {
        Error::new(ErrorKind::InvalidInput, "read secret")
            .with_message(format!("environment variable {var} is not usable: {e}"))
    })?;
    let value = Zeroizing::new(value);
    if value.is_empty() {
        return Err(Error::invalid_input(
            "read secret",
            format!("environment variable {var} is empty"),
        ));
    }
    Ok(SecretString::from(value.as_str()))
}

/// Reads a secret from a file: the first line, without its line ending (so `echo PIN > file`
/// works).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] if the file cannot be read, is not UTF-8 or its first line is
/// empty. The error names the file, never its content.
pub fn secret_from_file(path: &Path) -> Result<SecretString> {
    let content = Zeroizing::new(std::fs::read(path).map_err(|e| {
        Error::invalid_input("read secret", format!("cannot read {}", path.display()))
            .with_source(e)
    })?);
    let text = std::str::from_utf8(&content).map_err(|_| {
        Error::invalid_input("read secret", format!("{} is not UTF-8", path.display()))
    })?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(Error::invalid_input(
            "read secret",
            format!("{} holds no secret on its first line", path.display()),
        ));
    }
    Ok(SecretString::from(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn file_secret_takes_the_first_line_and_errors_do_not_echo() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(f, "s3cret-pin").expect("write");
        let s = secret_from_file(f.path()).expect("reads");
        assert_eq!(s.expose_secret(), "s3cret-pin");
        assert!(!format!("{s:?}").contains("s3cret"));

        let mut empty = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(empty).expect("write");
        let e = secret_from_file(empty.path()).expect_err("empty first line");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn env_secret_errors_name_the_variable_only() {
        let e = secret_from_env("HSM_CORE_TEST_SURELY_UNSET_VARIABLE").expect_err("unset");
        assert!(
            e.to_string()
                .contains("HSM_CORE_TEST_SURELY_UNSET_VARIABLE")
        );
    }
}
