//! A signing-key rotation on the embedded stack, checked with `exportctl verify
//! --trusted-keys` against what `GET /api/v1/keys` publishes: the next key is announced
//! ahead (the current key gets its `not_after`), an export made before the instant is sealed
//! by the old key and one made after by the new one; once the new key is promoted and the
//! old one retired, the key set still verifies the old bundle, which fails once the retired
//! key leaves the trusted set, and fails when the trusted set says the key was not valid
//! when the bundle was sealed. Without trusted keys the answer is "self-asserted".

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use ec_tests::{api_call, embedded};

const SECRET: &str = "key-rotation-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write scan:write";

/// Makes a JSON export of `scan` and returns its sealed bundle.
async fn sealed_export(http: &reqwest::Client, base: &str, token: &str, scan: &Value) -> Vec<u8> {
    let body = json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan]}});
    let (job, bundle) = ec_tests::finished_export(http, base, token, &body).await;
    bundle.unwrap_or_else(|| panic!("{job}"))
}

/// `exportctl verify BUNDLE --json [--trusted-keys FILE]`: its JSON answer.
fn verify(dir: &Path, bundle: &[u8], trusted: Option<&Value>) -> Value {
    let b = dir.join("bundle.tar.gz");
    std::fs::write(&b, bundle).unwrap();
    let mut cmd = std::process::Command::new(ec_tests::exportctl_bin());
    cmd.args(["verify", "--json"]).arg(&b);
    if let Some(set) = trusted {
        let k = dir.join("keys.json");
        std::fs::write(&k, set.to_string()).unwrap();
        cmd.arg("--trusted-keys").arg(&k);
    }
    let out = cmd.output().unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.success(), answer["ok"] == true, "{answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_keep_old_bundles_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let next = ec_seal::EcdsaP256Signer::generate().unwrap();
    let next_pem = next.to_pkcs8_pem().unwrap().to_string();
    use ec_domain::ports::Signer;
    let next_id = next.key_id();
    // The new key takes over in a few seconds.
    let instant = ec_domain::time::now() + time::Duration::seconds(3);
    let instant_text = ec_domain::time::rfc3339(instant);

    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_SIGNING_NEXT_KEY_PEM", next_pem.as_str()),
            (
                "EXPORTCENTER_SIGNING_NEXT_NOT_BEFORE",
                instant_text.as_str(),
            ),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    // Any valid token reads the key set, whatever its scopes.
    let reader = stack.mint("auditor", "acme", "audit:read", 600).unwrap();
    let (s, announced) = api_call(&http, &base, Method::GET, "/api/v1/keys", &reader, None).await;
    assert_eq!(s, 200, "{announced}");
    ec_tests::matches_openapi("SigningKeySet", &[&announced]);
    let keys = announced["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{announced}");
    let old_id = keys[0]["kid"].as_str().unwrap().to_string();
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["not_after"], instant_text.as_str());
    assert_eq!(keys[1]["kid"], next_id.as_str());
    assert_eq!(keys[1]["crv"], "P-256");
    assert_eq!(keys[1]["not_before"], instant_text.as_str());
    let (s, _) = api_call(
        &http,
        &base,
        Method::GET,
        "/api/v1/keys",
        "not-a-token",
        None,
    )
    .await;
    assert_eq!(s, 401);

    let token = stack.mint("alice", "acme", SCOPES, 600).unwrap();
    let scan = ec_tests::ingest_fixture(&http, &base, &token, "trivy", "alpine-310").await;
    let before = sealed_export(&http, &base, &token, &scan["scan_id"]).await;
    while ec_domain::time::now() <= instant {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = sealed_export(&http, &base, &token, &scan["scan_id"]).await;
    stack.shutdown().await;

    let v = verify(work.path(), &before, Some(&announced));
    assert_eq!(
        (v["key_id"].as_str(), v["trust"].as_str()),
        (Some(old_id.as_str()), Some("trusted")),
        "{v}"
    );
    assert_eq!(v["algorithm"], "ed25519");
    let v = verify(work.path(), &after, Some(&announced));
    assert_eq!(
        (v["key_id"].as_str(), v["trust"].as_str()),
        (Some(next_id.as_str()), Some("trusted")),
        "{v}"
    );
    assert_eq!(v["algorithm"], "ecdsa-p256-sha256");
    let v = verify(work.path(), &before, None);
    assert_eq!(v["trust"], "self-asserted", "{v}");

    // Promotion: the new key is the current one, the old one retired with its period.
    let retired = json!({"keys": [keys[0].clone()]}).to_string();
    let dir2 = tempfile::tempdir().unwrap();
    let stack = embedded::start_with(
        dir2.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_SIGNING_KEY_PEM", next_pem.as_str()),
            ("EXPORTCENTER_SIGNING_KEY_NOT_BEFORE", instant_text.as_str()),
            ("EXPORTCENTER_SIGNING_KEYS_RETIRED", retired.as_str()),
        ],
    )
    .await;
    let reader = stack.mint("auditor", "acme", "audit:read", 600).unwrap();
    let (s, promoted) = api_call(
        &http,
        &stack.base_url,
        Method::GET,
        "/api/v1/keys",
        &reader,
        None,
    )
    .await;
    assert_eq!(s, 200, "{promoted}");
    stack.shutdown().await;
    let ids: Vec<&str> = promoted["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [next_id.as_str(), old_id.as_str()], "{promoted}");
    assert_eq!(promoted["keys"][0]["not_before"], instant_text.as_str());
    assert!(promoted["keys"][0].get("not_after").is_none());
    assert_eq!(promoted["keys"][1]["not_after"], instant_text.as_str());
    for bundle in [&before, &after] {
        assert_eq!(
            verify(work.path(), bundle, Some(&promoted))["trust"],
            "trusted"
        );
    }

    // The retired key leaves the trusted set: its bundle no longer verifies as trusted.
    let without_old = json!({"keys": [promoted["keys"][0].clone()]});
    let v = verify(work.path(), &before, Some(&without_old));
    assert_eq!(v["code"], "SEAL_UNTRUSTED_KEY", "{v}");
    assert_eq!(verify(work.path(), &after, Some(&without_old))["ok"], true);

    // A set saying the old key stopped before the bundle was sealed.
    let mut early = promoted.clone();
    early["keys"][1]["not_after"] = "2000-01-01T00:00:00Z".into();
    let v = verify(work.path(), &before, Some(&early));
    assert_eq!(v["code"], "SEAL_KEY_NOT_VALID", "{v}");

    // The new key before its instant is not valid for the old bundle's time either.
    let v = verify(
        work.path(),
        &after,
        Some(&json!({"keys": [{
        "kid": next_id, "kty": "EC", "crv": "P-256",
        "x": promoted["keys"][0]["x"], "y": promoted["keys"][0]["y"],
        "not_before": "2999-01-01T00:00:00Z"}]})),
    );
    assert_eq!(v["code"], "SEAL_KEY_NOT_VALID", "{v}");
}
