//! What `exportctl serve` writes to a log file (stderr not a terminal): plain text, no ANSI
//! colour codes, and no token or secret.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use ec_tests::exportctl_bin;

#[test]
fn logs_to_a_file_have_no_colour_codes_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "serve-logs-test-secret-value";
    let mut child = Command::new(exportctl_bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("EXPORTCENTER_JWT_SECRET", secret)
        .env("EXPORTCENTER_LOG", "debug")
        .env_remove("EXPORTCENTER_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(banner.contains("http://"), "{banner}");
    child.kill().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child.wait().unwrap();
    assert!(log.contains("listening"), "the start-up is logged: {log}");
    assert!(
        log.contains("for development only"),
        "the shared-secret mode is logged as development only: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escape codes in a log file: {log:?}"
    );
    assert!(!log.contains(secret), "the JWT secret is in the log");
}
