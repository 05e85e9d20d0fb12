//! The command runners return what a tool printed, and fail naming the command and what it said;
//! the openssl checks accept a good signature and refuse a bad one.
#![allow(clippy::expect_used)]

use std::process::Command;

use hsm_testkit::cli;

fn panic_text(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("it should have failed");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn run_returns_stdout_and_run_with_stderr_both() {
    let script = ["-c", "echo out; echo err >&2"];
    assert_eq!(cli::run(Command::new("sh").args(script)), "out\n");
    assert_eq!(
        cli::run_with_stderr(Command::new("sh").args(script)),
        "out\nerr\n"
    );
}

#[test]
fn a_failing_or_missing_tool_fails_the_test_with_its_command_and_output() {
    let text = panic_text(|| {
        cli::run(Command::new("sh").args(["-c", "echo said-this >&2; exit 3"]));
    });
    assert!(text.contains("\"sh\""), "{text}");
    assert!(text.contains("said-this"), "{text}");
    assert!(text.contains('3'), "{text}");
    let text = panic_text(|| {
        cli::run(&mut Command::new("hsm-testkit-no-such-tool"));
    });
    assert!(text.contains("cannot run"), "{text}");
    assert!(text.contains("hsm-testkit-no-such-tool"), "{text}");
}

#[test]
fn openssl_checks_accept_good_and_refuse_bad_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let public = dir.path().join("pub.pem");
    let message = dir.path().join("msg");
    let signature = dir.path().join("sig");
    std::fs::write(&message, b"signed by openssl").unwrap();
    cli::openssl_p256_key(&key);
    cli::run(
        Command::new("openssl")
            .args(["ec", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&public),
    );
    cli::run(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&key)
            .arg("-out")
            .arg(&signature)
            .arg(&message),
    );
    cli::openssl_dgst_verify(&public, "-sha256", &message, &signature, &[]);
    let pem = std::fs::read_to_string(&public).unwrap();
    let sig = std::fs::read(&signature).unwrap();
    cli::openssl_verify(&pem, "-sha256", b"signed by openssl", &sig, &[]);
    let text = panic_text(|| cli::openssl_verify(&pem, "-sha256", b"another message", &sig, &[]));
    assert!(text.contains("openssl"), "{text}");

    let csr = dir.path().join("req.pem");
    cli::run(
        Command::new("openssl")
            .args(["req", "-new", "-subj", "/CN=testkit", "-key"])
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    let csr = std::fs::read_to_string(&csr).unwrap();
    cli::openssl_req_verify(&csr);
    // One changed byte in the signature (the last base64 line) must be refused.
    let lines: Vec<&str> = csr.lines().collect();
    let n = lines.len();
    let mut broken: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let target = &mut broken[n - 2];
    let first = if target.starts_with('A') { "B" } else { "A" };
    target.replace_range(0..1, first);
    let broken = broken.join("\n") + "\n";
    let text = panic_text(|| cli::openssl_req_verify(&broken));
    assert!(text.contains("openssl"), "{text}");
}

#[test]
fn sigopts_are_the_pss_padding_for_rsa_pss_only() {
    assert_eq!(
        cli::sigopts(hsm_core::SignAlgorithm::RsaPssSha384),
        cli::PSS_SIGOPTS
    );
    assert!(cli::sigopts(hsm_core::SignAlgorithm::EcdsaSha256).is_empty());
}
