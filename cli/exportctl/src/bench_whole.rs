//! `exportctl bench --suite whole`: what a user converting a large scan waits for. Whole
//! processes, measured from outside (wall time, peak resident memory of the process group):
//! `exportctl render` of a generated 100,000-finding Trivy report in each structured
//! format, side by side with Python's `json.load` of the same file in the same run; and the
//! embedded stack (`exportctl serve` in its own process) from the export request to the
//! sealed `ready` event, with that process's peak. Targets from issue 14.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::client::Client;
use crate::measure::{self, Measured};

/// Findings in the generated report.
pub const FINDINGS: usize = 100_000;

/// Each structured format's whole-process target at 100,000 findings, in seconds.
const TARGETS: &[(&str, f64)] = &[
    ("json", 1.0),
    ("csv", 1.0),
    ("spdx", 1.0),
    ("sarif", 1.5),
    ("cyclonedx", 1.5),
    ("xlsx", 2.5),
];
/// Peak memory target of every `exportctl render` above.
const RENDER_PEAK_MIB: f64 = 400.0;
/// The embedded stack's targets: request → sealed `ready`, and the serve process's peak.
const STACK_SECONDS: f64 = 3.0;
const STACK_PEAK_MIB: f64 = 600.0;

#[derive(Debug, Serialize)]
pub struct Row {
    pub what: String,
    pub seconds: f64,
    pub peak_mib: f64,
    pub target_seconds: Option<f64>,
    pub target_mib: Option<f64>,
    /// Python's `json.load` time over this one's (above 1: this one is faster).
    pub speed_vs_python: Option<f64>,
    /// This one's peak over Python's.
    pub memory_vs_python: Option<f64>,
}

pub struct Tools {
    pub exportctl: PathBuf,
    /// Any Python 3 (the standard library's `json` is all that runs).
    pub python: PathBuf,
    pub work: PathBuf,
    pub runs: usize,
}

pub fn run(tools: &Tools) -> anyhow::Result<Vec<Row>> {
    std::fs::create_dir_all(&tools.work)?;
    let input = tools.work.join(format!("whole-{FINDINGS}.json"));
    if !input.exists() {
        std::fs::write(&input, crate::bench::generate_trivy(FINDINGS)?)?;
    }
    let python = measure::best_of(tools.runs, || {
        let mut c = Command::new(&tools.python);
        c.args(["-c", "import json, sys; json.load(open(sys.argv[1], 'rb'))"])
            .arg(&input);
        c
    })?;
    let mut rows = vec![Row {
        what: "python json.load".into(),
        seconds: python.seconds,
        peak_mib: python.peak_rss_mib,
        target_seconds: None,
        target_mib: None,
        speed_vs_python: None,
        memory_vs_python: None,
    }];
    let compare = |what: String, m: Measured, target_seconds: f64, target_mib: f64| Row {
        what,
        seconds: m.seconds,
        peak_mib: m.peak_rss_mib,
        target_seconds: Some(target_seconds),
        target_mib: Some(target_mib),
        speed_vs_python: Some(python.seconds / m.seconds),
        memory_vs_python: Some(m.peak_rss_mib / python.peak_rss_mib),
    };
    for (format, target) in TARGETS {
        let output = tools.work.join(format!("whole-out.{format}"));
        let m = measure::best_of(tools.runs, || {
            let mut c = Command::new(&tools.exportctl);
            c.args(["render", "--format", format, "--input"])
                .arg(&input)
                .arg("--output")
                .arg(&output)
                .env("SOURCE_DATE_EPOCH", "1700000000");
            c
        })?;
        rows.push(compare(
            format!("exportctl render {format}"),
            m,
            *target,
            RENDER_PEAK_MIB,
        ));
    }
    let stack = stack_json_export(&tools.exportctl, &input, &tools.work)?;
    rows.push(compare(
        "embedded stack, request → ready (json)".into(),
        stack,
        STACK_SECONDS,
        STACK_PEAK_MIB,
    ));
    Ok(rows)
}

/// Starts `exportctl serve`, uploads the report, and times one JSON export from the request
/// to its sealed `ready` event; the peak is the serve process's own (`VmHWM`), upload
/// included.
fn stack_json_export(exportctl: &Path, input: &Path, work: &Path) -> anyhow::Result<Measured> {
    const SECRET: &str = "bench-secret-0123456789abcdef";
    let data = work.join("whole-stack");
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(exportctl)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("EXPORTCENTER_JWT_SECRET", SECRET)
        .env("EXPORTCENTER_LOG", "warn")
        // The default upload limit is below a 100,000-finding report (~130 MB).
        .env("EXPORTCENTER_MAX_SCAN_BYTES", (512u64 << 20).to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting exportctl serve")?;
    let pid = child.id();
    let result = (|| {
        let stdout = child.stdout.take().context("serve stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let base_url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http://"))
            .with_context(|| format!("unexpected serve banner {line:?}"))?
            .to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let seconds = runtime.block_on(async {
            let token = ec_api::auth::mint(
                SECRET.as_bytes(),
                "bench",
                "bench",
                crate::demo::ALL_SCOPES,
                3600,
            )?;
            let client = Client::new(&base_url, &token, "bench")?;
            let scan = client.ingest(std::fs::read(input)?).await?;
            let mut events = client.events().await?;
            let req = serde_json::json!({"type": "scan_report", "format": "json",
                "scope": {"scan_ids": [scan.scan_id]}});
            let t0 = Instant::now();
            let job = client.create_export(&req, None).await?;
            let id = job.export_id.to_string();
            let done = events
                .wait_all(std::slice::from_ref(&id), Duration::from_secs(120), |_| {})
                .await?;
            if done[&id]["type"] != "export.ready" {
                bail!("export failed: {}", done[&id]);
            }
            Ok::<f64, anyhow::Error>(t0.elapsed().as_secs_f64())
        })?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let hwm_kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmHWM")?;
        Ok(Measured {
            seconds,
            peak_rss_mib: hwm_kib / 1024.0,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    result
}

pub fn print(rows: &[Row]) {
    println!("whole process at {FINDINGS} findings (generated Trivy report)");
    println!(
        "{:<42} {:>8} {:>9} {:>10} {:>11} {:>10} {:>10}",
        "what", "seconds", "peak MiB", "s / target", "MiB/target", "× python", "mem/python"
    );
    let fmt = |v: Option<f64>, suffix: &str| {
        v.map(|v| format!("{v:.2}{suffix}"))
            .unwrap_or_else(|| "–".into())
    };
    for r in rows {
        println!(
            "{:<42} {:>8.2} {:>9.0} {:>10} {:>11} {:>10} {:>10}",
            r.what,
            r.seconds,
            r.peak_mib,
            fmt(r.target_seconds.map(|t| r.seconds / t), "x"),
            fmt(r.target_mib.map(|t| r.peak_mib / t), "x"),
            fmt(r.speed_vs_python, "x"),
            fmt(r.memory_vs_python, "x"),
        );
    }
}
