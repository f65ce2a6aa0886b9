//! `exportctl token`: mints only for tenants the contract allows, and the server it mints
//! for accepts what it prints.

use std::process::Command;

use ec_tests::exportctl_bin;

fn token_with(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(exportctl_bin())
        .arg("token")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("EXPORTCENTER_JWT_SECRET")
        .output()
        .unwrap()
}

fn token(data_dir: &std::path::Path, tenant: &str) -> std::process::Output {
    token_with(data_dir, &["--tenant", tenant, "--create-secret"])
}

#[test]
fn a_data_dir_without_a_secret_is_refused_unless_asked_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = token_with(dir.path(), &["--tenant", "acme"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("jwt.secret") && err.contains("--create-secret"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    assert!(
        !dir.path().join("jwt.secret").exists(),
        "nothing is created"
    );

    let out = token_with(dir.path(), &["--tenant", "acme", "--create-secret"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("created") && err.contains("jwt.secret"),
        "{err}"
    );
    // The next token names the file it was signed with.
    let out = token_with(dir.path(), &["--tenant", "acme"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("signed with") && err.contains("jwt.secret"),
        "{err}"
    );
}

#[test]
fn unknown_scopes_are_refused_and_the_known_ones_listed() {
    let dir = tempfile::tempdir().unwrap();
    let out = token_with(
        dir.path(),
        &[
            "--tenant",
            "acme",
            "--create-secret",
            "--scopes",
            "export:read exports:write",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exports:write"), "{err}");
    for known in ec_api::auth::KNOWN_SCOPES {
        assert!(err.contains(known), "{known} missing from {err}");
    }
    let help = Command::new(exportctl_bin())
        .args(["token", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("template:write") && help.contains("seconds"),
        "{help}"
    );
}

#[tokio::test]
async fn tokens_are_minted_only_for_valid_tenants() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "a/b", "a b", "../../x", "-acme", &"t".repeat(65)] {
        let out = token(dir.path(), bad);
        assert!(!out.status.success(), "{bad:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("tenant"), "{bad:?}: {err}");
        assert!(out.stdout.is_empty(), "{bad:?} printed a token");
    }
    let out = token(dir.path(), "acme-corp");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jwt = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    let hex_text = std::fs::read_to_string(dir.path().join("jwt.secret")).unwrap();
    let hex_text = hex_text.trim();
    let secret: Vec<u8> = (0..hex_text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_text[i..i + 2], 16).unwrap())
        .collect();
    let auth = ec_api::Auth::hs256(&secret);
    let p = auth
        .verify(Some(&jwt), None)
        .await
        .expect("a single-tenant token names its tenant");
    assert_eq!(p.caller.tenant, "acme-corp");
}
