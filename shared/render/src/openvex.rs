//! OpenVEX 0.2.0 (`format: openvex`, `type: vex`): the export's statements
//! ([`crate::common::vex_export`]) as one document. `not_affected` carries a standard
//! justification or an impact statement and `affected` an action statement, as the
//! specification requires; where the input gave neither, the text says so rather than
//! inventing one. The document's `@id` and timestamps derive from the snapshot, so the same
//! inputs give the same bytes.

use serde_json::{Value, json};

use ec_domain::Format;
use ec_domain::scan::VexStatus;

use crate::RenderError;
use crate::common::identity::{TOOL_NAME, TOOL_VERSION, document_digest, urn_uuid};
use crate::common::package::valid_purl;
use crate::common::vex_export::{
    ExportStatement, action_text, impact_text, standard_justification, statements,
};
use crate::view::ReportView;

const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

fn product(p: &str) -> Value {
    if valid_purl(p) {
        json!({"@id": p, "identifiers": {"purl": p}})
    } else {
        json!({ "@id": p })
    }
}

fn statement(s: &ExportStatement<'_>) -> Value {
    let mut vulnerability = json!({ "name": s.vulnerability_id });
    if !s.aliases.is_empty() {
        vulnerability["aliases"] = json!(s.aliases);
    }
    if let Some(d) = s.description {
        vulnerability["description"] = json!(d);
    }
    let mut out = json!({
        "vulnerability": vulnerability,
        "products": s.products.iter().map(|p| product(p)).collect::<Vec<_>>(),
        "status": s.status.as_str(),
    });
    if let Some(t) = s.timestamp {
        out["timestamp"] = json!(ec_domain::time::rfc3339(t));
    }
    if let Some(src) = s.source {
        out["status_notes"] = json!(format!("From {src}"));
    }
    match s.status {
        VexStatus::NotAffected => {
            if let Some(j) = s.justification.and_then(standard_justification) {
                out["justification"] = json!(j);
            }
            if let Some(i) = impact_text(s) {
                out["impact_statement"] = json!(i);
            }
        }
        VexStatus::Affected => out["action_statement"] = json!(action_text(s)),
        _ => {
            if let Some(a) = s.action_statement {
                out["action_statement"] = json!(a);
            }
        }
    }
    out
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    let snap = view.snapshot;
    let list: Vec<Value> = statements(view).iter().map(statement).collect();
    if list.is_empty() {
        // The schema requires at least one statement.
        return Err(RenderError::encode(
            Format::Openvex,
            "no VEX statement in scope: neither a statement in force for a finding nor an input VEX document",
        ));
    }
    let doc = json!({
        "@context": CONTEXT,
        "@id": urn_uuid(&document_digest(view)),
        "author": format!("{TOOL_NAME} for tenant {}", snap.tenant_id),
        "role": "Document Creator",
        "timestamp": ec_domain::time::rfc3339(snap.generated_at),
        "version": 1,
        "tooling": format!("{TOOL_NAME} {TOOL_VERSION}"),
        "statements": list,
    });
    let mut out =
        serde_json::to_vec_pretty(&doc).map_err(|e| RenderError::encode(Format::Openvex, e))?;
    out.push(b'\n');
    Ok(out)
}
