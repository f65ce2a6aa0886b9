//! `exportctl bench --suite stages`: each worker stage's own work at 1,000, 10,000 and
//! 100,000 findings, one process per stage run, so each peak is that stage's alone (what
//! its Lambda function's memory setting must hold): ingest (what `POST /api/v1/scans`
//! does with the upload: read the report into the native model), gather (read the stored scan, evaluate
//! the policy, derive the SBOM, build and encode the snapshot), render (decode the
//! snapshot, render the JSON report), seal (decode the snapshot, bundle and sign the
//! report with its evidence). The same library calls the stages make; the Lambda runtime
//! adds its own few MiB.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use bytes::Bytes;
use serde::Serialize;

use ec_domain::policy::PolicyConfig;
use ec_domain::request::{ExportOptions, ExportRequest, Scope};
use ec_domain::scan::Scan;
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_domain::snapshot_codec;
use ec_domain::{BuiltinTemplate, ExportId, ExportType, Format, TemplateName, TenantId};

use crate::measure;

pub const SIZES: &[usize] = &[1_000, 10_000, 100_000];
pub const STAGES: &[&str] = &["ingest", "gather", "render", "seal"];

#[derive(Debug, Serialize)]
pub struct Row {
    pub stage: String,
    pub findings: usize,
    pub seconds: f64,
    pub peak_mib: f64,
}

/// What `__bench-stage prepare` writes once per size: the scan as the catalogue stores it.
fn stored_scan(work: &Path, findings: usize) -> PathBuf {
    work.join(format!("stage-scan-{findings}.json"))
}

fn report_document(work: &Path, findings: usize) -> PathBuf {
    work.join(format!("stage-trivy-{findings}.json"))
}

fn snapshot_file(work: &Path, findings: usize) -> PathBuf {
    work.join(format!("stage-snapshot-{findings}.msgpack"))
}

fn report_file(work: &Path, findings: usize) -> PathBuf {
    work.join(format!("stage-report-{findings}.json"))
}

pub fn run(exportctl: &Path, work: &Path, runs: usize) -> anyhow::Result<Vec<Row>> {
    std::fs::create_dir_all(work)?;
    let mut rows = Vec::new();
    for &findings in SIZES {
        let stored = stored_scan(work, findings);
        if !stored.exists() {
            let doc = crate::bench::generate_trivy(findings)?;
            std::fs::write(report_document(work, findings), &doc)?;
            let tenant = TenantId::offline();
            let scan = ec_ingest::parse_document(&doc, &tenant, ec_domain::time::now())
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .scan
                .context("the generated report has no scan")?;
            std::fs::write(&stored, serde_json::to_vec(&scan)?)?;
        }
        for stage in STAGES {
            let m = measure::best_of(runs, || {
                let mut c = Command::new(exportctl);
                c.args(["__bench-stage", "--stage", stage, "--findings"])
                    .arg(findings.to_string())
                    .arg("--work")
                    .arg(work);
                c
            })?;
            rows.push(Row {
                stage: stage.to_string(),
                findings,
                seconds: m.seconds,
                peak_mib: m.peak_rss_mib,
            });
        }
    }
    Ok(rows)
}

/// One stage's work, in this process (`exportctl __bench-stage`).
pub async fn stage(name: &str, findings: usize, work: &Path) -> anyhow::Result<()> {
    match name {
        "ingest" => {
            let doc = std::fs::read(report_document(work, findings))?;
            let ingested =
                ec_ingest::parse_document(&doc, &TenantId::offline(), ec_domain::time::now())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(
                work.join(format!("stage-ingested-{findings}.json")),
                serde_json::to_vec(&ingested.scan)?,
            )?;
        }
        "gather" => {
            let scan: Scan = serde_json::from_slice(&std::fs::read(stored_scan(work, findings))?)?;
            let policy = PolicyConfig::default();
            let verdicts = ec_domain::policy::evaluate(&policy, &scan, &[]);
            let inputs = vec![ScanInputs {
                verdicts,
                sbom: Some(scan.derived_sbom()),
                vex: Vec::new(),
                scan,
            }];
            let request = ExportRequest {
                export_type: ExportType::ScanReport,
                format: Format::Json,
                scope: Scope::ScanIds(inputs.iter().map(|s| s.scan.scan_id.clone()).collect()),
                options: ExportOptions {
                    include_sbom: true,
                    include_evidence: true,
                    ..ExportOptions::default()
                },
                template: TemplateName::Builtin(BuiltinTemplate::ComplianceDetailed),
            };
            let at = ec_domain::time::now();
            let tenant = TenantId::offline();
            let snapshot = Snapshot::new(
                ExportId::offline(at.unix_timestamp()),
                tenant.clone(),
                request,
                tenant.to_string(),
                at,
                inputs,
            );
            let body = snapshot_codec::encode(&snapshot).map_err(anyhow::Error::msg)?;
            std::fs::write(snapshot_file(work, findings), body)?;
        }
        "render" => {
            let snapshot = read_snapshot(work, findings)?;
            let report = ec_render::render(&snapshot)?;
            std::fs::write(report_file(work, findings), report)?;
        }
        "seal" => {
            let snapshot = read_snapshot(work, findings)?;
            let report = Bytes::from(std::fs::read(report_file(work, findings))?);
            let files = ec_pipeline::stages::bundle_files(Format::Json, true, &snapshot, report);
            let signer = ec_seal::Ed25519Signer::load_or_create(&work.join("stage-seal.key"))?;
            let sealed = ec_seal::seal(
                ec_seal::SealInput {
                    export_id: snapshot.export_id.to_string(),
                    tenant_id: snapshot.tenant_id.to_string(),
                    created_at: snapshot.generated_at,
                    inputs: snapshot.inputs.clone(),
                    files,
                },
                &signer,
            )
            .await?;
            std::fs::write(
                work.join(format!("stage-sealed-{findings}.tar.gz")),
                &sealed.bytes,
            )?;
        }
        other => anyhow::bail!("unknown stage {other:?}: ingest, gather, render or seal"),
    }
    Ok(())
}

fn read_snapshot(work: &Path, findings: usize) -> anyhow::Result<Snapshot> {
    let bytes = std::fs::read(snapshot_file(work, findings))?;
    snapshot_codec::decode(&bytes).map_err(anyhow::Error::msg)
}

/// A Lambda memory setting that holds the measured peak with half again as headroom, in
/// the 64 MiB steps used in `infra/template.yaml` (128 MiB at least).
pub fn memory_setting(peak_mib: f64) -> u32 {
    let want = (peak_mib * 1.5).ceil() as u32;
    (want.div_ceil(64) * 64).max(128)
}

pub fn print(rows: &[Row]) {
    println!("worker stages, one process each (peak = the stage's own)");
    println!(
        "{:<8} {:>9} {:>8} {:>9} {:>16}",
        "stage", "findings", "seconds", "peak MiB", "memory setting"
    );
    for r in rows {
        println!(
            "{:<8} {:>9} {:>8.2} {:>9.0} {:>13} MB",
            r.stage,
            r.findings,
            r.seconds,
            r.peak_mib,
            memory_setting(r.peak_mib)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::memory_setting;

    #[test]
    fn memory_settings_hold_the_peak_with_headroom() {
        assert_eq!(memory_setting(10.0), 128);
        assert_eq!(memory_setting(100.0), 192);
        assert_eq!(memory_setting(300.0), 512);
    }
}
