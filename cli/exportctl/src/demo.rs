//! `exportctl demo`: the whole product in one command. Starts the embedded stack, ingests
//! bundled real scanner reports, exports every available format, waits for readiness over
//! the WebSocket, verifies every sealed bundle, and prints what it made.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use ec_domain::{ExportType, Format, TemplateName};
use ec_pipeline::settings::ProcessEnv;

use crate::client::Client;
use crate::stack::{Stack, StackConfig};

/// Real scanner output shipped with the binary (see `tests/fixtures/real/MANIFEST.tsv`).
pub const SAMPLES: &[(&str, &[u8])] = &[
    (
        "trivy-golden_alpine-310.json",
        include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_alpine-310.json"),
    ),
    (
        "trivy-golden_ubuntu-1804.json",
        include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_ubuntu-1804.json"),
    ),
    (
        "trivy-golden_debian-stretch_2021-10-04.json",
        include_bytes!(
            "../../../tests/fixtures/real/trivy/trivy-golden_debian-stretch_2021-10-04.json"
        ),
    ),
    (
        "grype-explain_keycloak-test.json",
        include_bytes!("../../../tests/fixtures/real/grype/grype-explain_keycloak-test.json"),
    ),
    (
        "defectdojo_grype_many_vulns_with_epss_values.json",
        include_bytes!(
            "../../../tests/fixtures/real/grype/defectdojo_grype_many_vulns_with_epss_values.json"
        ),
    ),
];

pub const DEMO_TENANT: &str = "demo";
pub const ALL_SCOPES: &str = "export:read export:write scan:write template:write";

#[derive(Debug, Serialize)]
pub struct DemoRow {
    pub format: String,
    pub export_id: String,
    pub findings: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub path: String,
    pub bundle: String,
}

/// The formats this build renders, in the contract's order.
pub fn available_formats() -> Vec<Format> {
    Format::ALL
        .iter()
        .copied()
        .filter(|f| {
            let template = TemplateName::Builtin(ExportType::ScanReport.default_template(*f));
            ec_render::supports(ExportType::ScanReport, *f, &template)
        })
        .collect()
}

pub async fn run(out: PathBuf) -> anyhow::Result<Vec<DemoRow>> {
    let data_dir = out.join("data");
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)
            .with_context(|| format!("clearing {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    let cfg = StackConfig::from_env(&ProcessEnv, "127.0.0.1:0".parse()?, data_dir)?;
    let stack = Stack::start(cfg, &ProcessEnv).await?;
    let result = exercise(&stack, &out).await;
    stack.shutdown().await;
    result
}

async fn exercise(stack: &Stack, out: &std::path::Path) -> anyhow::Result<Vec<DemoRow>> {
    let token = stack.mint("demo-user", DEMO_TENANT, ALL_SCOPES, 3600)?;
    let client = Client::new(&stack.base_url, &token, DEMO_TENANT)?;

    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>10} {bar:30} {pos:>3}% {msg}")?;
    let mut scan_ids = Vec::new();
    let mut findings = 0;
    let ingest = bars.add(ProgressBar::new(SAMPLES.len() as u64).with_prefix("ingest"));
    ingest.set_style(ProgressStyle::with_template(
        "{prefix:>10} {bar:30} {pos}/{len} {msg}",
    )?);
    for (name, bytes) in SAMPLES {
        ingest.set_message(name.to_string());
        let r = client
            .ingest(bytes.to_vec())
            .await
            .with_context(|| format!("ingesting {name}"))?;
        findings += r.findings;
        scan_ids.push(r.scan_id);
        ingest.inc(1);
    }
    ingest.finish_with_message(format!("{} scans, {findings} findings", scan_ids.len()));

    let mut events = client.events().await?;
    let formats = available_formats();
    let mut started = Vec::new();
    let mut progress = std::collections::HashMap::new();
    for f in &formats {
        let req = serde_json::json!({
            "type": "scan_report", "format": f.as_str(),
            "scope": { "scan_ids": scan_ids },
            "options": { "include_sbom": true, "include_evidence": true }
        });
        let t0 = Instant::now();
        let job = client.create_export(&req, None).await?;
        let bar = bars.add(ProgressBar::new(100).with_prefix(f.as_str()));
        bar.set_style(style.clone());
        progress.insert(job.export_id.to_string(), bar);
        started.push((*f, job.export_id.to_string(), t0));
    }
    let ids: Vec<String> = started.iter().map(|(_, id, _)| id.clone()).collect();
    let mut ready_at = std::collections::HashMap::new();
    let finals = events
        .wait_all(&ids, Duration::from_secs(300), |e| {
            let id = e["export_id"].as_str().unwrap_or_default();
            if let Some(bar) = progress.get(id) {
                bar.set_position(e["progress"].as_u64().unwrap_or(0));
                bar.set_message(
                    e["stage"]
                        .as_str()
                        .or(e["status"].as_str())
                        .unwrap_or("")
                        .to_string(),
                );
                if e["type"] == "export.ready" || e["type"] == "export.failed" {
                    ready_at.insert(id.to_string(), Instant::now());
                    bar.finish();
                }
            }
        })
        .await?;

    let mut rows = Vec::new();
    for (format, id, t0) in started {
        let msg = &finals[&id];
        if msg["type"] != "export.ready" {
            bail!("{format} export {id} failed: {}", msg["error"]);
        }
        let seconds = ready_at
            .get(&id)
            .map_or(0.0, |t| t.duration_since(t0).as_secs_f64());
        let report = client.download(&id, "report").await?;
        let bundle = client.download(&id, "sealed").await?;
        let verified =
            ec_seal::verify(&bundle).with_context(|| format!("verifying the {format} bundle"))?;
        ensure!(
            verified.export_id == id,
            "bundle names export {} not {id}",
            verified.export_id
        );
        let report_name = format!("report.{}", format.extension());
        let listed = verified
            .manifest
            .files
            .iter()
            .find(|f| f.path == report_name)
            .with_context(|| format!("{report_name} missing from the manifest"))?;
        ensure!(
            listed.sha256 == ec_domain::ids::sha256_hex(&report),
            "the downloaded {format} report differs from the sealed one"
        );
        let path = out.join(format!("{}.{}", format.as_str(), format.extension()));
        let bundle_path = out.join(format!("{}.bundle.tar.gz", format.as_str()));
        std::fs::write(&path, &report)?;
        std::fs::write(&bundle_path, &bundle)?;
        rows.push(DemoRow {
            format: format.as_str().into(),
            export_id: id,
            findings,
            bytes: report.len() as u64,
            seconds,
            path: path.display().to_string(),
            bundle: bundle_path.display().to_string(),
        });
    }
    Ok(rows)
}

pub fn print_table(rows: &[DemoRow]) {
    println!(
        "{:<10} {:>9} {:>10} {:>8}  path",
        "format", "findings", "bytes", "seconds"
    );
    for r in rows {
        println!(
            "{:<10} {:>9} {:>10} {:>8.3}  {}",
            r.format, r.findings, r.bytes, r.seconds, r.path
        );
    }
    println!(
        "sealed bundles verified: {} (signature, manifest, checksums)",
        rows.len()
    );
}
