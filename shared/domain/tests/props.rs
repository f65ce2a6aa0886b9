//! Property tests of the request bodies ec-domain parses for the API: the export request
//! (`POST /api/v1/exports`: the body's bytes through serde_json, as `ec_api::extract::json_value`
//! reads them, then `ExportRequest::from_json`) and the custom template upload
//! (`PUT /api/v1/templates/custom-{tenant}`: `CustomTemplate::from_upload`). Seeds are the
//! contract's example request in every shape it allows and a real built-in template's
//! source; `ec_prop_support::mutants` makes them hostile.
//!
//! Property: a request is accepted (and then survives the serde round trip the job table
//! makes) or refused with the contract's 400/422 error and at least one field detail;
//! never a panic. `PROPTEST_CASES` sets the cases (256 by default).

use ec_domain::template::CustomTemplate;
use ec_domain::{ApiError, ErrorCode, ExportRequest, TenantId};
use ec_prop_support::{Mutant, Seed, check, mutants};
use serde_json::{Value, json};
use time::macros::datetime;

const TENANT: &str = "acme";

/// The body as the API reads it: bytes to a JSON value (400 when they are not JSON).
fn body(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// A refusal the contract allows for a body: 400 or 422, a sentence, and (422) a detail.
fn clean_refusal(e: &ApiError) -> Result<(), String> {
    let detailed = e.code != ErrorCode::ExportValidation || !e.details.is_empty();
    if matches!(e.status(), 400 | 422) && !e.message.trim().is_empty() && detailed {
        Ok(())
    } else {
        Err(format!("unclean refusal: {e:?}"))
    }
}

/// The contract's example request and the other shapes it allows.
pub fn export_request_seeds() -> Vec<Seed> {
    let scan = "scan-7f3a9c2e4b1d0a5f";
    [
        json!({"type": "scan_report", "format": "pdf",
               "scope": {"scan_ids": [scan], "date_range": null},
               "options": {"include_sbom": true, "include_evidence": true,
                           "template": "compliance-executive"}}),
        json!({"type": "sbom", "format": "cyclonedx",
               "scope": {"date_range": {"from": "2024-01-01T00:00:00Z",
                                        "to": "2024-12-31T23:59:59.999+02:00"}}}),
        json!({"type": "vex", "format": "csv", "scope": {"scan_ids": [scan, "scan-b", "scan-a"]},
               "options": {"template": "custom-acme"}}),
        json!({"type": "audit_bundle", "format": "json", "scope": {"scan_ids": [scan]},
               "options": {"include_evidence": false, "template": "audit-evidence"}}),
        json!({"type": "scan_report", "format": "sarif", "scope": {"scan_ids": [scan]}}),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, v)| Seed::new(format!("export request {i}"), v))
    .collect()
}

fn export_request_is_clean(bytes: &[u8]) -> Result<(), String> {
    let Some(value) = body(bytes) else {
        return Ok(());
    };
    match ExportRequest::from_json(&value, TENANT) {
        Ok(request) => {
            let stored = serde_json::to_value(&request).map_err(|e| e.to_string())?;
            let back: ExportRequest = serde_json::from_value(stored)
                .map_err(|e| format!("{request:?} does not read back: {e}"))?;
            if back != request {
                return Err(format!("{request:?} reads back as {back:?}"));
            }
            Ok(())
        }
        Err(e) => clean_refusal(&e),
    }
}

#[test]
fn props_export_request() {
    for seed in export_request_seeds() {
        let bytes = serde_json::to_vec(&seed.doc).expect("serialise");
        let value = body(&bytes).expect("JSON");
        assert!(
            ExportRequest::from_json(&value, TENANT).is_ok(),
            "{} is valid",
            seed.name
        );
    }
    check(
        "export-request",
        mutants(export_request_seeds()),
        |m: &Mutant| export_request_is_clean(&m.bytes),
    );
}

fn template_seeds() -> Vec<Seed> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../templates");
    let typst = std::fs::read_to_string(format!("{root}/compliance-executive/report.typ"))
        .expect("a built-in template");
    vec![
        Seed::new("typst upload", json!({ "pdf": typst })),
        Seed::new(
            "tera upload",
            json!({"csv": "id,severity\r\n{% for f in findings %}{{ f.vulnerability_id }},{{ f.severity }}\r\n{% endfor %}",
                   "json": "{\"n\": {{ findings | length }}}"}),
        ),
    ]
}

#[test]
fn props_template_upload() {
    let tenant = TenantId::parse(TENANT).expect("tenant");
    let at = datetime!(2025-01-02 03:04:05 UTC);
    check(
        "template-upload",
        mutants(template_seeds()),
        |m: &Mutant| {
            let Some(value) = body(&m.bytes) else {
                return Ok(());
            };
            match CustomTemplate::from_upload(&tenant, &value, at) {
                Ok(t) if t.sources.is_empty() => Err("a template without sources".into()),
                Ok(_) => Ok(()),
                Err(e) => clean_refusal(&e),
            }
        },
    );
}
