//! Per-tenant quotas through `exportctl serve` over HTTP: 50 concurrent requests against a
//! concurrent limit of 10 (exactly 10 accepted, 40 × 429 with the quota headers and
//! `Retry-After`), idempotent replays that consume nothing, slots freed exactly once by a
//! cancel and by a failure, the per-minute limit, limits from the tenant settings document,
//! and a bad settings document refusing to start.

use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use ec_tests::serve::{SECRET, Server};
use ec_tests::{exportctl_bin, fixtures};

const SCOPES: &str = "export:read export:write scan:write template:write";

/// An endless custom CSV template, CPU only (small ranges, no output, so no memory limit is
/// hit first): its render holds the one render worker until the sandbox stops it at
/// `EXPORTCENTER_TEMPLATE_TIMEOUT_SECS`, so the jobs stay queued or running while the test
/// counts them.
const ENDLESS: &str = "{% for i in range(end=10000) %}{% for j in range(end=10000) %}{% for k in range(end=10000) %}{% endfor %}{% endfor %}{% endfor %}";

/// The settings document: acme may run 10 exports at once, globex 5 requests a minute;
/// initech gets the document's default per minute and the environment's concurrent limit.
const SETTINGS: &str = r#"{
  "default": { "quota": { "exports_per_minute": 1000 } },
  "tenants": {
    "acme": { "quota": { "concurrent_exports": 10 } },
    "globex": { "quota": { "exports_per_minute": 5, "concurrent_exports": 100 } }
  }
}"#;

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<u64> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    /// Every POST /api/v1/exports answer carries the quota headers.
    fn assert_quota_headers(&self, limit: u64) {
        assert_eq!(
            self.header("x-quota-limit"),
            Some(limit),
            "{:?}",
            self.headers
        );
        let remaining = self.header("x-quota-remaining");
        assert!(remaining.is_some_and(|r| r <= limit), "{:?}", self.headers);
        let reset = self.header("x-quota-reset");
        assert!(
            reset.is_some_and(|r| (1..=60).contains(&r)),
            "{:?}",
            self.headers
        );
    }

    /// A 429 `ERR_QUOTA` with `Retry-After` and the limit named.
    fn assert_refused(&self, limit: u64, says: &str) {
        assert_eq!(self.status, 429, "{}", self.body);
        assert_eq!(self.body["code"], "ERR_QUOTA", "{}", self.body);
        let message = self.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message}");
        assert!(
            self.header("retry-after").is_some_and(|s| s >= 1),
            "{:?}",
            self.headers
        );
        self.assert_quota_headers(limit);
    }
}

fn token(tenant: &str) -> String {
    ec_api::auth::mint(SECRET.as_bytes(), "quota", tenant, SCOPES, 600).unwrap()
}

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    tenant: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url))
        .bearer_auth(token(tenant))
        .header("X-Tenant-Id", tenant);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn post_export(server: &Server, tenant: &str, req: &Value, key: Option<&str>) -> Answer {
    let m = reqwest::Method::POST;
    call(server, m, "/api/v1/exports", tenant, key, Some(req.clone())).await
}

async fn ingest(server: &Server, tenant: &str) -> String {
    let path = fixtures("trivy")
        .into_iter()
        .find(|p| p.ends_with("trivy-golden_alpine-310.json"))
        .unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let m = reqwest::Method::POST;
    let a = call(server, m, "/api/v1/scans", tenant, None, Some(doc)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body["scan_id"].as_str().unwrap().to_string()
}

async fn job_status(server: &Server, tenant: &str, id: &str) -> String {
    let path = format!("/api/v1/exports/{id}");
    let a = call(server, reqwest::Method::GET, &path, tenant, None, None).await;
    a.body["status"].as_str().unwrap_or_default().to_string()
}

/// Waits until one of `ids` has `status`; returns it.
async fn wait_for(server: &Server, tenant: &str, ids: &[String], status: &str) -> String {
    for _ in 0..600 {
        for id in ids {
            if job_status(server, tenant, id).await == status {
                return id.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("none of {ids:?} became {status}");
}

/// Waits until the per-minute window has at least `secs` left, so a test's requests fall
/// in one window.
async fn fresh_window(secs: u64) {
    let now = ec_domain::time::now().unix_timestamp().rem_euclid(60) as u64;
    if 60 - now < secs {
        tokio::time::sleep(Duration::from_secs(60 - now + 1)).await;
    }
}

fn serve(dir: &std::path::Path, settings: &std::path::Path) -> Server {
    Server::start(
        dir,
        &[
            ("EXPORTCENTER_WORKERS", "1"),
            ("EXPORTCENTER_TEMPLATE_TIMEOUT_SECS", "10"),
            ("EXPORTCENTER_QUOTA_CONCURRENT_EXPORTS", "3"),
            ("EXPORTCENTER_QUOTA_EXPORTS_PER_MINUTE", "7"),
            ("EXPORTCENTER_TENANT_SETTINGS", settings.to_str().unwrap()),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_against_a_concurrent_limit_of_ten() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("tenants.json");
    std::fs::write(&settings, SETTINGS).unwrap();
    let server = serve(&dir.path().join("data"), &settings);
    let scan = ingest(&server, "acme").await;
    let m = reqwest::Method::PUT;
    let up = call(
        &server,
        m,
        "/api/v1/templates/custom-acme",
        "acme",
        None,
        Some(json!({"csv": ENDLESS})),
    )
    .await;
    assert_eq!(up.status, 200, "{}", up.body);
    let req = json!({"type": "scan_report", "format": "csv", "scope": {"scan_ids": [scan]},
        "options": {"template": "custom-acme"}});

    let keys: Vec<String> = (0..50).map(|i| format!("burst-{i}")).collect();
    let answers = join_all(
        keys.iter()
            .map(|k| post_export(&server, "acme", &req, Some(k))),
    )
    .await;
    let accepted: Vec<(&String, String)> = keys
        .iter()
        .zip(&answers)
        .filter(|(_, a)| a.status == 202)
        .map(|(k, a)| (k, a.body["export_id"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        accepted.len(),
        10,
        "statuses: {:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for a in &answers {
        if a.status == 202 {
            a.assert_quota_headers(1000);
        } else {
            a.assert_refused(1000, "(concurrent limit 10)");
            assert!(
                a.body["message"]
                    .as_str()
                    .unwrap()
                    .contains("tenant acme has 10 exports queued or running")
            );
        }
    }
    let ids: Vec<String> = accepted.iter().map(|(_, id)| id.clone()).collect();
    // Refused requests left no job behind.
    let m = reqwest::Method::GET;
    let list = call(&server, m, "/api/v1/exports?limit=100", "acme", None, None).await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        10,
        "{}",
        list.body
    );

    // A replay answers its job and consumes nothing, even at the limit.
    let (key, id) = &accepted[0];
    let again = post_export(&server, "acme", &req, Some(key)).await;
    assert_eq!(
        (again.status, again.body["export_id"].as_str()),
        (202, Some(id.as_str()))
    );
    again.assert_quota_headers(1000);
    assert_eq!(again.header("x-quota-concurrent-remaining"), Some(0));
    let refused_key = keys
        .iter()
        .find(|k| !accepted.iter().any(|(a, _)| a == k))
        .unwrap();
    post_export(&server, "acme", &req, Some(refused_key))
        .await
        .assert_refused(1000, "concurrent limit 10");
    post_export(&server, "acme", &req, None)
        .await
        .assert_refused(1000, "concurrent limit 10");

    // Cancelling frees one slot, once: a second cancel is 409 and frees nothing.
    let mut cancelled = None;
    for id in ids.iter().rev() {
        let path = format!("/api/v1/exports/{id}");
        let cancel = call(&server, reqwest::Method::DELETE, &path, "acme", None, None).await;
        if cancel.status == 202 {
            cancelled = Some(path);
            break;
        }
    }
    let path = cancelled.expect("an export still queued or running to cancel");
    let cancel = call(&server, reqwest::Method::DELETE, &path, "acme", None, None).await;
    assert_eq!(cancel.status, 409, "{}", cancel.body);
    let one_more = post_export(&server, "acme", &req, Some("after-cancel")).await;
    assert_eq!(one_more.status, 202, "{}", one_more.body);
    assert_eq!(one_more.header("x-quota-concurrent-remaining"), Some(0));
    post_export(&server, "acme", &req, None)
        .await
        .assert_refused(1000, "concurrent limit 10");

    // A failed export (the sandbox stops the endless template) frees its slot, once.
    let failed = wait_for(&server, "acme", &ids, "failed").await;
    assert!(ids.contains(&failed));
    let after_failure = post_export(&server, "acme", &req, Some("after-failure")).await;
    assert_eq!(after_failure.status, 202, "{}", after_failure.body);
    post_export(&server, "acme", &req, None)
        .await
        .assert_refused(1000, "concurrent limit 10");

    // Another tenant has its own slots.
    let scan = ingest(&server, "initech").await;
    let plain = json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan]}});
    let a = post_export(&server, "initech", &plain, None).await;
    assert_eq!(a.status, 202, "{}", a.body);
    // Per minute from the document's default (over the environment's 7), concurrent from
    // the environment (the document does not set it).
    a.assert_quota_headers(1000);
    assert_eq!(a.header("x-quota-concurrent-limit"), Some(3));

    // The audit chain the burst wrote verifies: every request recorded once, in one chain.
    let trail = audit_trail(&server, "acme").await;
    ec_domain::audit::verify_chain(&trail).expect("an unbroken chain after the burst");
    let creates = trail
        .iter()
        .filter(|e| e.action == ec_domain::audit::AuditAction::ExportCreate)
        .count();
    assert!(creates >= 50, "{creates} export.create entries");
    assert!(trail.iter().any(|e| e.status == 429));
}

/// Every entry of `tenant`'s audit chain, paging through `GET /api/v1/audit`.
async fn audit_trail(server: &Server, tenant: &str) -> Vec<ec_domain::audit::AuditEntry> {
    let token =
        ec_api::auth::mint(SECRET.as_bytes(), "auditor", tenant, "audit:read", 600).expect("mint");
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/api/v1/audit?limit=200", server.base_url);
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth(&token)
            .header("X-Tenant-Id", tenant)
            .send()
            .await
            .expect("audit")
            .json()
            .await
            .expect("a page");
        let items: Vec<ec_domain::audit::AuditEntry> =
            serde_json::from_value(page["items"].clone()).expect("entries");
        out.extend(items);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_per_minute_limit_and_ready_exports() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("tenants.json");
    std::fs::write(&settings, SETTINGS).unwrap();
    let server = serve(&dir.path().join("data"), &settings);
    let scan = ingest(&server, "globex").await;
    let req = json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan]}});
    fresh_window(20).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = post_export(&server, "globex", &req, Some(&format!("m-{i}"))).await;
        assert_eq!(a.status, 202, "{}", a.body);
        a.assert_quota_headers(5);
        assert_eq!(a.header("x-quota-remaining"), Some(4 - i));
        ids.push(a.body["export_id"].as_str().unwrap().to_string());
    }
    let refused = post_export(&server, "globex", &req, Some("m-5")).await;
    refused.assert_refused(5, "(limit 5 per minute)");
    assert_eq!(refused.header("x-quota-remaining"), Some(0));
    assert_eq!(
        refused.header("retry-after"),
        refused.header("x-quota-reset")
    );
    // A replay still answers (202, nothing consumed).
    let replay = post_export(&server, "globex", &req, Some("m-0")).await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.header("x-quota-remaining"), Some(0));
    // Ready exports free their slots.
    for id in &ids {
        wait_for(&server, "globex", std::slice::from_ref(id), "ready").await;
    }
    let replay = post_export(&server, "globex", &req, Some("m-1")).await;
    assert_eq!(replay.header("x-quota-concurrent-remaining"), Some(100));
}

#[test]
fn a_bad_settings_document_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("tenants.json");
    for (doc, says) in [
        (
            r#"{"tenants": {"acme": {"quota": {"concurent_exports": 2}}}}"#,
            "unknown field `concurent_exports`",
        ),
        (r#"{"tenants": {"a/b": {}}}"#, "is not a valid id"),
        (
            r#"{"default": {"quota": {"exports_per_minute": 0}}}"#,
            "default.quota.exports_per_minute must be at least 1",
        ),
    ] {
        std::fs::write(&settings, doc).unwrap();
        let out = Command::new(exportctl_bin())
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("EXPORTCENTER_JWT_SECRET", SECRET)
            .env("EXPORTCENTER_TENANT_SETTINGS", &settings)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{doc}: started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("EXPORTCENTER_TENANT_SETTINGS"),
            "{doc}: {stderr}"
        );
        assert!(stderr.contains(says), "{doc}: {stderr}");
    }
}
