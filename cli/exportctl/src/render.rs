//! `exportctl render`: scanner documents in, one report out, no server. The same code path
//! as the render stage (see `ec_pipeline::offline`); what a user runs in CI instead of
//! `trivy convert`. A render that takes over a second shows a spinner on a terminal.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;
use time::OffsetDateTime;

use ec_domain::filters::Filters;
use ec_domain::{BuiltinTemplate, ExportType, Format, TemplateName};
use ec_pipeline::offline::{InputDocument, OfflineRequest, render_to, snapshot_from_owned};

use crate::digest_writer::DigestWriter;

pub struct Args {
    pub inputs: Vec<PathBuf>,
    pub format: String,
    pub export_type: String,
    pub template: Option<String>,
    pub output: PathBuf,
    pub tenant: Option<ec_domain::TenantId>,
    pub title: Option<String>,
    pub requested_by: Option<String>,
    /// `options.filters` as JSON.
    pub filters: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub output: String,
    pub format: &'static str,
    pub bytes: usize,
    pub sha256: String,
}

/// `SOURCE_DATE_EPOCH` (reproducible-builds.org), else now.
pub fn generation_time(source_date_epoch: Option<&str>) -> anyhow::Result<OffsetDateTime> {
    match source_date_epoch {
        Some(s) => {
            let secs: i64 = s.trim().parse().with_context(|| {
                format!("SOURCE_DATE_EPOCH={s:?} is not a whole number of seconds")
            })?;
            OffsetDateTime::from_unix_timestamp(secs)
                .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is out of range"))
        }
        None => Ok(ec_domain::time::now()),
    }
}

fn one_of<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", ")
}

pub fn run(args: &Args) -> anyhow::Result<Summary> {
    let format = Format::parse(&args.format).ok_or_else(|| {
        anyhow!(
            "unknown format {:?}; expected one of {}",
            args.format,
            one_of(Format::ALL, Format::as_str)
        )
    })?;
    let export_type = ExportType::parse(&args.export_type).ok_or_else(|| {
        anyhow!(
            "unknown type {:?}; expected one of {}",
            args.export_type,
            one_of(ExportType::ALL, ExportType::as_str)
        )
    })?;
    let template = match &args.template {
        None => None,
        Some(t) => match BuiltinTemplate::parse(t) {
            Some(b) => Some(TemplateName::Builtin(b)),
            None => bail!(
                "unknown template {t:?}; offline rendering uses the built-in ones: {}",
                one_of(BuiltinTemplate::ALL, BuiltinTemplate::as_str)
            ),
        },
    };
    let documents = args
        .inputs
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            Ok(InputDocument { name, bytes })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut request = OfflineRequest::new(
        export_type,
        format,
        generation_time(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())?,
    );
    request.template = template;
    request.tenant = args.tenant.clone();
    request.title = args.title.clone();
    request.requested_by = args.requested_by.clone();
    request.filters = parse_filters(args.filters.as_deref())?;
    // Write beside the target and rename, so a failed run never leaves half a report.
    let tmp = args.output.with_extension("exportctl-partial");
    let written = with_spinner(format, || write_report(documents, &request, &tmp));
    let (bytes, sha256) = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    Ok(Summary {
        output: args.output.display().to_string(),
        format: format.as_str(),
        bytes,
        sha256,
    })
}

/// Reads the documents, renders them into `path` as the report is produced, and returns its
/// size and sha256. The inputs are freed once read; the snapshot is not freed at all, as
/// the process ends right after and its memory goes back whole (freeing 100,000 findings
/// one by one costs a tenth of the run).
fn write_report(
    documents: Vec<InputDocument>,
    request: &OfflineRequest,
    path: &std::path::Path,
) -> anyhow::Result<(usize, String)> {
    let snapshot = snapshot_from_owned(documents, request).map_err(api_error)?;
    let file =
        std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    let mut out = DigestWriter::new(file);
    let rendered = render_to(&snapshot, &mut out);
    std::mem::forget(snapshot);
    rendered.map_err(api_error)?;
    let written = out
        .finish()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((written.bytes, written.sha256))
}

fn api_error(e: ec_domain::ApiError) -> anyhow::Error {
    let details: Vec<String> = e
        .details
        .iter()
        .map(|d| format!("{}: {}", d.field, d.reason))
        .collect();
    if details.is_empty() {
        anyhow!("{} ({})", e.message, e.code.as_str())
    } else {
        anyhow!(
            "{} ({}): {}",
            e.message,
            e.code.as_str(),
            details.join("; ")
        )
    }
}

/// `--filters`: the JSON the API takes as `options.filters`, checked the same way.
fn parse_filters(json: Option<&str>) -> anyhow::Result<Filters> {
    let Some(json) = json else {
        return Ok(Filters::default());
    };
    let value: serde_json::Value = serde_json::from_str(json).context("--filters is not JSON")?;
    let body = serde_json::json!({"type": "scan_report", "format": "json",
        "scope": {"scan_ids": ["scan-offline"]}, "options": {"filters": value}});
    ec_domain::ExportRequest::from_json(&body, "local")
        .map(|r| r.options.filters)
        .map_err(|e| {
            let why: Vec<String> = e
                .details
                .iter()
                .map(|d| format!("{}: {}", d.field, d.reason))
                .collect();
            anyhow!("--filters: {}", why.join("; "))
        })
}

/// Runs `work`; when it takes over a second and stderr is a terminal, a spinner says what
/// is being made and for how long (indicatif draws nothing when stderr is no terminal).
fn with_spinner<T: Send>(format: Format, work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = s.spawn(move || {
            let out = work();
            let _ = tx.send(());
            out
        });
        if rx.recv_timeout(std::time::Duration::from_secs(1)).is_err() {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} rendering {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(format.as_str());
            while rx
                .recv_timeout(std::time::Duration::from_millis(100))
                .is_err()
            {
                if handle.is_finished() {
                    break;
                }
                bar.tick();
            }
            bar.finish_and_clear();
        }
        match handle.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch() {
        assert_eq!(
            generation_time(Some("1700000000"))
                .unwrap()
                .unix_timestamp(),
            1_700_000_000
        );
        assert!(generation_time(Some("yesterday")).is_err());
        assert!(generation_time(None).is_ok());
    }

    #[test]
    fn filters_flag() {
        let f = parse_filters(Some(r#"{"min_severity":"high","packages":["openssl*"]}"#))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.min_severity, Some(ec_domain::scan::Severity::High));
        let e = parse_filters(Some(r#"{"min_severity":"huge"}"#)).err();
        assert!(
            e.is_some_and(|e| e.to_string().contains("options.filters.min_severity")),
            "a bad filter names its field"
        );
    }
}
