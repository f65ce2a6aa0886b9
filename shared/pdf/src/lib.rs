//! PDF rendering with typst, in-process: no browser, no file system, no system fonts.
//!
//! A template is typst markup that reads its data with `json("/data.json")`; data never
//! becomes markup, so a finding titled `#panic()` prints literally. Two entry points:
//!
//! - [`compile`]: one template, one data file, one document. For a tenant's own template.
//! - [`render_report`]: a long report laid out in parts (front matter, body chunks laid out
//!   in parallel with typst's caches evicted in between, one header/footer pass), then
//!   assembled into one PDF with page numbers running across the parts, one outline, and
//!   a table of contents pointing at pages of later parts. See [`Report`].
//!
//! Both need the `render` feature (typst itself, fonts included: most of a binary's size).
//! Without it the crate only checks a template's syntax ([`check_syntax`]), which is what
//! the API needs when a tenant uploads one.

#[cfg(feature = "render")]
mod engine;
#[cfg(feature = "render")]
mod join;
#[cfg(feature = "render")]
mod merge;
#[cfg(feature = "render")]
mod report;
#[cfg(all(test, feature = "render"))]
mod tests;
#[cfg(feature = "render")]
mod world;

use std::sync::LazyLock;

use typst_syntax::{DiagSpan, DiagSpanKind, FileId, RootedPath, Source, VirtualPath, VirtualRoot};

#[cfg(feature = "render")]
pub use engine::{Options, Template, compile};
#[cfg(feature = "render")]
use engine::{export, layout};
#[cfg(feature = "render")]
pub use report::{Report, render_report, workers};
#[cfg(feature = "render")]
pub use world::{DATA_PATH, PART_PATH};

/// The main source's path; its imports resolve against `/`.
const MAIN_PATH: &str = "/main.typ";

/// Interned once: the interner never frees ids, so a fresh id per compilation would leak.
static MAIN_ID: LazyLock<FileId> = LazyLock::new(|| file_id(MAIN_PATH));

/// The main source's id: diagnostics name it `/main.typ`.
pub(crate) fn main_id() -> FileId {
    *MAIN_ID
}

pub(crate) fn file_id(path: &str) -> FileId {
    match VirtualPath::new(path) {
        Ok(vpath) => RootedPath::new(VirtualRoot::Project, vpath).intern(),
        // The paths are constants of this crate, all absolute and valid.
        Err(e) => unreachable!("invalid built-in path {path}: {e:?}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The template does not compile or fails while evaluating (with the data it was given).
    #[error("template error at {file}:{line}:{column}: {message}")]
    Template {
        /// The template file (`/main.typ`, or a module it imports).
        file: String,
        /// 1-based.
        line: usize,
        /// 1-based, in characters.
        column: usize,
        message: String,
    },
    /// Typst failed without pointing into the template, or the parts did not fit together.
    #[error("layout error: {0}")]
    Layout(String),
    /// The laid-out document could not be written as PDF.
    #[error("PDF export error: {0}")]
    Export(String),
}

impl PdfError {
    /// Stable code recorded on a failed job.
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::Template { .. } => "ERR_PDF_TEMPLATE",
            PdfError::Layout(_) => "ERR_PDF_LAYOUT",
            PdfError::Export(_) => "ERR_PDF_EXPORT",
        }
    }
}

/// Checks a template's syntax without laying anything out (when a tenant uploads one):
/// the first syntax error, worded as [`PdfError::Template`] is.
pub fn check_syntax(source: &str) -> Result<(), String> {
    let source = Source::new(main_id(), source.to_string());
    let (errors, _) = source.root().errors_and_warnings();
    match errors.first() {
        None => Ok(()),
        Some(e) => Err(located(&source, e.span, e.message.to_string())
            .map_or_else(|| e.message.to_string(), |err| err.to_string())),
    }
}

/// A template error at the span's line and column in `source`.
fn located(source: &Source, span: DiagSpan, message: String) -> Option<PdfError> {
    let range = match span.get() {
        DiagSpanKind::Number { num, sub_range, .. } => source.range(num, sub_range)?,
        DiagSpanKind::Range { range, .. } => range,
        DiagSpanKind::Detached => return None,
    };
    let (line, column) = source.lines().byte_to_line_column(range.start)?;
    Some(PdfError::Template {
        file: source.id().vpath().get_with_slash().to_string(),
        line: line + 1,
        column: column + 1,
        message,
    })
}
