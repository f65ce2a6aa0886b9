//! Compiling one template with its data and writing it as PDF.

use time::OffsetDateTime;
use typst::World;
use typst::diag::{Severity, SourceDiagnostic, Warned};
use typst::foundations::{Bytes, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandards, Timestamp};

use crate::world::ReportWorld;
use crate::{PdfError, located};

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
pub(crate) fn layout(
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

/// Writes the document as PDF with fixed identifier and date, so bytes are reproducible.
pub(crate) fn export(doc: &PagedDocument, opts: &Options) -> Result<Vec<u8>, PdfError> {
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
