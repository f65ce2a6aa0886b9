//! `exportctl bench`: figures against the targets stated in the issues, printed with their
//! ratio to the target. Inputs come from [`generate_trivy`], which repeats the findings of
//! a real Trivy report under distinct vulnerability ids.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::Value;

use ec_pipeline::settings::ProcessEnv;

use crate::client::Client;
use crate::stack::{Stack, StackConfig};

/// The real report whose 160 findings are repeated (Debian 9 image, long descriptions).
const SEED: &[u8] = include_bytes!(
    "../../../tests/fixtures/real/trivy/trivy-golden_debian-stretch_2021-10-04.json"
);

/// A Trivy JSON v2 report with `findings` findings: the seed's findings in order, again and
/// again, the n-th copy's id suffixed with `-r{n}` so every finding is distinct.
pub fn generate_trivy(findings: usize) -> anyhow::Result<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(SEED)?;
    let vulns = doc["Results"][0]["Vulnerabilities"]
        .as_array()
        .cloned()
        .context("seed report has no findings")?;
    let mut out = Vec::with_capacity(findings);
    for i in 0..findings {
        let mut v = vulns[i % vulns.len()].clone();
        let round = i / vulns.len();
        if round > 0 {
            let id = v["VulnerabilityID"].as_str().unwrap_or("VULN").to_string();
            v["VulnerabilityID"] = Value::String(format!("{id}-r{round}"));
        }
        out.push(v);
    }
    doc["Results"][0]["Vulnerabilities"] = Value::Array(out);
    doc["ArtifactName"] = Value::String(format!("bench/debian-stretch-{findings}"));
    Ok(serde_json::to_vec(&doc)?)
}

#[derive(Debug, Serialize)]
pub struct LatencyRow {
    pub format: String,
    pub findings: usize,
    pub exports: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    pub target_p50_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Request → sealed `ready` latency on the embedded stack, one export at a time.
pub async fn pipeline_latency(
    findings: usize,
    exports: usize,
    formats: &[&str],
) -> anyhow::Result<Vec<LatencyRow>> {
    let dir = std::env::temp_dir().join(format!("exportctl-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = StackConfig::from_env(&ProcessEnv, "127.0.0.1:0".parse()?, dir.clone())?;
    let stack = Stack::start(cfg, &ProcessEnv).await?;
    let result = async {
        let token = stack.mint("bench", "bench", crate::demo::ALL_SCOPES, 3600)?;
        let client = Client::new(&stack.base_url, &token, "bench")?;
        let scan = client.ingest(generate_trivy(findings)?).await?;
        if scan.findings != findings {
            bail!(
                "generated scan has {} findings, wanted {findings}",
                scan.findings
            );
        }
        let mut events = client.events().await?;
        let mut rows = Vec::new();
        for format in formats {
            let req = serde_json::json!({"type": "scan_report", "format": format,
                "scope": {"scan_ids": [scan.scan_id]}, "options": {"include_evidence": true}});
            let mut samples = Vec::with_capacity(exports);
            for _ in 0..exports {
                let t0 = Instant::now();
                let job = client.create_export(&req, None).await?;
                let id = job.export_id.to_string();
                let done = events
                    .wait_all(std::slice::from_ref(&id), Duration::from_secs(60), |_| {})
                    .await?;
                if done[&id]["type"] != "export.ready" {
                    bail!("export failed: {}", done[&id]);
                }
                samples.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            samples.sort_by(|a, b| a.total_cmp(b));
            rows.push(LatencyRow {
                format: format.to_string(),
                findings,
                exports,
                p50_ms: percentile(&samples, 0.50),
                p95_ms: percentile(&samples, 0.95),
                max_ms: samples.last().copied().unwrap_or(0.0),
                target_p50_ms: 300.0,
            });
        }
        Ok(rows)
    }
    .await;
    stack.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

pub fn print_latency(rows: &[LatencyRow]) {
    println!("request → sealed ready, embedded stack (target p50 ≤ 300 ms)");
    println!(
        "{:<8} {:>9} {:>8} {:>9} {:>9} {:>9} {:>14}",
        "format", "findings", "exports", "p50 ms", "p95 ms", "max ms", "p50 / target"
    );
    for r in rows {
        println!(
            "{:<8} {:>9} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>13.2}x",
            r.format,
            r.findings,
            r.exports,
            r.p50_ms,
            r.p95_ms,
            r.max_ms,
            r.p50_ms / r.target_p50_ms
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_reports_have_distinct_findings() {
        let doc = generate_trivy(400).unwrap();
        let scan = ec_ingest::parse_document(&doc, &"t".parse().unwrap(), ec_domain::time::now())
            .unwrap()
            .scan
            .unwrap();
        assert_eq!(scan.findings.len(), 400);
        let ids: std::collections::BTreeSet<_> = scan
            .findings
            .iter()
            .map(|f| (&f.vulnerability_id, &f.package, &f.installed_version))
            .collect();
        assert_eq!(ids.len(), 400);
    }
}
