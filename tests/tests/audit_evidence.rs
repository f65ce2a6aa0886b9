//! Issue 13, defect 8: the audit-evidence report names what an auditor can check. Each
//! input by its original file name (offline: the path's base name; API: the `filename` of
//! `Content-Disposition` on ingest), its size and the sha256 of its bytes as received; the
//! tool and its version; the policy's thresholds; and no sealed-bundle manifest for an
//! offline render, which is never sealed.

use serde_json::{Value, json};
use time::macros::datetime;

use ec_domain::{BuiltinTemplate, ExportType, Format, TemplateName};
use ec_pipeline::offline::{InputDocument, OfflineRequest, render_documents};
use ec_tests::{embedded, repo_root};

/// The PDF's text without whitespace: long lines and table cells break anywhere.
fn pdf_text(pdf: &[u8]) -> String {
    ec_tests::pdf_text(pdf).split_whitespace().collect()
}

const TRIVY: &str = "tests/fixtures/real/trivy/trivy-golden_alpine-310.json";
const OPENVEX: &str = "tests/fixtures/real/openvex/go-vex_v0.2.0.json";

#[test]
fn an_offline_audit_report_names_files_sizes_digests_tool_and_policy() {
    let docs: Vec<InputDocument> = [TRIVY, OPENVEX]
        .iter()
        .map(|p| InputDocument {
            name: std::path::Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            bytes: std::fs::read(repo_root().join(p)).unwrap(),
        })
        .collect();
    let mut req = OfflineRequest::new(
        ExportType::ScanReport,
        Format::Pdf,
        datetime!(2025-01-01 00:00:00 UTC),
    );
    req.template = Some(TemplateName::Builtin(BuiltinTemplate::AuditEvidence));
    let text = pdf_text(&render_documents(&docs, &req).unwrap());
    for d in &docs {
        let name = d.name.as_deref().unwrap();
        assert!(text.contains(name), "{name} not named");
        assert!(text.contains(&d.bytes.len().to_string()), "size of {name}");
        let sha = ec_domain::ids::sha256_hex(&d.bytes);
        assert!(text.contains(&sha), "sha256 of {name}'s bytes");
    }
    assert!(text.contains(&format!("ExportCenter{}", env!("CARGO_PKG_VERSION"))));
    assert!(text.contains("failathighorworse"), "policy thresholds");
    assert!(
        text.contains("isnotsealed"),
        "an offline render says it is not sealed"
    );
    assert!(
        !text.contains("manifest.dsse.json"),
        "no manifest that will never exist"
    );
}

const SECRET: &str = "audit-evidence-test-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_uploaded_file_name_reaches_the_audit_report() {
    let dir = tempfile::tempdir().unwrap();
    let scopes = "export:read export:write scan:write";
    let (stack, client) = embedded::start(dir.path(), SECRET, "acme", scopes).await;
    let token = ec_api::auth::mint(SECRET.as_bytes(), "alice", "acme", scopes, 3600).unwrap();
    let bytes = std::fs::read(repo_root().join(TRIVY)).unwrap();
    let receipt: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/scans", stack.base_url))
        .bearer_auth(&token)
        .header("X-Tenant-Id", "acme")
        .header("Content-Type", "application/json")
        .header(
            "Content-Disposition",
            "attachment; filename=\"alpine scan.json\"; filename*=UTF-8''alpine%20scan%E2%80%942021.json",
        )
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scan_id = receipt["scan_id"].as_str().unwrap().to_string();

    let req = json!({"type": "audit_bundle", "format": "pdf", "scope": {"scan_ids": [scan_id]}});
    let text = pdf_text(&embedded::export_report(&client, &req).await);
    assert!(text.contains("alpinescan—2021.json"), "the filename* name");
    assert!(text.contains(&ec_domain::ids::sha256_hex(&bytes)));
    assert!(text.contains(&bytes.len().to_string()));
    // A server export is sealed: the manifest is listed.
    assert!(text.contains("manifest.dsse.json"));
    stack.shutdown().await;
}
