//! The BOM as JSON. cyclonedx-bom writes a BOM on one thread; the vulnerabilities, most of
//! a BOM with findings, are made, validated and written here a batch at a time on every
//! core, and the bytes are those of one write.

use cyclonedx_bom::models::bom::{Bom, SpecVersion};
use cyclonedx_bom::models::vulnerability::{Vulnerabilities, Vulnerability};
use cyclonedx_bom::prelude::Validate;

use super::encode_err;
use crate::RenderError;

/// Bytes reserved for the JSON of a BOM's parts, and per vulnerability more than one
/// usually takes (2.3 KB for the bench's Trivy findings): reserved pages cost no memory
/// until written, and a buffer that never grows is never copied.
pub(super) const JSON_RESERVE: usize = 1 << 16;
const JSON_PER_ITEM: usize = 4 << 10;
/// Vulnerabilities made, validated and written at a time on one worker.
pub(super) const BATCH: usize = 512;
/// How cyclonedx-bom's pretty JSON opens the vulnerabilities and closes a BOM that ends
/// with them, and how it separates array items.
const VULNERABILITIES_START: &[u8] = b"\n  \"vulnerabilities\": [\n";
const VULNERABILITIES_END: &[u8] = b"\n  ]\n}";
const BOM_END: &[u8] = b"\n}";
const ITEM_SEPARATOR: &[u8] = b",\n";

/// cyclonedx-bom writes a BOM on one thread, converting the whole model to its private
/// spec types first. The vulnerabilities, most of a BOM with findings, are instead made
/// (`make` from the findings of each group), validated and written a batch at a time on
/// every core, each batch as a BOM of its own whose array items are cut out and appended
/// to the rest of the BOM. The bytes are those of one write (tested), memory never holds
/// every vulnerability's model, and a layout other than the expected one is an error,
/// never a malformed file.
pub(super) fn write_with_vulnerabilities(
    mut bom: Bom,
    groups: &[Vec<usize>],
    make: impl Fn(&[usize]) -> Result<Vulnerability, RenderError> + Sync,
) -> Result<Vec<u8>, RenderError> {
    if groups.is_empty() {
        bom.vulnerabilities = Some(Vulnerabilities(Vec::new()));
        return write_one(bom, JSON_RESERVE);
    }
    // The rest of the BOM, in a buffer with room for the vulnerabilities after it.
    let mut out = write_one(bom, JSON_RESERVE + JSON_PER_ITEM * groups.len())?;
    if !out.ends_with(BOM_END) {
        return Err(unexpected_layout());
    }
    out.truncate(out.len() - BOM_END.len());
    out.extend_from_slice(b",");
    out.extend_from_slice(VULNERABILITIES_START);
    let batches = groups.len().div_ceil(BATCH);
    crate::write_batches(&mut out, batches, |b| {
        let batch = &groups[b * BATCH..groups.len().min((b + 1) * BATCH)];
        let vulnerabilities = batch
            .iter()
            .map(|rows| make(rows))
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::other)?;
        let part = Bom {
            serial_number: None,
            vulnerabilities: Some(Vulnerabilities(vulnerabilities)),
            spec_version: SpecVersion::V1_5,
            ..Bom::default()
        };
        let json = write_one(part, JSON_PER_ITEM * batch.len()).map_err(std::io::Error::other)?;
        let items = array_items(&json).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(ITEM_SEPARATOR.len() + items.len());
        if b > 0 {
            bytes.extend_from_slice(ITEM_SEPARATOR);
        }
        bytes.extend_from_slice(items);
        Ok(bytes)
    })
    .map_err(|e| match e.downcast::<RenderError>() {
        Ok(e) => e,
        Err(e) => encode_err(e),
    })?;
    out.extend_from_slice(VULNERABILITIES_END);
    Ok(out)
}

pub(super) fn write_one(bom: Bom, capacity: usize) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::with_capacity(capacity);
    bom.output_as_json_v1_5(&mut out).map_err(encode_err)?;
    Ok(out)
}

/// The vulnerabilities' array items of a BOM written with nothing after them.
pub(super) fn array_items(json: &[u8]) -> Result<&[u8], RenderError> {
    json.windows(VULNERABILITIES_START.len())
        .position(|w| w == VULNERABILITIES_START)
        .map(|at| at + VULNERABILITIES_START.len())
        .and_then(|from| json.get(from..json.len().checked_sub(VULNERABILITIES_END.len())?))
        .filter(|_| json.ends_with(VULNERABILITIES_END))
        .ok_or_else(unexpected_layout)
}

fn unexpected_layout() -> RenderError {
    encode_err("cyclonedx-bom wrote the vulnerabilities in an unexpected layout")
}

/// cyclonedx-bom's own check of what we made against the CycloneDX 1.5 rules.
pub(super) fn valid(part: &impl Validate) -> Result<(), RenderError> {
    let validation = part.validate_version(SpecVersion::V1_5);
    if validation.passed() {
        return Ok(());
    }
    let errors: Vec<String> = validation
        .errors()
        .map(|(field, e)| format!("{field}: {e:?}"))
        .collect();
    Err(encode_err(format!(
        "the BOM fails CycloneDX 1.5 validation: {}",
        errors.join("; ")
    )))
}
