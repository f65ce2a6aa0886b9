//! GitHub code scanning delivery on the embedded stack, against a loopback stub that checks
//! what GitHub checks (`tests/python/github_stub.py`: token and API headers, `commit_sha`,
//! `ref`, the SARIF base64-encoded and gzip-compressed, at most 10 MB): a SARIF export is
//! uploaded once after the stub's first `503`, its processing followed to `complete`; a
//! JSON export to the same destination fails at once saying why; the test route checks the
//! token against the repository.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use ec_tests::{embedded, receivers};

const SECRET: &str = "delivery-github-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write scan:write destination:write";
const TOKEN: &str = "ghp_test-token-not-real";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sarif_exports_are_uploaded_to_code_scanning() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("github.jsonl");
    let (_stub, port) = receivers::start("github_stub.py", &[std::path::Path::new(TOKEN), &log]);
    let api_url = format!("http://127.0.0.1:{port}");
    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_GITHUB_API_URL", api_url.as_str()),
            ("EXPORTCENTER_DELIVERY_RETRY_BASE_SECS", "1"),
            ("EXPORTCENTER_DELIVERY_RETRY_CAP_SECS", "1"),
        ],
    )
    .await;
    let token = stack.mint("alice", "acme", SCOPES, 3600).unwrap();
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let call = ec_tests::caller(&http, &base, &token);
    let destination = |token: &str| {
        json!({"name": "code scanning", "type": "github_code_scanning", "config": {
            "repository": "acme/app", "ref": "refs/heads/main",
            "commit_sha": "0123456789abcdef0123456789abcdef01234567", "token": token}})
    };
    let (s, gh) = call(
        Method::POST,
        "/api/v1/destinations".into(),
        Some(destination(TOKEN)),
    )
    .await;
    assert_eq!(s, 201, "{gh}");
    let dst = gh["destination_id"].as_str().unwrap().to_string();
    let (s, wrong) = call(
        Method::POST,
        "/api/v1/destinations".into(),
        Some(destination("ghp_revoked")),
    )
    .await;
    assert_eq!(s, 201, "{wrong}");

    // The test route reads the repository with the token.
    let (s, ok) = call(
        Method::POST,
        format!("/api/v1/destinations/{dst}/test"),
        None,
    )
    .await;
    assert_eq!((s, &ok["delivered"]), (200, &json!(true)), "{ok}");
    let wrong_id = wrong["destination_id"].as_str().unwrap();
    let (_, refused) = call(
        Method::POST,
        format!("/api/v1/destinations/{wrong_id}/test"),
        None,
    )
    .await;
    assert_eq!(refused["delivered"], false);
    assert!(
        refused["error"].as_str().unwrap().contains("401"),
        "{refused}"
    );
    assert!(!refused.to_string().contains("ghp_revoked"));

    let scan = ec_tests::ingest_fixture(&http, &base, &token, "trivy", "alpine-310").await;
    let mut ids = Vec::new();
    for format in ["sarif", "json"] {
        let (s, job) = call(
            Method::POST,
            "/api/v1/exports".into(),
            Some(json!({"type": "scan_report", "format": format,
                "scope": {"scan_ids": [scan["scan_id"]]}, "options": {"destinations": [dst]}})),
        )
        .await;
        assert_eq!(s, 202, "{job}");
        ids.push(job["export_id"].as_str().unwrap().to_string());
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut finals = Vec::new();
    for id in &ids {
        loop {
            let (_, job) = call(Method::GET, format!("/api/v1/exports/{id}"), None).await;
            let d = job["deliveries"][0].clone();
            if d.is_object() && d["status"] != "pending" {
                finals.push((job, d));
                break;
            }
            assert!(Instant::now() < deadline, "no outcome: {job}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (sarif_job, uploaded) = &finals[0];
    assert_eq!(uploaded["status"], "delivered", "{uploaded}");
    assert_eq!(
        uploaded["attempts"], 2,
        "the stub's first 503 is retried: {uploaded}"
    );
    let (_, refused) = &finals[1];
    assert_eq!(refused["status"], "failed");
    assert_eq!(refused["attempts"], 1);
    assert!(
        refused["last_error"]
            .as_str()
            .unwrap()
            .contains("takes SARIF exports"),
        "{refused}"
    );

    let requests = receivers::logged(&log);
    let uploads: Vec<&Value> = requests.iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(
        uploads
            .iter()
            .map(|u| u["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [503, 202],
        "{requests:?}"
    );
    let accepted = uploads[1];
    assert_eq!(accepted["problems"], json!([]), "{accepted}");
    assert_eq!(accepted["path"], "/repos/acme/app/code-scanning/sarifs");
    assert_eq!(accepted["tool_name"], "ExportCenter");
    assert!(accepted["results"].as_u64().unwrap() > 0, "{accepted}");
    assert!(
        sarif_job["summary"]["findings"].as_u64().unwrap() >= accepted["results"].as_u64().unwrap()
    );
    let polls = requests
        .iter()
        .filter(|r| r["method"] == "GET" && r["path"].as_str().unwrap().contains("/sarifs/"))
        .count();
    assert_eq!(polls, 2, "followed from pending to complete: {requests:?}");
    stack.shutdown().await;
}
