//! End to end through the real binary: `exportctl serve` on an ephemeral port, every real
//! Trivy and Grype fixture ingested over HTTP, JSON and CSV exports, readiness over a real
//! WebSocket client, downloads through presigned URLs, and restart/crash recovery.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use ec_tests::fixtures;
use ec_tests::serve::{SECRET, Server, TENANT};
use exportctl::client::Client;

const SCOPES: &str = "export:read export:write scan:write";

/// (vulnerability id, package, severity) of every finding, read straight from the raw
/// scanner document, independently of the ingest code.
fn raw_triples(doc: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    if let Some(matches) = doc.get("matches").and_then(Value::as_array) {
        for m in matches {
            out.insert((
                s(&m["vulnerability"]["id"]),
                s(&m["artifact"]["name"]),
                s(&m["vulnerability"]["severity"]).to_lowercase(),
            ));
        }
    } else {
        let results = doc
            .get("Results")
            .unwrap_or(doc)
            .as_array()
            .cloned()
            .unwrap_or_default();
        for r in results {
            for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
                out.insert((
                    s(&v["VulnerabilityID"]),
                    s(&v["PkgName"]),
                    s(&v["Severity"]).to_lowercase(),
                ));
            }
        }
    }
    out
}

fn raw_count(doc: &Value) -> usize {
    match doc.get("matches").and_then(Value::as_array) {
        Some(m) => m.len(),
        None => doc
            .get("Results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| r["Vulnerabilities"].as_array().map_or(0, Vec::len))
            .sum(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_exports_as_json_and_csv_through_serve() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let client = server.client(SCOPES);

    let mut scan_ids = Vec::new();
    let mut expected = BTreeSet::new();
    let mut total = 0;
    for path in fixtures("trivy").into_iter().chain(fixtures("grype")) {
        let bytes = std::fs::read(&path).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let receipt = client
            .ingest(bytes)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(receipt.findings, raw_count(&doc), "{}", path.display());
        total += receipt.findings;
        expected.extend(raw_triples(&doc));
        scan_ids.push(receipt.scan_id);
    }
    assert_eq!(scan_ids.len(), 10, "7 Trivy and 3 Grype fixtures");

    let mut events = client.events().await.unwrap();
    let mut ids = Vec::new();
    for format in ["json", "csv"] {
        let req = serde_json::json!({"type": "scan_report", "format": format,
            "scope": {"scan_ids": scan_ids}, "options": {"include_evidence": true}});
        let job = client.create_export(&req, None).await.unwrap();
        assert_eq!(job.status.as_str(), "queued");
        ids.push(job.export_id.to_string());
    }
    let finals = events
        .wait_all(&ids, Duration::from_secs(120), |_| {})
        .await
        .unwrap();
    for id in &ids {
        assert_eq!(finals[id]["type"], "export.ready", "{id}: {}", finals[id]);
        assert_eq!(finals[id]["tenant_id"], TENANT);
        assert_eq!(finals[id]["artifacts"].as_array().map(Vec::len), Some(2));
    }

    // JSON: every (id, package, severity) of the input is in the output.
    let json = client.download(&ids[0], "report").await.unwrap();
    let report: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(report["summary"]["findings"].as_u64(), Some(total as u64));
    let got: BTreeSet<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["vulnerability_id"].as_str().unwrap().to_string(),
                f["package"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "missing from the JSON report: {missing:?}"
    );

    // CSV: one row per finding, and the same triples.
    let csv_bytes = client.download(&ids[1], "report").await.unwrap();
    let mut rdr = csv::Reader::from_reader(csv_bytes.as_ref());
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (vid, pkg, sev) = (col("vulnerability_id"), col("package"), col("severity"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), total, "CSV rows equal findings");
    let csv_triples: BTreeSet<_> = rows
        .iter()
        .map(|r| (r[vid].to_string(), r[pkg].to_string(), r[sev].to_string()))
        .collect();
    assert_eq!(csv_triples, got);

    // The sealed bundle verifies offline and seals exactly the downloaded report.
    for (id, name) in ids.iter().zip(["report.json", "report.csv"]) {
        let bundle = client.download(id, "sealed").await.unwrap();
        let v = ec_seal::verify(&bundle).unwrap_or_else(|e| panic!("{id}: {e}"));
        let report = client.download(id, "report").await.unwrap();
        let listed = v.manifest.files.iter().find(|f| f.path == name).unwrap();
        assert_eq!(listed.sha256, ec_domain::ids::sha256_hex(&report));
        assert!(
            v.manifest
                .files
                .iter()
                .any(|f| f.path.ends_with("/scan.json")),
            "evidence included"
        );
    }
    server.kill();
}

async fn wait_ready(client: &Client, id: &str) -> ec_domain::Job {
    let mut job = client.get_export(id).await.unwrap();
    for _ in 0..300 {
        if job.status.is_terminal() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        job = client.get_export(id).await.unwrap();
    }
    panic!("{id} did not finish: {job:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_survive_restarts_and_a_killed_worker_completes() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::fs::read(&fixtures("trivy")[0]).unwrap();
    let req = |scan_id: &str| serde_json::json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan_id]}});

    // Run 1: one export completes normally; then the process is killed.
    let server = Server::start(dir.path(), &[]);
    let client = server.client(SCOPES);
    let scan_id = client.ingest(fixture.clone()).await.unwrap().scan_id;
    let first = client
        .create_export(&req(&scan_id), None)
        .await
        .unwrap()
        .export_id;
    assert_eq!(wait_ready(&client, &first).await.status.as_str(), "ready");
    server.kill();

    // Run 2, for each stage: the worker dies right after the job enters it.
    let mut crashed = Vec::new();
    for stage in ["gathering", "rendering", "storing", "sealing"] {
        let mut server = Server::start(dir.path(), &[("EXPORTCENTER_CRASH_AT", stage)]);
        let client = server.client(SCOPES);
        // The worker may abort before the API's response is flushed; the
        // idempotency key lets run 3 recover the id of the job it created.
        let key = format!("crash-{stage}");
        let id = client
            .create_export(&req(&scan_id), Some(&key))
            .await
            .ok()
            .map(|job| job.export_id);
        let status = tokio::task::spawn_blocking(move || {
            let s = server.child.wait();
            drop(server);
            s
        })
        .await
        .unwrap()
        .unwrap();
        assert!(!status.success(), "the worker should have died in {stage}");
        crashed.push((stage, key, id));
    }

    // Run 3: every job is still there, and each interrupted one completes.
    let server = Server::start(dir.path(), &[]);
    let client = server.client(SCOPES);
    let mut recovered = Vec::new();
    for (stage, key, id) in crashed {
        // Replaying the key returns the existing job, never a second one.
        let replay = client
            .create_export(&req(&scan_id), Some(&key))
            .await
            .unwrap()
            .export_id;
        if let Some(id) = id {
            assert_eq!(replay, id, "{stage}: replay returned another job");
        }
        recovered.push((stage, replay));
    }
    let crashed = recovered;
    let job = client.get_export(&first).await.unwrap();
    assert_eq!(job.status.as_str(), "ready", "the finished job survived");
    for (stage, id) in &crashed {
        let job = wait_ready(&client, id).await;
        assert_eq!(
            job.status.as_str(),
            "ready",
            "job killed in {stage}: {:?}",
            job.error
        );
        let bundle = client.download(id, "sealed").await.unwrap();
        ec_seal::verify(&bundle).unwrap_or_else(|e| panic!("{stage}: {e}"));
    }
    let list = reqwest::Client::new()
        .get(format!("{}/api/v1/exports?limit=200", server.base_url))
        .bearer_auth(ec_api::auth::mint(SECRET.as_bytes(), "e2e", TENANT, SCOPES, 600).unwrap())
        .header("X-Tenant-Id", TENANT)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1 + crashed.len())
    );
    server.kill();
}
