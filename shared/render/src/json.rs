//! The JSON report: the report document of [`crate::common::document`], pretty-printed.

use std::io::Write as _;

use ec_domain::Format;

use crate::RenderError;
use crate::common::document::document;
use crate::view::ReportView;

/// Writes the report to `out` as it is serialised (a 100,000-finding report is ~200 MB).
pub fn write(view: &ReportView<'_>, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let encode = |e: &dyn std::fmt::Display| RenderError::encode(Format::Json, e);
    // serde_json writes token by token: batched here, not one call through `out` each.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &document(view)).map_err(|e| encode(&e))?;
    out.write_all(b"\n").map_err(|e| encode(&e))?;
    out.flush().map_err(|e| encode(&e))
}
