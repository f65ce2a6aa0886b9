//! `exportctl token`: mints only for tenants the contract allows, and the server it mints
//! for accepts what it prints.

use std::process::Command;

use ec_tests::exportctl_bin;

fn token(data_dir: &std::path::Path, tenant: &str) -> std::process::Output {
    Command::new(exportctl_bin())
        .args(["token", "--tenant", tenant, "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap()
}

#[test]
fn tokens_are_minted_only_for_valid_tenants() {
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
        .expect("a single-tenant token names its tenant");
    assert_eq!(p.caller.tenant, "acme-corp");
}
