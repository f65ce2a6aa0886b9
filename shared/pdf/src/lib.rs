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

mod merge;
mod report;
#[cfg(test)]
mod tests;
mod world;

use time::OffsetDateTime;
use typst::World;
use typst::diag::{Severity, SourceDiagnostic, Warned};
use typst::foundations::{Bytes, Smart};
use typst::syntax::{DiagSpan, DiagSpanKind, Source};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandards, Timestamp};

pub use report::{Report, render_report, workers};
pub use world::{DATA_PATH, PART_PATH};

use world::ReportWorld;

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

/// Typst sources: the main file and the modules it may `#import` by absolute path
/// (e.g. `("/common.typ", "...")`).
#[derive(Debug, Clone, Copy)]
pub struct Template<'a> {
    pub main: &'a str,
    pub modules: &'a [(&'a str, &'a str)],
}

/// What makes the output reproducible: the same options and data give the same bytes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stable identifier of the document (the export id): the PDF's `/ID` is derived from it.
    pub ident: String,
    /// The document's creation date and typst's `datetime.today()`.
    pub generated_at: OffsetDateTime,
}

/// Compiles one template with one data file into a PDF. `/part.json` reads
/// `{"part": "document"}`; the template lays out everything itself, headers and page
/// numbers included.
pub fn compile(source: &str, data_json: &[u8], opts: &Options) -> Result<Vec<u8>, PdfError> {
    let template = Template {
        main: source,
        modules: &[],
    };
    let result = layout(
        &template,
        Bytes::new(data_json.to_vec()),
        br#"{"part":"document"}"#.to_vec(),
        opts,
    )
    .and_then(|doc| export(&doc, opts));
    // A warm worker keeps nothing of this document in typst's caches.
    comemo::evict(0);
    result
}

/// Compiles and lays out one document.
fn layout(
    template: &Template<'_>,
    data: Bytes,
    part: Vec<u8>,
    opts: &Options,
) -> Result<PagedDocument, PdfError> {
    let world = ReportWorld::new(template, data, Bytes::new(part), opts.generated_at);
    let Warned { output, .. } = typst::compile::<PagedDocument>(&world);
    output.map_err(|diags| diagnose(&world, &diags))
}

/// The first error, located in the template when typst points into it.
fn diagnose(world: &ReportWorld, diags: &[SourceDiagnostic]) -> PdfError {
    let Some(diag) = diags
        .iter()
        .find(|d| d.severity == Severity::Error)
        .or(diags.first())
    else {
        return PdfError::Layout("typst failed without a diagnostic".into());
    };
    let mut message = diag.message.to_string();
    for hint in &diag.hints {
        message.push_str("; hint: ");
        message.push_str(&hint.v);
    }
    match diag
        .span
        .id()
        .and_then(|id| world.source(id).ok())
        .and_then(|source| located(&source, diag.span, message.clone()))
    {
        Some(err) => err,
        None => PdfError::Layout(message),
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

/// Checks a template's syntax without laying anything out (when a tenant uploads one):
/// the first syntax error, worded as [`PdfError::Template`] is.
pub fn check_syntax(source: &str) -> Result<(), String> {
    let source = Source::new(world::main_id(), source.to_string());
    let (errors, _) = source.root().errors_and_warnings();
    match errors.first() {
        None => Ok(()),
        Some(e) => Err(located(&source, e.span, e.message.to_string())
            .map_or_else(|| e.message.to_string(), |err| err.to_string())),
    }
}

/// Writes the document as PDF with fixed identifier and date, so bytes are reproducible.
fn export(doc: &PagedDocument, opts: &Options) -> Result<Vec<u8>, PdfError> {
    let at = opts.generated_at.to_offset(time::UtcOffset::UTC);
    let datetime = typst::foundations::Datetime::from_ymd_hms(
        at.year(),
        at.month().into(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
    )
    .ok_or_else(|| PdfError::Export(format!("timestamp {at} is out of range")))?;
    let options = PdfOptions {
        ident: Smart::Custom(opts.ident.clone()),
        creator: Smart::Custom(Some("ExportCenter".into())),
        timestamp: Some(Timestamp::new_utc(datetime)),
        page_ranges: None,
        standards: PdfStandards::default(),
        // Untagged: a tagged PDF (structure tree for screen readers) is about ten times
        // larger and slower to write for these long, table-like reports, and the tag tree
        // of a document assembled from separately laid-out parts would not be coherent
        // anyway. The text stays extractable (pdftotext, search, copy).
        tagged: false,
        pretty: false,
    };
    typst_pdf::pdf(doc, &options).map_err(|diags| {
        PdfError::Export(
            diags
                .iter()
                .map(|d| d.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}
