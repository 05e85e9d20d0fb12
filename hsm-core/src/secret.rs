//! Credentials: passwords, PINs and passphrases live only in [`secrecy`] types.
//!
//! [`SecretString`] redacts itself in `Debug` and zeroizes its buffer when dropped; call
//! [`ExposeSecret::expose_secret`] only at the point where the bytes go to the device.

use std::io::{BufRead as _, Read as _};
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

/// The longest first line [`secret_from_file`] reads: no PIN, password or passphrase is longer,
/// and a file that is (`/dev/zero`, a log file named by mistake) is refused without being read.
pub const MAX_SECRET_LINE_BYTES: usize = 4096;

/// Reads a secret from a file: the first line, without its line ending (so `echo PIN > file`
/// works). Nothing after the first line is read, and at most [`MAX_SECRET_LINE_BYTES`] of it.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] if the file cannot be read, its first line is empty, longer than
/// [`MAX_SECRET_LINE_BYTES`] or not UTF-8. The error names the file, never its content.
pub fn secret_from_file(path: &Path) -> Result<SecretString> {
    let invalid =
        |what: &str| Error::invalid_input("read secret", format!("{} {what}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| invalid("cannot be read").with_source(e))?;
    let mut line = Zeroizing::new(Vec::with_capacity(64));
    let limit = u64::try_from(MAX_SECRET_LINE_BYTES + 1).unwrap_or(u64::MAX);
    std::io::BufReader::new(file.take(limit))
        .read_until(b'\n', &mut line)
        .map_err(|e| invalid("cannot be read").with_source(e))?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    } else if line.len() > MAX_SECRET_LINE_BYTES {
        return Err(invalid(&format!(
            "has a first line longer than {MAX_SECRET_LINE_BYTES} bytes: not a secret"
        )));
    }
    let text = std::str::from_utf8(&line).map_err(|_| invalid("is not UTF-8"))?;
    if text.is_empty() {
        return Err(invalid("holds no secret on its first line"));
    }
    Ok(SecretString::from(text))
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

        let mut crlf = tempfile::NamedTempFile::new().expect("temp file");
        crlf.write_all(b"1234\r\nsecond line\xff").expect("write");
        let s = secret_from_file(crlf.path()).expect("only the first line is read");
        assert_eq!(s.expose_secret(), "1234");
    }

    #[test]
    fn file_secret_reads_a_bounded_first_line() {
        // Found by the backend_uri fuzz target: `pin-source=/dev/zero` read without bound.
        let e = secret_from_file(Path::new("/dev/zero")).expect_err("endless file");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("longer than"), "{e}");

        let mut long = tempfile::NamedTempFile::new().expect("temp file");
        long.write_all(&[b'7'; MAX_SECRET_LINE_BYTES])
            .expect("write");
        let s = secret_from_file(long.path()).expect("a line of exactly the limit");
        assert_eq!(s.expose_secret().len(), MAX_SECRET_LINE_BYTES);
        long.write_all(b"7").expect("write");
        let e = secret_from_file(long.path()).expect_err("one byte over the limit");
        assert!(
            !e.to_string().contains("7777"),
            "no content in the error: {e}"
        );
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
