//! The audit trail over HTTP on `exportctl serve`: every changing call and every refusal is
//! recorded with its caller, resource, status, trace id, source address and user agent;
//! `GET /api/v1/audit` pages and filters the tenant's chain (scope `audit:read`) and the
//! operators' `_system` chain (scope `audit:system`); `exportctl audit export` writes the chain
//! as JSON lines and `exportctl audit verify` accepts it, and refuses it once an entry is
//! altered or removed. No entry carries a token.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use ec_tests::serve::{SECRET, Server, TENANT};
use ec_tests::{exportctl_bin, fixtures};

const UA: &str = "audit-test/1.0";

fn token(tenant: &str, scopes: &str) -> String {
    ec_api::auth::mint(SECRET.as_bytes(), "alice@acme", tenant, scopes, 600).unwrap()
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        tenant: &str,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Tenant-Id", tenant)
            .header("User-Agent", UA);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let text = resp.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// Waits until the export is ready (failing the test if it fails or takes a minute).
    async fn wait_ready(&self, token: &str, export_id: &str) {
        let started = Instant::now();
        loop {
            let path = format!("/api/v1/exports/{export_id}");
            let (_, _, j) = self
                .call(Method::GET, &path, Some(token), TENANT, None)
                .await;
            if j["status"] == "ready" {
                return;
            }
            assert!(j["status"] != "failed", "{j}");
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "not ready: {j}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every entry of a chain, paging with a small limit.
    async fn chain(&self, token: &str, extra: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/api/v1/audit?limit=3{extra}{cursor}");
            let (status, _, page) = self
                .call(Method::GET, &path, Some(token), TENANT, None)
                .await;
            assert_eq!(status, 200, "{page}");
            let items = page["items"].as_array().unwrap().clone();
            assert!(items.len() <= 3);
            out.extend(items);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => return out,
            }
        }
    }
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_records_verifies_and_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let api = Api {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: server.base_url.clone(),
    };
    let writer = token(TENANT, "export:read export:write scan:write");
    let auditor = token(TENANT, "audit:read");
    let operator = token(TENANT, "audit:read audit:system");

    // Changes: ingest, create (with a trace id of our own), download both artifacts, a
    // cancelled export, a schedule created and deleted.
    let scan = std::fs::read(&fixtures("trivy")[0]).unwrap();
    let (s, h, receipt) = api
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&writer),
            TENANT,
            Some(scan),
        )
        .await;
    assert_eq!(s, 201, "{receipt}");
    let scan_id = receipt["scan_id"].as_str().unwrap().to_string();
    assert_eq!(h["location"], format!("/api/v1/scans/{scan_id}").as_str());
    let request =
        json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan_id]}});
    let resp = api
        .http
        .post(format!("{}/api/v1/exports", api.base))
        .bearer_auth(&writer)
        .header("X-Tenant-Id", TENANT)
        .header("X-Request-Id", "trace-audit-create-1")
        .header("User-Agent", UA)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let job: Value = resp.json().await.unwrap();
    let export_id = job["export_id"].as_str().unwrap().to_string();
    api.wait_ready(&writer, &export_id).await;
    for artifact in ["report", "sealed"] {
        let path = format!("/api/v1/exports/{export_id}/download?artifact={artifact}");
        let (s, _, _) = api
            .call(Method::GET, &path, Some(&writer), TENANT, None)
            .await;
        assert_eq!(s, 302);
    }
    let (s, _, other) = api
        .call(
            Method::POST,
            "/api/v1/exports",
            Some(&writer),
            TENANT,
            Some(request.to_string().into_bytes()),
        )
        .await;
    assert_eq!(s, 202);
    let other_id = other["export_id"].as_str().unwrap();
    api.call(
        Method::DELETE,
        &format!("/api/v1/exports/{other_id}"),
        Some(&writer),
        TENANT,
        None,
    )
    .await;
    let schedule = json!({"cron": "0 2 * * *", "timezone": "UTC", "request": request});
    let (s, _, sched) = api
        .call(
            Method::POST,
            "/api/v1/schedules",
            Some(&writer),
            TENANT,
            Some(schedule.to_string().into_bytes()),
        )
        .await;
    assert_eq!(s, 201, "{sched}");
    let sched_path = format!(
        "/api/v1/schedules/{}",
        sched["schedule_id"].as_str().unwrap()
    );
    api.call(Method::DELETE, &sched_path, Some(&writer), TENANT, None)
        .await;
    // Refusals: a missing scope (the tenant's chain); no token, a bad token, another
    // tenant's header (the operators' chain).
    let (s, _, _) = api
        .call(
            Method::POST,
            "/api/v1/exports",
            Some(&auditor),
            TENANT,
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _, _) = api
        .call(Method::GET, "/api/v1/exports", None, TENANT, None)
        .await;
    assert_eq!(s, 401);
    let (s, _, _) = api
        .call(
            Method::GET,
            "/api/v1/exports",
            Some("not.a.token"),
            TENANT,
            None,
        )
        .await;
    assert_eq!(s, 401);
    let (s, _, _) = api
        .call(
            Method::GET,
            "/api/v1/exports",
            Some(&writer),
            "globex",
            None,
        )
        .await;
    assert_eq!(s, 403);
    // Reading the trail needs audit:read (and that refusal is itself recorded).
    let (s, _, _) = api
        .call(Method::GET, "/api/v1/audit", Some(&writer), TENANT, None)
        .await;
    assert_eq!(s, 403);

    // Wait for the seal's entry (the seal stage appends it after the job is ready).
    let entries = api.chain(&auditor, "").await;
    let acts = actions(&entries);
    for expected in [
        "scan.ingest",
        "export.create",
        "export.sealed",
        "export.download",
        "export.cancel",
        "schedule.create",
        "schedule.delete",
        "auth.denied",
    ] {
        assert!(acts.contains(&expected), "{expected} missing from {acts:?}");
    }
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=entries.len() as u64).collect::<Vec<_>>());
    let create = entries
        .iter()
        .find(|e| e["action"] == "export.create" && e["trace_id"] == "trace-audit-create-1")
        .expect("the create carries the request's trace id");
    assert_eq!(create["subject"], "alice@acme");
    assert_eq!(
        create["resource"],
        format!("/api/v1/exports/{export_id}").as_str()
    );
    assert_eq!(
        (create["status"].as_u64(), &create["outcome"]),
        (Some(202), &json!("success"))
    );
    assert_eq!(create["source_ip"], "127.0.0.1");
    assert_eq!(create["user_agent"], UA);
    assert_eq!(create["tenant_id"], TENANT);
    let downloads: Vec<&str> = entries
        .iter()
        .filter(|e| e["action"] == "export.download")
        .filter_map(|e| e["resource"].as_str())
        .collect();
    assert_eq!(
        downloads,
        [
            format!("/api/v1/exports/{export_id}/download?artifact=report"),
            format!("/api/v1/exports/{export_id}/download?artifact=sealed")
        ]
    );
    let sealed = entries
        .iter()
        .find(|e| e["action"] == "export.sealed")
        .unwrap();
    assert_eq!(sealed["subject"], "exportcenter:seal");
    let denied: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "auth.denied")
        .collect();
    assert_eq!(denied.len(), 2, "the missing scopes: {denied:?}");
    assert!(
        denied
            .iter()
            .all(|e| e["outcome"] == "denied" && e["status"] == 403)
    );

    // Filters.
    let only = api.chain(&auditor, "&action=export.download").await;
    assert_eq!(actions(&only), ["export.download", "export.download"]);
    let (s, _, e) = api
        .call(
            Method::GET,
            "/api/v1/audit?action=export.explode",
            Some(&auditor),
            TENANT,
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), &e["code"]),
        (422, &json!("ERR_EXPORT_VALIDATION")),
        "{e}"
    );
    let future = api.chain(&auditor, "&from=2999-01-01T00:00:00Z").await;
    assert!(future.is_empty());

    // The operators' chain: the untrusted refusals; only with audit:system.
    let (s, _, _) = api
        .call(
            Method::GET,
            "/api/v1/audit?chain=_system",
            Some(&auditor),
            TENANT,
            None,
        )
        .await;
    assert_eq!(s, 403);
    let system = api.chain(&operator, "&chain=_system").await;
    assert_eq!(system.len(), 3, "{system:?}");
    assert!(
        system
            .iter()
            .all(|e| e["tenant_id"] == "_system" && e["subject"] == "anonymous")
    );
    assert_eq!(
        system
            .iter()
            .map(|e| e["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [401, 401, 403]
    );

    // Nothing secret in any entry.
    let everything = serde_json::to_string(&[entries.clone(), system]).unwrap();
    for secret in [
        writer.as_str(),
        auditor.as_str(),
        operator.as_str(),
        SECRET,
        "X-Amz-Signature",
        "sig=",
    ] {
        assert!(!everything.contains(secret), "{secret} in the audit trail");
    }

    // exportctl audit export | verify; then tampering is caught.
    let file = dir.path().join("audit.jsonl");
    let out = Command::new(exportctl_bin())
        .args([
            "audit", "export", "--url", &api.base, "--tenant", TENANT, "--output",
        ])
        .arg(&file)
        .env("EXPORTCENTER_TOKEN", &auditor)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = |path: &std::path::Path| {
        Command::new(exportctl_bin())
            .args(["audit", "verify", "--json"])
            .arg(path)
            .output()
            .unwrap()
    };
    let ok = verify(&file);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    // One more than listed above: the refused `?chain=_system` read came after.
    assert_eq!(
        report["entries"].as_u64(),
        Some(entries.len() as u64 + 1),
        "{report}"
    );
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let tampered = dir.path().join("tampered.jsonl");
    let mut edited = lines.clone();
    edited[1] = edited[1].replace("alice@acme", "mallory@acme");
    std::fs::write(&tampered, edited.join("\n")).unwrap();
    let bad = verify(&tampered);
    assert!(!bad.status.success());
    let why: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(why["seq"], 3, "{why}");
    let mut removed = lines.clone();
    removed.remove(2);
    std::fs::write(&tampered, removed.join("\n")).unwrap();
    assert!(!verify(&tampered).status.success());

    // An audit-evidence export carries the trail up to its creation: printed in the PDF,
    // and as evidence/audit-trail.jsonl in the sealed bundle, which verifies.
    let audit_request =
        json!({"type": "audit_bundle", "format": "pdf", "scope": {"scan_ids": [scan_id]}});
    let (s, _, job) = api
        .call(
            Method::POST,
            "/api/v1/exports",
            Some(&writer),
            TENANT,
            Some(audit_request.to_string().into_bytes()),
        )
        .await;
    assert_eq!(s, 202, "{job}");
    let audit_id = job["export_id"].as_str().unwrap().to_string();
    api.wait_ready(&writer, &audit_id).await;
    let client = exportctl::client::Client::new(&api.base, &writer, TENANT).unwrap();
    let pdf = client.download(&audit_id, "report").await.unwrap();
    let pdf_path = dir.path().join("audit.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let text = Command::new("pdftotext")
        .arg(&pdf_path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains("Audit trail"), "{text}");
    assert!(text.contains("export.download"), "{text}");
    assert!(
        text.contains(&format!("Chain {TENANT} verified from entry 1")),
        "{text}"
    );
    let bundle = client.download(&audit_id, "sealed").await.unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bundle[..]));
    let mut trail = None;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry
            .path()
            .unwrap()
            .ends_with("evidence/audit-trail.jsonl")
        {
            let mut body = String::new();
            std::io::Read::read_to_string(&mut entry, &mut body).unwrap();
            trail = Some(body);
        }
    }
    let trail = trail.expect("the bundle holds evidence/audit-trail.jsonl");
    let trail_path = dir.path().join("bundle-trail.jsonl");
    std::fs::write(&trail_path, &trail).unwrap();
    let ok = verify(&trail_path);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let last: Value = serde_json::from_str(trail.lines().last().unwrap()).unwrap();
    assert!(
        last["at"].as_str().unwrap()
            <= job["created_at"]
                .as_str()
                .unwrap()
                .replace('Z', ".999Z")
                .as_str(),
        "entries up to the export's creation only: {last} vs {job}"
    );
    server.kill();
}
