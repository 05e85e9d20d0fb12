//! Running command-line tools from tests (openssl, pkcs11-tool, softhsm2-util, opensc-tool, ...):
//! a tool that cannot start or fails fails the test, with the command line, its exit status and
//! what it printed. And `openssl` checks of what the code under test made: signatures
//! (`openssl dgst -verify`) and certificate requests (`openssl req -verify`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hsm_core::SignAlgorithm;

/// How long a tool may run before [`output`] kills it: a hung peer fails its test in minutes
/// instead of stalling the whole suite. `HSM_TEST_TOOL_TIMEOUT` (seconds) overrides it.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `command` (standard input: nothing) and returns its output, whatever its exit status;
/// panics, naming the command, when it cannot start (most often: the tool is not installed) or
/// when it runs longer than [`TOOL_TIMEOUT`]: then it is killed, and the panic shows what it had
/// printed so far.
pub fn output(command: &mut Command) -> Output {
    let limit = std::env::var("HSM_TEST_TOOL_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(TOOL_TIMEOUT, Duration::from_secs);
    output_within(command, limit)
}

/// [`output`] with the time limit `limit`.
fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", shown(command)));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} ran for over {limit:?} and was killed\nstdout: {}\nstderr: {}",
                    shown(command),
                    String::from_utf8_lossy(&collected(stdout)),
                    String::from_utf8_lossy(&collected(stderr))
                );
            }
            Err(e) => panic!("cannot wait for {}: {e}", shown(command)),
        }
    };
    Output {
        status,
        stdout: collected(stdout),
        stderr: collected(stderr),
    }
}

/// Reads a child's pipe to its end on a thread of its own (so that neither pipe can fill up and
/// block the child while the other is read).
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// What [`drain`] read. After a kill, a grandchild that inherited the pipe can keep it open:
/// then what was read so far is not waited for beyond a few seconds.
fn collected(reader: std::thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if reader.is_finished() {
        reader.join().unwrap_or_default()
    } else {
        b"(still open: a process the tool started holds its output)".to_vec()
    }
}

/// `command` as a failure message shows it: the program, its arguments and the environment
/// variables set on it, with the values of credentials masked (an environment variable whose
/// name says PASS, PIN or SECRET, and the argument after an option that does), so that a failing
/// test prints no passphrase or PIN, not even a fixture's.
#[must_use]
pub fn shown(command: &Command) -> String {
    fn secret(name: &str) -> bool {
        let name = name.to_ascii_uppercase();
        ["PASS", "PIN", "SECRET"].iter().any(|s| name.contains(s))
    }
    let mut text = String::new();
    for (name, value) in command.get_envs() {
        let name = name.to_string_lossy();
        match value {
            Some(_) if secret(&name) => text.push_str(&format!("{name}=[masked] ")),
            Some(value) => text.push_str(&format!("{name}={:?} ", value.to_string_lossy())),
            None => text.push_str(&format!("-u {name} ")),
        }
    }
    text.push_str(&format!("{:?}", command.get_program().to_string_lossy()));
    let mut mask_next = false;
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        if mask_next {
            text.push_str(" [masked]");
            mask_next = false;
            continue;
        }
        match arg.split_once('=') {
            Some((option, _)) if option.starts_with('-') && secret(option) => {
                text.push_str(&format!(" {option}=[masked]"));
            }
            _ => {
                text.push_str(&format!(" {:?}", masked_uri(&arg)));
                mask_next = arg.starts_with('-') && secret(&arg);
            }
        }
    }
    text
}

/// Runs `command`; panics with the command line, its exit status, its standard output and its
/// standard error unless it succeeds; returns its standard output.
pub fn run(command: &mut Command) -> String {
    let out = succeeded(command);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Like [`run`], but returns the standard output followed by the standard error (for tools that
/// report on standard error, as OpenSC's do).
pub fn run_with_stderr(command: &mut Command) -> String {
    let out = succeeded(command);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn succeeded(command: &mut Command) -> Output {
    let out = output(command);
    assert!(
        out.status.success(),
        "{} failed ({})\nstdout: {}\nstderr: {}",
        shown(command),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `openssl dgst` options for RSA-PSS with a salt as long as the digest (what the backends
/// sign with).
pub const PSS_SIGOPTS: &[&str] = &[
    "-sigopt",
    "rsa_padding_mode:pss",
    "-sigopt",
    "rsa_pss_saltlen:-1",
];

/// The extra `openssl dgst` options that verifying a signature of `algorithm` needs: the PSS
/// padding for RSA-PSS, none otherwise.
#[must_use]
pub fn sigopts(algorithm: SignAlgorithm) -> &'static [&'static str] {
    if algorithm.is_rsa_pss() {
        PSS_SIGOPTS
    } else {
        &[]
    }
}

/// `openssl dgst DIGEST -verify PUBLIC_KEY_PEM -signature SIGNATURE EXTRA... MESSAGE` (files);
/// `digest` is openssl's option (`-sha256`). Panics with openssl's output unless it says
/// `Verified OK`.
pub fn openssl_dgst_verify(
    public_key_pem: &Path,
    digest: &str,
    message: &Path,
    signature: &Path,
    extra: &[&str],
) {
    let text = run_with_stderr(
        Command::new("openssl")
            .args(["dgst", digest, "-verify"])
            .arg(public_key_pem)
            .arg("-signature")
            .arg(signature)
            .args(extra)
            .arg(message),
    );
    assert!(
        text.contains("Verified OK"),
        "openssl dgst {digest} -verify of {}: {text}",
        signature.display()
    );
}

/// [`openssl_dgst_verify`] of `signature` over `message` with the PEM public key
/// `public_key_pem`, through files in a temporary directory.
pub fn openssl_verify(
    public_key_pem: &str,
    digest: &str,
    message: &[u8],
    signature: &[u8],
    extra: &[&str],
) {
    let (_dir, [key, msg, sig]) = temp_files([
        ("pub.pem", public_key_pem.as_bytes()),
        ("msg", message),
        ("sig", signature),
    ]);
    openssl_dgst_verify(&key, digest, &msg, &sig, extra);
}

/// `openssl req -verify` of a PEM certificate request; panics with openssl's output unless it
/// says the request's self-signature verifies. (OpenSSL 3.0 exits with 0 even when it does not,
/// so the exit status alone proves nothing.)
pub fn openssl_req_verify(csr_pem: &str) {
    let (_dir, [path]) = temp_files([("req.pem", csr_pem.as_bytes())]);
    let text = run_with_stderr(
        Command::new("openssl")
            .args(["req", "-verify", "-noout", "-in"])
            .arg(&path),
    );
    assert!(
        text.contains("verify OK") && !text.contains("failure"),
        "openssl req -verify refused the request's signature: {text}"
    );
}

/// A new P-256 private key from `openssl genpkey`, written to `path` (PEM, PKCS#8).
pub fn openssl_p256_key(path: &Path) {
    let _ = run(Command::new("openssl")
        .args(["genpkey", "-algorithm", "EC", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-out"])
        .arg(path));
}

/// A certificate (DER) for the public key `public_pem` (PEM) with subject `subject` (e.g.
/// `/CN=signer`), issued by a throwaway P-256 CA key with `openssl x509 -new -force_pubkey`:
/// what a CA would hand back for a device's key.
pub fn openssl_issue_certificate(public_pem: &str, subject: &str) -> Vec<u8> {
    let (dir, [key]) = temp_files([("key.pub.pem", public_pem.as_bytes())]);
    let (ca, cert) = (dir.path().join("ca.pem"), dir.path().join("cert.der"));
    openssl_p256_key(&ca);
    let _ = run(Command::new("openssl")
        .args(["x509", "-new", "-subj", subject, "-days", "1", "-key"])
        .arg(&ca)
        .arg("-force_pubkey")
        .arg(&key)
        .args(["-outform", "DER", "-out"])
        .arg(&cert));
    std::fs::read(&cert).unwrap_or_else(|e| panic!("openssl wrote no certificate: {e}"))
}

/// A temporary directory holding `files` (name, contents), and their paths.
fn temp_files<const N: usize>(files: [(&str, &[u8]); N]) -> (tempfile::TempDir, [PathBuf; N]) {
    let dir =
        tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}"));
    let paths = files.map(|(name, contents)| {
        let path = dir.path().join(name);
        write(&path, contents);
        path
    });
    (dir, paths)
}

fn write(path: &Path, contents: &[u8]) {
    std::fs::write(path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// A PKCS#11 URI's `pin-value` attribute masked (RFC 7512; Knot and libp11 take PINs so).
fn masked_uri(arg: &str) -> String {
    let Some(start) = arg.find("pin-value=") else {
        return arg.to_owned();
    };
    let value = start + "pin-value=".len();
    let end = arg[value..]
        .find([';', '&'])
        .map_or(arg.len(), |n| value + n);
    format!("{}[masked]{}", &arg[..value], &arg[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_that_hangs_is_killed_and_shown_with_what_it_printed() {
        let started = Instant::now();
        let mut command = Command::new("sh");
        let _ = command.args(["-c", "echo before-the-hang; exec sleep 60"]);
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            output_within(&mut command, Duration::from_secs(1))
        }))
        .expect_err("a hung tool must fail the test");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("was killed"), "{message}");
        assert!(message.contains("before-the-hang"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn a_tool_within_its_time_gives_its_output_and_status() {
        let mut command = Command::new("sh");
        let _ = command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = output_within(&mut command, Duration::from_secs(60));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn a_failing_command_is_shown_without_its_credentials() {
        let mut command = Command::new("pkcs11-tool");
        let _ = command
            .env("P11_TEST_NETHSM_ADMIN_PASS", "adminpassphrase")
            .env("HSM_P11_CONF", "/tmp/p11.toml")
            .args([
                "--login",
                "--pin",
                "648219",
                "--so-pin=3537363231383830",
                "-O",
            ])
            .arg("pkcs11:token=knot;pin-value=operatorpassphrase;object=ksk");
        let text = shown(&command);
        for secret in [
            "adminpassphrase",
            "648219",
            "3537363231383830",
            "operatorpassphrase",
        ] {
            assert!(!text.contains(secret), "{text}");
        }
        for kept in [
            "HSM_P11_CONF=\"/tmp/p11.toml\"",
            "pkcs11-tool",
            "\"--pin\" [masked]",
            "-O",
            "pin-value=[masked];object=ksk",
        ] {
            assert!(text.contains(kept), "{kept} missing from {text}");
        }
    }
}
