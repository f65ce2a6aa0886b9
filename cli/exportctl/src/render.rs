//! `exportctl render`: scanner documents in, one report out, no server. The same code path
//! as the render stage (see `ec_pipeline::offline`); what a user runs in CI instead of
//! `trivy convert`.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;
use time::OffsetDateTime;

use ec_domain::{BuiltinTemplate, ExportType, Format, TemplateName};
use ec_pipeline::offline::{OfflineRequest, render_documents};

pub struct Args {
    pub inputs: Vec<PathBuf>,
    pub format: String,
    pub export_type: String,
    pub template: Option<String>,
    pub output: PathBuf,
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
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let request = OfflineRequest {
        export_type,
        format,
        template,
        generated_at: generation_time(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())?,
    };
    let bytes = render_documents(&documents, &request).map_err(|e| {
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
    })?;
    // Write beside the target and rename, so a failed run never leaves half a report.
    let tmp = args.output.with_extension("exportctl-partial");
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    Ok(Summary {
        output: args.output.display().to_string(),
        format: format.as_str(),
        bytes: bytes.len(),
        sha256: ec_domain::ids::sha256_hex(&bytes),
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
}
