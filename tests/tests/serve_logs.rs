//! What `exportctl serve` writes to a log file (stderr not a terminal): plain text, no ANSI
//! colour codes, and no token or secret (tokens in headers and in a query string, accepted and
//! refused ones).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use ec_tests::exportctl_bin;

#[tokio::test]
async fn logs_to_a_file_have_no_colour_codes_and_no_secret() {
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
    // Requests carrying a token in the header and in a query string (browsers' WebSocket),
    // and a refused one: none of the tokens may reach the log.
    let base = banner
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let token = ec_api::auth::mint(secret.as_bytes(), "alice", "acme", "export:read", 600).unwrap();
    let forged =
        ec_api::auth::mint(b"another-secret", "mallory", "acme", "export:read", 600).unwrap();
    let http = reqwest::Client::new();
    for (path, t, status) in [
        ("/api/v1/exports", &token, 200),
        ("/api/v1/exports", &forged, 401),
        (&*format!("/ws?token={token}&tenant=acme"), &token, 400),
    ] {
        let resp = http
            .get(format!("{base}{path}"))
            .bearer_auth(t)
            .header("X-Tenant-Id", "acme")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
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
    for t in [&token, &forged] {
        let signature = t.rsplit('.').next().unwrap_or_default();
        assert!(!log.contains(signature), "a token is in the log: {log}");
    }
}
