//! The render stage: one input snapshot in, one report out. Every format is a pure function
//! of the snapshot, so the same snapshot always renders to the same bytes.
//!
//! `view` joins the snapshot's inputs once for every format; `common` holds what several
//! formats say alike; each format is one module (a folder where it has parts) that imports
//! `common` and `view`, never another format.

mod common;
mod csaf;
mod csv;
pub mod custom;
mod cyclonedx;
mod json;
mod openvex;
#[cfg(feature = "pdf")]
mod pdf;
mod sarif;
mod spdx;
pub mod view;
mod xlsx;

use ec_domain::snapshot::Snapshot;
use ec_domain::template::CustomTemplate;
use ec_domain::{BuiltinTemplate, ExportType, Format, StageCode, TemplateName};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{format} output with template {template} is not available")]
    Unsupported { format: Format, template: String },
    #[error("could not encode the {format} output: {reason}")]
    Encode { format: Format, reason: String },
    /// A tenant's custom template failed (syntax, runtime error, limits).
    #[error("the custom {format} template failed: {message}")]
    Template { format: Format, message: String },
    /// A binary built without the `pdf` feature was asked for a PDF (a deployment error:
    /// only the render function and exportctl render).
    #[error("this binary was built without {format} output")]
    NotBuilt { format: Format },
    #[error("PDF rendering failed: {0}")]
    Pdf(#[from] ec_pdf::PdfError),
}

/// Threads a render spreads its work over: one per core, at most four (more mostly add
/// memory for what they hold in flight).
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, 4)
}

/// Writes `batch(0)`, `batch(1)`, … `batch(count - 1)` to `w` in that order, each made on
/// whichever of the [`threads`] workers is free and written as soon as those before it
/// are: memory holds the batches in flight, not the whole output. The first error stops
/// the workers and is returned.
pub(crate) fn write_batches(
    w: &mut impl std::io::Write,
    count: usize,
    batch: impl Fn(usize) -> std::io::Result<Vec<u8>> + Sync,
) -> std::io::Result<()> {
    let threads = threads();
    let next_batch = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<(usize, std::io::Result<Vec<u8>>)>(2 * threads);
        for _ in 0..threads.min(count) {
            let (tx, batch, next_batch) = (tx.clone(), &batch, &next_batch);
            s.spawn(move || {
                loop {
                    let b = next_batch.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // A closed channel means the writer gave up: stop.
                    if b >= count || tx.send((b, batch(b))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut early = std::collections::BTreeMap::new();
        let mut next = 0;
        for (b, part) in rx {
            early.insert(b, part);
            while let Some(part) = early.remove(&next) {
                w.write_all(&part?)?;
                next += 1;
            }
        }
        if next == count {
            Ok(())
        } else {
            Err(std::io::Error::other("a writer thread stopped early"))
        }
    })
}

impl RenderError {
    /// Stable code recorded on the failed job.
    pub fn code(&self) -> StageCode {
        match self {
            RenderError::Unsupported { .. } | RenderError::NotBuilt { .. } => {
                StageCode::RenderUnsupported
            }
            RenderError::Encode { .. } => StageCode::RenderEncode,
            RenderError::Template { .. } => StageCode::Template,
            RenderError::Pdf(ec_pdf::PdfError::Template { .. }) => StageCode::PdfTemplate,
            RenderError::Pdf(ec_pdf::PdfError::Layout(_)) => StageCode::PdfLayout,
            RenderError::Pdf(ec_pdf::PdfError::Export(_)) => StageCode::PdfExport,
        }
    }

    /// A format's output could not be encoded.
    pub(crate) fn encode(format: Format, reason: impl std::fmt::Display) -> RenderError {
        RenderError::Encode {
            format,
            reason: reason.to_string(),
        }
    }
}

/// Which formats a built-in template renders (the README's formats × templates table).
pub fn builtin_formats(template: BuiltinTemplate) -> &'static [Format] {
    use Format::*;
    match template {
        BuiltinTemplate::ComplianceExecutive => &[Pdf, Xlsx, Json, Csv],
        BuiltinTemplate::ComplianceDetailed => {
            &[Pdf, Xlsx, Json, Csv, Cyclonedx, Spdx, Openvex, Csaf]
        }
        BuiltinTemplate::AuditEvidence => &[Pdf, Xlsx, Json, Csv, Cyclonedx, Spdx],
        BuiltinTemplate::DeveloperSarif => &[Pdf, Json, Csv, Sarif],
    }
}

/// Whether this build can render `format` with the built-in `template` for `export_type`;
/// requests for anything else are refused up front with 422. A custom template renders the
/// formats its tenant uploaded sources for ([`supports_custom`]).
pub fn supports(export_type: ExportType, format: Format, template: &TemplateName) -> bool {
    export_type.allows(format)
        && match template {
            TemplateName::Builtin(t) => builtin_formats(*t).contains(&format),
            TemplateName::Custom { .. } => false,
        }
}

pub fn supports_custom(export_type: ExportType, format: Format, template: &CustomTemplate) -> bool {
    export_type.allows(format) && template.source(format).is_some()
}

/// Renders the snapshot in the format and template its request names.
pub fn render(snapshot: &Snapshot) -> Result<Vec<u8>, RenderError> {
    // CSV rows are short and many: room for them up front saves the copies of doubling.
    let mut out = match snapshot.request.format {
        Format::Csv => Vec::with_capacity(256 * (snapshot.finding_count() + 1)),
        _ => Vec::new(),
    };
    match render_into(snapshot, &mut out)? {
        Rendered::Streamed => Ok(out),
        Rendered::Whole(bytes) => Ok(bytes),
    }
}

/// [`render`] into `out`: JSON, CSV and SPDX are written as they are produced, so a large
/// report is never held whole in memory; the other formats are written when complete.
pub fn render_to(snapshot: &Snapshot, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    match render_into(snapshot, out)? {
        Rendered::Streamed => Ok(()),
        Rendered::Whole(bytes) => out
            .write_all(&bytes)
            .map_err(|e| RenderError::encode(snapshot.request.format, e)),
    }
}

/// Whether a render went to the writer, or was made whole (and is the caller's to place).
enum Rendered {
    Streamed,
    Whole(Vec<u8>),
}

fn render_into(snapshot: &Snapshot, out: &mut dyn std::io::Write) -> Result<Rendered, RenderError> {
    let req = &snapshot.request;
    let unsupported = || RenderError::Unsupported {
        format: req.format,
        template: req.template.to_string(),
    };
    let view = view::ReportView::new(snapshot);
    #[cfg_attr(not(feature = "pdf"), expect(unused_variables))]
    let template = match (&req.template, &snapshot.custom_template) {
        (TemplateName::Builtin(t), _) if supports(req.export_type, req.format, &req.template) => *t,
        (TemplateName::Custom { .. }, Some(custom))
            if supports_custom(req.export_type, req.format, custom) =>
        {
            return custom::render(&view, custom, req.format).map(Rendered::Whole);
        }
        _ => return Err(unsupported()),
    };
    let bytes = match req.format {
        Format::Json => return json::write(&view, out).map(|()| Rendered::Streamed),
        Format::Csv => return csv::write(&view, out).map(|()| Rendered::Streamed),
        Format::Spdx => return spdx::write(&view, out).map(|()| Rendered::Streamed),
        Format::Sarif => sarif::render(&view),
        Format::Cyclonedx => cyclonedx::render(&view),
        Format::Xlsx => xlsx::render(&view),
        Format::Openvex => openvex::render(&view),
        Format::Csaf => csaf::render(&view),
        #[cfg(feature = "pdf")]
        Format::Pdf => pdf::render(&view, template),
        #[cfg(not(feature = "pdf"))]
        Format::Pdf => Err(RenderError::NotBuilt { format: req.format }),
    };
    bytes.map(Rendered::Whole)
}
