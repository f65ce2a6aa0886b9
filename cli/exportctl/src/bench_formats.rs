//! `exportctl bench --suite formats`: render speed and memory of every format against the
//! anchors of issue 4, each run in its own process so peaks do not mix:
//!
//! * PDF `compliance-detailed`, 1,000 findings: `exportctl render` against headless Chromium
//!   printing an equivalent HTML report (both whole commands, side by side);
//! * PDF `compliance-detailed`, 10,000 findings: ≤ 2 s, ≤ 256 MiB;
//! * XLSX, 100,000 findings: against Python XlsxWriter (constant_memory) writing the same
//!   cells (every sheet and cell of our workbook, read back with openpyxl beforehand) and
//!   the issue's 8-column anchor; memory over the loaded input flat from 10,000 to 100,000
//!   rows;
//! * JSON, CSV, SARIF, CycloneDX, SPDX, 100,000 findings: ≤ 1 s each.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use ec_domain::{ExportType, Format, TemplateName};
use ec_pipeline::offline::{OfflineRequest, snapshot_from_documents};

use crate::measure::{self, Measured};

/// What the hidden `__bench-render` subcommand prints: the render alone, in-process.
#[derive(Debug, Serialize, Deserialize)]
pub struct RenderRun {
    pub findings: usize,
    pub render_seconds: f64,
    /// Resident memory once the input snapshot is loaded, before rendering.
    pub loaded_rss_mib: f64,
    /// The process's peak resident memory while rendering (VmHWM, reset once the input
    /// is loaded): the snapshot plus what the render itself holds.
    pub peak_rss_mib: f64,
    /// The peak while parsing the input and building the snapshot.
    pub loading_peak_mib: f64,
    pub bytes: usize,
}

fn proc_status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// `__bench-render`: builds the snapshot of `input`, then times only the render.
pub fn render_once(
    input: &Path,
    format: Format,
    template: Option<TemplateName>,
    output: &Path,
) -> anyhow::Result<RenderRun> {
    let doc = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let request = {
        let mut r = OfflineRequest::new(
            ExportType::ScanReport,
            format,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        r.template = template;
        r
    };
    let snapshot =
        snapshot_from_documents(&[doc], &request).map_err(|e| anyhow::anyhow!(e.message))?;
    let loaded_rss_mib = proc_status_mib("VmRSS:");
    let loading_peak_mib = proc_status_mib("VmHWM:");
    // Reset the peak: parsing the input peaks higher than the snapshot it leaves, and the
    // figure wanted is the render's own.
    std::fs::write("/proc/self/clear_refs", "5").context("resetting the peak RSS")?;
    let started = Instant::now();
    let bytes = ec_render::render(&snapshot)?;
    let render_seconds = started.elapsed().as_secs_f64();
    std::fs::write(output, &bytes)?;
    Ok(RenderRun {
        findings: snapshot.finding_count(),
        render_seconds,
        loaded_rss_mib,
        peak_rss_mib: proc_status_mib("VmHWM:"),
        loading_peak_mib,
        bytes: bytes.len(),
    })
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub what: String,
    pub findings: usize,
    pub seconds: f64,
    pub peak_rss_mib: f64,
    /// The anchor or target, as stated in the issue.
    pub target: String,
    /// `seconds / target seconds` (below 1 is better than the target), or for a comparison
    /// the other tool's time over ours (above 1 is how many times faster we are).
    pub ratio: String,
}

impl Row {
    /// A Python XlsxWriter comparison at 100,000 findings: its time only (the script's
    /// memory is not sampled, and the ratio is on our row).
    fn xlsxwriter(what: String, seconds: f64, target: &str) -> Row {
        Row {
            what,
            findings: 100_000,
            seconds,
            peak_rss_mib: 0.0,
            target: target.into(),
            ratio: String::new(),
        }
    }
}

pub struct Tools {
    pub exportctl: PathBuf,
    /// A Python with XlsxWriter installed (scripts/bench.sh makes one).
    pub python: Option<PathBuf>,
    pub chromium: Option<PathBuf>,
    pub work: PathBuf,
}

fn bench_render(
    tools: &Tools,
    input: &Path,
    format: Format,
    template: Option<&str>,
) -> anyhow::Result<RenderRun> {
    let out = tools.work.join(format!("bench-out.{}", format.extension()));
    let mut cmd = Command::new(&tools.exportctl);
    cmd.arg("__bench-render")
        .arg("--input")
        .arg(input)
        .arg("--format")
        .arg(format.as_str())
        .arg("--output")
        .arg(&out);
    if let Some(t) = template {
        cmd.arg("--template").arg(t);
    }
    let output = cmd.output().context("running __bench-render")?;
    if !output.status.success() {
        bail!(
            "__bench-render {format} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The HTML report Chromium prints: the same findings and fields as the detailed PDF.
pub fn chromium_html(trivy: &[u8]) -> anyhow::Result<String> {
    let request = {
        let mut r = OfflineRequest::new(
            ExportType::ScanReport,
            Format::Json,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        r.template = None;
        r
    };
    let snapshot = snapshot_from_documents(&[trivy.to_vec()], &request)
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><style>\
         @page { size: A4; margin: 1cm; } body { font: 9pt sans-serif; }\
         table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #ccc; \
         padding: 2px 4px; vertical-align: top; } .d { color: #444; }</style></head><body>\
         <h1>Vulnerability report</h1><table><thead><tr><th>ID</th><th>Severity</th>\
         <th>Package</th><th>Installed</th><th>Fixed</th><th>Title</th></tr></thead><tbody>",
    );
    for s in &snapshot.scans {
        for f in &s.scan.findings {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\
                 <tr><td colspan=\"6\" class=\"d\">{}</td></tr>",
                html_escape(&f.vulnerability_id),
                f.severity.as_str(),
                html_escape(&f.package),
                html_escape(&f.installed_version),
                html_escape(f.fixed_version.as_deref().unwrap_or("")),
                html_escape(f.title.as_deref().unwrap_or("")),
                html_escape(f.description.as_deref().unwrap_or("")),
            ));
        }
    }
    html.push_str("</tbody></table></body></html>");
    Ok(html)
}

fn chromium_command(chromium: &Path, work: &Path, html: &Path, pdf: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-pdf-header-footer",
    ])
    .arg(format!(
        "--user-data-dir={}",
        work.join("chromium-profile").display()
    ))
    .arg(format!("--print-to-pdf={}", pdf.display()))
    .arg(format!("file://{}", html.display()));
    cmd
}

const XLSX_SCRIPT: &str = r#"
import json, sys, time
import xlsxwriter
src, out = sys.argv[1], sys.argv[2]
rows = []
for result in json.load(open(src))["Results"]:
    for v in result.get("Vulnerabilities") or []:
        rows.append([v.get("VulnerabilityID", ""), v.get("Severity", ""), v.get("PkgName", ""),
                     v.get("InstalledVersion", ""), v.get("FixedVersion", ""), v.get("Title", ""),
                     result.get("Target", ""), (v.get("References") or [""])[0]])
start = time.perf_counter()
wb = xlsxwriter.Workbook(out, {"constant_memory": True})
ws = wb.add_worksheet("Findings")
for r, row in enumerate(rows):
    for c, cell in enumerate(row):
        ws.write_string(r, c, cell)
wb.close()
print(json.dumps({"seconds": time.perf_counter() - start, "rows": len(rows)}))
"#;

/// Rewrites every cell of our workbook with XlsxWriter: the cells are read with openpyxl
/// first, untimed; only XlsxWriter's writing is timed. Values only (no formats or links),
/// which flatters XlsxWriter.
const XLSX_SAME_CELLS_SCRIPT: &str = r#"
import json, sys, time
import openpyxl, xlsxwriter
src, out = sys.argv[1], sys.argv[2]
book = openpyxl.load_workbook(src, read_only=True)
sheets = [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in book.worksheets]
cells = sum(len(r) for _, rows in sheets for r in rows)
start = time.perf_counter()
wb = xlsxwriter.Workbook(out, {"constant_memory": True})
for title, rows in sheets:
    ws = wb.add_worksheet(title)
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
wb.close()
print(json.dumps({"seconds": time.perf_counter() - start, "cells": cells}))
"#;

/// Writes a Python bench script into `work` and runs it; the seconds it reports and the
/// whole JSON it prints.
fn python_bench(
    python: &Path,
    work: &Path,
    name: &str,
    source: &str,
    args: &[&Path],
) -> anyhow::Result<(f64, serde_json::Value)> {
    let script = work.join(name);
    std::fs::write(&script, source)?;
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let seconds = report["seconds"]
        .as_f64()
        .with_context(|| format!("{} printed no time", script.display()))?;
    Ok((seconds, report))
}

fn ratio_to(seconds: f64, target: f64) -> String {
    format!("{:.2}× of target", seconds / target)
}

pub fn run(tools: &Tools) -> anyhow::Result<Vec<Row>> {
    std::fs::create_dir_all(&tools.work)?;
    let input = |n: usize| -> anyhow::Result<PathBuf> {
        let p = tools.work.join(format!("trivy-{n}.json"));
        if !p.exists() {
            std::fs::write(&p, crate::bench::generate_trivy(n)?)?;
        }
        Ok(p)
    };
    let mut rows = Vec::new();

    // PDF, 1,000 findings, whole commands side by side with Chromium.
    let k1 = input(1000)?;
    let pdf_out = tools.work.join("detailed-1000.pdf");
    let ours = measure::best_of(3, || {
        let mut c = Command::new(&tools.exportctl);
        c.args([
            "render",
            "--format",
            "pdf",
            "--template",
            "compliance-detailed",
        ])
        .arg("--input")
        .arg(&k1)
        .arg("--output")
        .arg(&pdf_out);
        c
    })?;
    rows.push(Row {
        what: "PDF compliance-detailed (exportctl render)".into(),
        findings: 1000,
        seconds: ours.seconds,
        peak_rss_mib: ours.peak_rss_mib,
        target: "≥ 10× faster, ≤ 1/3 memory of Chromium".into(),
        ratio: String::new(),
    });
    if let Some(chromium) = &tools.chromium {
        let html = tools.work.join("report-1000.html");
        std::fs::write(&html, chromium_html(&std::fs::read(&k1)?)?)?;
        let pdf = tools.work.join("chromium-1000.pdf");
        let theirs: Measured =
            measure::best_of(3, || chromium_command(chromium, &tools.work, &html, &pdf))?;
        if let Some(r) = rows.last_mut() {
            r.ratio = format!(
                "{:.1}× faster, {:.2}× the memory",
                theirs.seconds / ours.seconds,
                ours.peak_rss_mib / theirs.peak_rss_mib
            );
        }
        rows.push(Row {
            what: "PDF, headless Chromium --print-to-pdf (anchor)".into(),
            findings: 1000,
            seconds: theirs.seconds,
            peak_rss_mib: theirs.peak_rss_mib,
            target: "anchor: 1.8 s, 270 MiB".into(),
            ratio: String::new(),
        });
    }

    // PDF, 10,000 findings.
    let k10 = input(10_000)?;
    let run = bench_render(tools, &k10, Format::Pdf, Some("compliance-detailed"))?;
    rows.push(Row {
        what: "PDF compliance-detailed (render)".into(),
        findings: run.findings,
        seconds: run.render_seconds,
        peak_rss_mib: run.peak_rss_mib,
        target: "≤ 2 s, ≤ 256 MiB".into(),
        ratio: format!(
            "{}, {:.2}× of memory target ({:.0} MiB peak while loading the input)",
            ratio_to(run.render_seconds, 2.0),
            run.peak_rss_mib / 256.0,
            run.loading_peak_mib
        ),
    });

    // XLSX: 10,000 and 100,000 rows, then Python XlsxWriter on the same cells.
    let k100 = input(100_000)?;
    let x10 = bench_render(tools, &k10, Format::Xlsx, None)?;
    let x100 = bench_render(tools, &k100, Format::Xlsx, None)?;
    let mut xlsx_ratio = format!(
        "memory over input: {:.0} MiB at 10k, {:.0} MiB at 100k",
        x10.peak_rss_mib - x10.loaded_rss_mib,
        x100.peak_rss_mib - x100.loaded_rss_mib
    );
    if let Some(python) = &tools.python {
        let (py_seconds, _) = python_bench(
            python,
            &tools.work,
            "xlsxwriter_anchor.py",
            XLSX_SCRIPT,
            &[&k100, &tools.work.join("python-8.xlsx")],
        )?;
        rows.push(Row::xlsxwriter(
            "XLSX, Python XlsxWriter constant_memory, 8 columns (anchor)".into(),
            py_seconds,
            "anchor: 8.1 s",
        ));
        let ours = tools.work.join("bench-out.xlsx");
        let (same_seconds, py) = python_bench(
            python,
            &tools.work,
            "xlsxwriter_same_cells.py",
            XLSX_SAME_CELLS_SCRIPT,
            &[&ours, &tools.work.join("python-same.xlsx")],
        )?;
        rows.push(Row::xlsxwriter(
            format!(
                "XLSX, Python XlsxWriter, our workbook's {} cells",
                py["cells"].as_u64().unwrap_or(0)
            ),
            same_seconds,
            "same cells, values only",
        ));
        xlsx_ratio = format!(
            "{:.1}× faster than XlsxWriter on the same cells ({:.1}× the 8-column anchor); {xlsx_ratio}",
            same_seconds / x100.render_seconds,
            py_seconds / x100.render_seconds
        );
    }
    rows.push(Row {
        what: "XLSX, 5 sheets (render)".into(),
        findings: x100.findings,
        seconds: x100.render_seconds,
        peak_rss_mib: x100.peak_rss_mib,
        target: "≥ 5× faster than XlsxWriter; flat memory".into(),
        ratio: xlsx_ratio,
    });

    for format in [
        Format::Json,
        Format::Csv,
        Format::Sarif,
        Format::Cyclonedx,
        Format::Spdx,
    ] {
        let r = bench_render(tools, &k100, format, None)?;
        rows.push(Row {
            what: format!("{} (render)", format.as_str().to_uppercase()),
            findings: r.findings,
            seconds: r.render_seconds,
            peak_rss_mib: r.peak_rss_mib,
            target: "≤ 1 s".into(),
            ratio: format!(
                "{}; {:.0} MiB over the loaded input",
                ratio_to(r.render_seconds, 1.0),
                r.peak_rss_mib - r.loaded_rss_mib
            ),
        });
    }
    Ok(rows)
}

pub fn print(rows: &[Row]) {
    println!(
        "{:<58} {:>8} {:>9} {:>10}  {:<42} ratio",
        "what", "findings", "seconds", "peak MiB", "target"
    );
    for r in rows {
        println!(
            "{:<58} {:>8} {:>9.3} {:>10.1}  {:<42} {}",
            r.what, r.findings, r.seconds, r.peak_rss_mib, r.target, r.ratio
        );
    }
}
