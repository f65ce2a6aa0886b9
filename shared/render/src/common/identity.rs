//! Who made a document and what names it: the tool, a digest of the export's inputs that
//! serial numbers and namespaces derive from, and how a scan's artifact and scanner are
//! described. CycloneDX, SPDX, SARIF, XLSX and PDF all say these the same way.

use ec_domain::scan::{Scan, ScannedArtifact};

use crate::view::ReportView;

pub(crate) const TOOL_NAME: &str = "ExportCenter";
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
pub(crate) const TOOL_URI: &str = "https://exportcenter.dev";

/// sha256 over what makes a document what it is: the export, its type and format, and the
/// digest of every input. Serial numbers and namespaces derive from it, so the same
/// snapshot names the same document and a different input a different one.
pub(crate) fn document_digest(view: &ReportView<'_>) -> String {
    let snap = view.snapshot;
    let mut material = format!(
        "{}\n{}\n{}\n",
        snap.export_id, snap.request.export_type, snap.request.format
    );
    for input in &snap.inputs {
        material.push_str(&format!("{} {} {}\n", input.kind, input.id, input.sha256));
    }
    ec_domain::ids::sha256_hex(material.as_bytes())
}

/// `name version` of the scanner, or its name alone when it gave no version.
pub(crate) fn scanner_label(scan: &Scan) -> String {
    match &scan.scanner.version {
        Some(v) => format!("{} {v}", scan.scanner.name),
        None => scan.scanner.name.clone(),
    }
}

/// Whether the artifact is a container image (else an application, path or repository).
pub(crate) fn is_image(artifact: &ScannedArtifact) -> bool {
    artifact.kind.contains("image") || artifact.kind.contains("container")
}

/// The artifact's sha256 as 64 lowercase hex digits, when its digest is a valid one.
pub(crate) fn artifact_sha256(artifact: &ScannedArtifact) -> Option<String> {
    artifact
        .digest
        .as_deref()
        .and_then(|d| d.strip_prefix("sha256:"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

/// A name-based UUID in version-5 layout (the schema accepts versions 1 to 5) from the
/// document digest, as a URN.
pub(crate) fn urn_uuid(digest: &str) -> String {
    let h = |range: std::ops::Range<usize>| digest.get(range).unwrap_or("0");
    let variant = u8::from_str_radix(h(16..17), 16).unwrap_or(0) & 0x3 | 0x8;
    format!(
        "urn:uuid:{}-{}-5{}-{:x}{}-{}",
        h(0..8),
        h(8..12),
        h(13..16),
        variant,
        h(17..20),
        h(20..32)
    )
}
