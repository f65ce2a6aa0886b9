//! The standard formats through the embedded stack: every CycloneDX, SPDX, OpenVEX and CSAF
//! fixture is accepted by `POST /api/v1/scans` with a receipt that matches the document, the
//! scans read from SBOMs export as a schema-valid JSON report, and VEX ingested next to a
//! scan reaches the exported JSON: the finding it is about is shown suppressed with the
//! statement's status and justification, not dropped; a later conflicting statement wins and
//! is flagged.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use ec_domain::keys;
use ec_domain::scan::VexStatement;
use ec_pipeline::app::IngestReceipt;
use ec_tests::{fixtures, repo_root};
use exportctl::client::Client;
use exportctl::stack::{Stack, StackConfig};

const SECRET: &str = "ingest-formats-test-secret-0123456789";
const TENANT: &str = "acme";
const SCOPES: &str = "export:read export:write scan:write";

async fn start(dir: &Path) -> (Stack, Client) {
    let env = [("EXPORTCENTER_JWT_SECRET", SECRET)];
    let cfg =
        StackConfig::from_env(&env, "127.0.0.1:0".parse().unwrap(), dir.join("data")).unwrap();
    let stack = Stack::start(cfg, &env).await.unwrap();
    let token = ec_api::auth::mint(SECRET.as_bytes(), "alice", TENANT, SCOPES, 3600).unwrap();
    let client = Client::new(&stack.base_url, &token, TENANT).unwrap();
    (stack, client)
}

fn real(kind: &str, file: &str) -> Vec<u8> {
    let path = repo_root()
        .join("tests/fixtures/real")
        .join(kind)
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The VEX statements stored under the receipt's document.
async fn stored_vex(stack: &Stack, id: &str) -> Vec<VexStatement> {
    let bytes = stack
        .pipeline
        .app
        .scans
        .objects
        .get(&keys::vex(&TENANT.parse().unwrap(), &id.parse().unwrap()))
        .await
        .unwrap_or_else(|e| panic!("VEX object of {id}: {e}"));
    let stored: ec_domain::vex::StoredVex = serde_json::from_slice(&bytes).unwrap();
    stored.into_document(id).statements
}

/// Exports the scans as JSON (with their components when `include_sbom`) and returns the
/// report once ready.
async fn export_json(client: &Client, scan_ids: &[&str], include_sbom: bool) -> Value {
    let mut events = client.events().await.unwrap();
    let req = json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": scan_ids},
        "options": {"include_sbom": include_sbom}});
    let job = client.create_export(&req, None).await.unwrap();
    let id = job.export_id.to_string();
    let finals = events
        .wait_all(std::slice::from_ref(&id), Duration::from_secs(120), |_| {})
        .await
        .unwrap();
    assert_eq!(finals[&id]["type"], "export.ready", "{}", finals[&id]);
    let bytes = client.download(&job.export_id, "report").await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The one finding of the report with this id and package.
fn finding<'a>(report: &'a Value, id: &str, package: &str) -> &'a Value {
    let mut found = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["vulnerability_id"] == id && f["package"] == package);
    let f = found
        .next()
        .unwrap_or_else(|| panic!("no finding {id} in {package}"));
    assert!(found.next().is_none(), "{id} in {package} twice");
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_standard_fixture_is_ingested_with_a_matching_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, client) = start(dir.path()).await;

    let mut seen = 0;
    let mut scans: Vec<IngestReceipt> = Vec::new();
    for kind in ["cyclonedx", "spdx", "openvex", "csaf"] {
        for path in fixtures(kind) {
            let bytes = std::fs::read(&path).unwrap();
            let what = path.display().to_string();
            // What the document holds, read in-process: the receipt must say the same.
            let local =
                ec_ingest::parse_document(&bytes, &TENANT.parse().unwrap(), ec_domain::time::now())
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            let receipt: IngestReceipt = client
                .ingest(bytes.clone())
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(receipt.source_format, local.source_format, "{what}");
            assert_eq!(receipt.vex_statements, local.vex.len(), "{what}");
            match &local.scan {
                Some(scan) => {
                    assert_eq!(receipt.scan_id, scan.scan_id, "{what}");
                    assert!(receipt.scan_id.starts_with("scan-"), "{what}");
                    assert_eq!(receipt.findings, scan.findings.len(), "{what}");
                    assert_eq!(receipt.components, scan.components.len(), "{what}");
                    assert_eq!(receipt.artifact_digest, scan.artifact.digest, "{what}");
                    assert!(receipt.components > 0, "{what}");
                }
                None => {
                    assert_eq!(
                        receipt.scan_id,
                        ec_domain::ScanId::of_vex(&TENANT.parse().unwrap(), &bytes),
                        "{what}"
                    );
                    assert!(receipt.scan_id.starts_with("vex-"), "{what}");
                    assert_eq!(
                        (
                            receipt.findings,
                            receipt.components,
                            receipt.artifact_digest.clone()
                        ),
                        (0, 0, None),
                        "{what}"
                    );
                    assert!(receipt.vex_statements > 0, "{what}");
                }
            }
            if receipt.vex_statements > 0 {
                let id = ec_domain::ids::vex_id_for(TENANT, &bytes);
                assert_eq!(stored_vex(&stack, &id).await, local.vex, "{what}");
            }
            // Ingesting the same bytes again is idempotent.
            let again = client.ingest(bytes).await.unwrap();
            assert_eq!(again, receipt, "{what}");
            if local.scan.is_some() {
                scans.push(receipt);
            }
            seen += 1;
        }
    }
    assert_eq!(
        seen, 9,
        "4 CycloneDX, 2 SPDX, 2 OpenVEX and 1 CSAF fixtures"
    );

    // The stored VEX documents are what every export of the tenant reads.
    let stored = stack
        .pipeline
        .app
        .scans
        .objects
        .list(&keys::vex_prefix(&TENANT.parse().unwrap()))
        .await
        .unwrap();
    // Both OpenVEX, the CSAF, both CycloneDX VEX BOMs and the spec BOM's own analysis.
    assert_eq!(stored.len(), 6);

    // The scans from SBOMs export as a JSON report that conforms to its schema.
    assert_eq!(scans.len(), 4, "2 CycloneDX scans and 2 SPDX");
    let ids: Vec<&str> = scans.iter().map(|r| r.scan_id.as_str()).collect();
    let report = export_json(&client, &ids, true).await;
    let total = |f: fn(&IngestReceipt) -> usize| scans.iter().map(f).sum::<usize>() as u64;
    assert_eq!(
        report["summary"]["findings"].as_u64(),
        Some(total(|r| r.findings))
    );
    assert_eq!(
        report["summary"]["components"].as_u64(),
        Some(total(|r| r.components))
    );
    let file = dir.path().join("report.json");
    std::fs::write(&file, serde_json::to_vec(&report).unwrap()).unwrap();
    let out = std::process::Command::new(ec_tests::python())
        .arg(repo_root().join("tests/python/validate_json.py"))
        .arg(repo_root().join("schemas/export-report-v1.schema.json"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    stack.shutdown().await;
}

/// The real Trivy OpenVEX example, pointed at a vulnerability the real Ubuntu 18.04 Trivy
/// report holds (no vendored VEX fixture names a vulnerability of a vendored scan).
fn openvex_for_ubuntu_bash(status: &str, timestamp: Option<&str>) -> Vec<u8> {
    let mut doc: Value =
        serde_json::from_slice(&real("openvex", "trivy-testdata_openvex-oci.json")).unwrap();
    let st = &mut doc["statements"][0];
    st["vulnerability"]["name"] = json!("CVE-2019-18276");
    st["products"][0]["@id"] = json!("pkg:oci/ubuntu");
    st["products"][0]["subcomponents"][0]["@id"] = json!("pkg:deb/ubuntu/bash");
    st["status"] = json!(status);
    if status != "not_affected" {
        st.as_object_mut().unwrap().remove("justification");
        st["action_statement"] = json!("upgrade bash");
    }
    if let Some(t) = timestamp {
        st["timestamp"] = json!(t);
    }
    serde_json::to_vec_pretty(&doc).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vex_suppresses_findings_in_the_exported_report() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, client) = start(dir.path()).await;

    // 1. A Trivy scan, then an OpenVEX document about one of its findings.
    let scan = client
        .ingest(real("trivy", "trivy-golden_ubuntu-1804.json"))
        .await
        .unwrap();
    assert_eq!(scan.vex_statements, 0);
    let vex = client
        .ingest(openvex_for_ubuntu_bash("not_affected", None))
        .await
        .unwrap();
    assert_eq!(vex.source_format, "openvex-0.2.0");
    assert!(vex.scan_id.starts_with("vex-"));
    assert_eq!(vex.vex_statements, 1);

    let report = export_json(&client, &[&scan.scan_id], false).await;
    assert_eq!(
        report["summary"]["findings"].as_u64(),
        Some(scan.findings as u64),
        "no finding is dropped"
    );
    assert_eq!(report["summary"]["suppressed"].as_u64(), Some(1));
    assert_eq!(report["summary"]["vex_statements"].as_u64(), Some(1));
    let bash = finding(&report, "CVE-2019-18276", "bash");
    assert_eq!(bash["suppressed"], true);
    assert_eq!(bash["vex"]["status"], "not_affected");
    assert_eq!(
        bash["vex"]["justification"],
        "vulnerable_code_not_in_execute_path"
    );
    assert_eq!(bash["vex"]["conflict"], false);
    assert_eq!(bash["verdict"]["decision"], "pass");
    assert_eq!(bash["verdict"]["reason"], "VEX status not_affected");
    for f in report["findings"].as_array().unwrap() {
        if f["vulnerability_id"] != "CVE-2019-18276" {
            assert_eq!(f["suppressed"], false, "{}", f["vulnerability_id"]);
            assert!(f["vex"].is_null());
        }
    }

    // 2. A later statement saying the opposite wins, and the conflict is flagged.
    let later = client
        .ingest(openvex_for_ubuntu_bash(
            "affected",
            Some("2024-05-01T00:00:00Z"),
        ))
        .await
        .unwrap();
    assert_ne!(later.scan_id, vex.scan_id);
    let report = export_json(&client, &[&scan.scan_id], false).await;
    let bash = finding(&report, "CVE-2019-18276", "bash");
    assert_eq!(bash["suppressed"], false);
    assert_eq!(bash["vex"]["status"], "affected");
    assert_eq!(bash["vex"]["conflict"], true);
    assert_eq!(report["summary"]["suppressed"].as_u64(), Some(0));
    assert_eq!(report["summary"]["vex_statements"].as_u64(), Some(2));

    // 3. A CycloneDX BOM with its own analysis: its finding is suppressed by it.
    let bom = client
        .ingest(real("cyclonedx", "cdx-spec_valid-vulnerability-1.6.json"))
        .await
        .unwrap();
    assert_eq!(bom.source_format, "cyclonedx-json-1.6");
    assert_eq!(
        (bom.findings, bom.components, bom.vex_statements),
        (1, 1, 1)
    );
    let report = export_json(&client, &[&bom.scan_id], false).await;
    let f = finding(
        &report,
        "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111",
        "jackson-databind",
    );
    assert_eq!(f["suppressed"], true);
    assert_eq!(f["vex"]["status"], "not_affected");
    assert_eq!(f["vex"]["justification"], "code_not_reachable");
    assert_eq!(
        f["vex"]["source"],
        "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    );
    assert_eq!(f["severity"], "critical");
    stack.shutdown().await;
}
