//! The render stage: one input snapshot in, one report out. Every format is a pure function
//! of the snapshot, so the same snapshot always renders to the same bytes.

mod csv_format;
mod json_format;
pub mod view;

use ec_domain::snapshot::Snapshot;
use ec_domain::{ExportType, Format, TemplateName};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{format} output with template {template} is not available")]
    Unsupported { format: Format, template: String },
    #[error("could not encode the {format} output: {reason}")]
    Encode { format: Format, reason: String },
}

impl RenderError {
    /// Stable code recorded on the failed job.
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::Unsupported { .. } => "ERR_RENDER_UNSUPPORTED",
            RenderError::Encode { .. } => "ERR_RENDER_ENCODE",
        }
    }
}

/// Whether this build can render `format` with `template` for `export_type`; requests
/// for anything else are refused up front with 422.
pub fn supports(export_type: ExportType, format: Format, template: &TemplateName) -> bool {
    export_type.allows(format)
        && matches!(template, TemplateName::Builtin(_))
        && matches!(format, Format::Json | Format::Csv)
}

/// Renders the snapshot in the format and template its request names.
pub fn render(snapshot: &Snapshot) -> Result<Vec<u8>, RenderError> {
    let req = &snapshot.request;
    if !supports(req.export_type, req.format, &req.template) {
        return Err(RenderError::Unsupported {
            format: req.format,
            template: req.template.to_string(),
        });
    }
    let view = view::ReportView::new(snapshot);
    match req.format {
        Format::Json => json_format::render(&view),
        Format::Csv => csv_format::render(&view),
        other => Err(RenderError::Unsupported {
            format: other,
            template: req.template.to_string(),
        }),
    }
}
