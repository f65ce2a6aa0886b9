//! Bucket delivery (the `s3` destination) from the embedded stack to moto over HTTP
//! (`EC_MOTO_ENDPOINT`): the destination's role is assumed with its external id — moto does
//! not check external ids, so its request recorder shows what the `AssumeRole` request
//! carried — and the report, the sealed bundle and the `export.ready` event land under
//! `{prefix}{export_id}/` byte for byte (the job's digests); a test message writes
//! `{prefix}exportcenter-test.json`; a destination without a role is refused by a deployment
//! that does not allow its own credentials (the delivery `failed` with the reason, the
//! export `ready`).

#[path = "../../shared/aws/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use ec_tests::embedded;

const SECRET: &str = "delivery-s3-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write scan:write destination:write";
const ROLE: &str = "arn:aws:iam::123456789012:role/exportcenter-delivery";

/// What moto's recorder holds: every request since recording started.
async fn recording(http: &reqwest::Client) -> Vec<Value> {
    let url = format!(
        "{}/moto-api/recorder/download-recording",
        common::moto_endpoint()
    );
    let text = http.get(url).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A recorded request's body as text.
fn body(entry: &Value) -> String {
    let raw = entry["body"].as_str().unwrap_or_default();
    if entry["body_encoded"] == true {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        raw.to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_bundles_are_copied_to_the_tenants_bucket() {
    let sdk = common::moto_config().await;
    let s3 = ec_aws::config::s3_client(&sdk, true);
    let bucket = common::unique("tenant-vault");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let external_id = common::unique("acme-ext");
    let moto = common::moto_endpoint();

    let dir = tempfile::tempdir().unwrap();
    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("AWS_ENDPOINT_URL", moto.as_str()),
            ("AWS_REGION", common::REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("EXPORTCENTER_S3_FORCE_PATH_STYLE", "true"),
            ("EXPORTCENTER_DELIVERY_RETRY_BASE_SECS", "1"),
            ("EXPORTCENTER_DELIVERY_RETRY_CAP_SECS", "1"),
        ],
    )
    .await;
    let token = stack.mint("alice", "acme", SCOPES, 3600).unwrap();
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let call = ec_tests::caller(&http, &base, &token);

    let (s, vault) = call(
        Method::POST,
        "/api/v1/destinations".into(),
        Some(json!({"name": "evidence vault", "type": "s3",
            "config": {"bucket": bucket, "prefix": "exportcenter/", "role_arn": ROLE,
                       "external_id": external_id}})),
    )
    .await;
    assert_eq!(s, 201, "{vault}");
    assert_eq!(vault["config"]["external_id"], external_id.as_str());
    let vault_id = vault["destination_id"].as_str().unwrap().to_string();
    let (s, own) = call(
        Method::POST,
        "/api/v1/destinations".into(),
        Some(json!({"name": "no role", "type": "s3",
            "config": {"bucket": bucket, "prefix": "own/"}})),
    )
    .await;
    assert_eq!(s, 201, "{own}");

    let started = http
        .post(format!("{moto}/moto-api/recorder/start-recording"))
        .send()
        .await
        .unwrap();
    assert!(started.status().is_success());

    // A test message writes one object.
    let (s, sent) = call(
        Method::POST,
        format!("/api/v1/destinations/{vault_id}/test"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{sent}");
    assert_eq!(sent["delivered"], true, "{sent}");
    let test_object = s3
        .get_object()
        .bucket(&bucket)
        .key("exportcenter/exportcenter-test.json")
        .send()
        .await
        .unwrap();
    let test_body: Value =
        serde_json::from_slice(&test_object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(test_body["type"], "destination.test", "{test_body}");

    let scan = ec_tests::ingest_fixture(&http, &base, &token, "trivy", "alpine-310").await;
    let (s, job) = call(
        Method::POST,
        "/api/v1/exports".into(),
        Some(json!({"type": "scan_report", "format": "json",
            "scope": {"scan_ids": [scan["scan_id"]]},
            "options": {"destinations": [vault_id, own["destination_id"]]}})),
    )
    .await;
    assert_eq!(s, 202, "{job}");
    let export_id = job["export_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let (_, job) = call(Method::GET, format!("/api/v1/exports/{export_id}"), None).await;
        let done = job["deliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 2 && d.iter().all(|d| d["status"] != "pending"));
        if done {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not finish: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(job["status"], "ready");
    let by_id = |id: &str| {
        job["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination_id"] == id)
            .cloned()
            .unwrap()
    };
    let delivered = by_id(&vault_id);
    assert_eq!(delivered["status"], "delivered", "{delivered}");
    assert_eq!(delivered["attempts"], 1, "{delivered}");
    let refused = by_id(own["destination_id"].as_str().unwrap());
    assert_eq!(refused["status"], "failed", "{refused}");
    assert_eq!(
        refused["attempts"], 1,
        "refused for good, not retried: {refused}"
    );
    assert!(
        refused["last_error"].as_str().unwrap().contains("role_arn"),
        "{refused}"
    );

    // Every artifact, byte for byte, then the event.
    let mut keys = Vec::new();
    for artifact in job["artifacts"].as_array().unwrap() {
        let name = artifact["key"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let key = format!("exportcenter/{export_id}/{name}");
        let got = s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(got.content_type(), artifact["media_type"].as_str(), "{key}");
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(
            ec_domain::ids::sha256_hex(&bytes),
            artifact["sha256"].as_str().unwrap(),
            "{key}"
        );
        keys.push(key);
    }
    assert_eq!(keys.len(), 2, "report and sealed bundle: {keys:?}");
    let event = s3
        .get_object()
        .bucket(&bucket)
        .key(format!("exportcenter/{export_id}/export.ready.json"))
        .send()
        .await
        .unwrap();
    let event: Value =
        serde_json::from_slice(&event.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(event["type"], "export.ready");
    assert_eq!(event["data"]["export_id"], export_id.as_str());
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .contents
        .unwrap_or_default();
    assert!(
        listed
            .iter()
            .all(|o| !o.key().unwrap_or_default().starts_with("own/")),
        "nothing written without a role"
    );

    // The role was assumed with the destination's external id, once for the test message
    // and once for the delivery.
    let recorded = recording(&http).await;
    let _ = http
        .post(format!("{moto}/moto-api/recorder/stop-recording"))
        .send()
        .await;
    let assumed: Vec<String> = recorded
        .iter()
        .map(body)
        .filter(|b| b.contains("Action=AssumeRole"))
        .collect();
    assert_eq!(assumed.len(), 2, "{assumed:?}");
    let session = format!("RoleSessionName=exportcenter-{vault_id}");
    for b in &assumed {
        assert!(b.contains(&format!("ExternalId={external_id}")), "{b}");
        assert!(b.contains(&session), "{b}");
        assert!(
            b.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fexportcenter-delivery"),
            "{b}"
        );
    }
}
