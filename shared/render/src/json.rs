//! The JSON report: the report document of [`crate::common::document`], pretty-printed.

use ec_domain::Format;

use crate::RenderError;
use crate::common::document::document;
use crate::view::ReportView;

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    let mut out = serde_json::to_vec_pretty(&document(view))
        .map_err(|e| RenderError::encode(Format::Json, e))?;
    out.push(b'\n');
    Ok(out)
}
