//! CSAF 2.0 VEX (`format: csaf`, `type: vex`, profile `csaf_vex`): the export's statements
//! ([`crate::common::vex_export`]) as one document, holding only what the inputs support.
//!
//! * Every product a statement names is one `full_product_names` entry (`CSAFPID-0001`…, in
//!   sorted order), with its purl as identification helper when it is a valid purl.
//! * One vulnerability per id (`cve` for CVE ids, else `ids` with the id's prefix as
//!   system), with a description note, and its products under `product_status`:
//!   `known_not_affected` with a `flags` label (the standard justifications) or an `impact`
//!   threat (any other reason), `known_affected` with a remediation (the input's action
//!   statement, else the scanner's fixed version, else `none_available`), `fixed`,
//!   `under_investigation`.
//! * No scores: CVSS objects in CSAF must be complete and consistent (mandatory tests 6.1.8
//!   and 6.1.9), which the inputs' partial vectors cannot promise.
//!
//! The BSI validator's mandatory tests and the CSAF 2.0 schema check the output in
//! `tests/tests/vex_exports.rs`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use ec_domain::Format;
use ec_domain::scan::VexStatus;

use crate::RenderError;
use crate::common::identity::{TOOL_NAME, TOOL_URI, TOOL_VERSION};
use crate::common::package::valid_purl;
use crate::common::vex_export::{
    ExportStatement, action_text, impact_text, standard_justification, statements,
};
use crate::view::ReportView;

fn product_ids(list: &[ExportStatement<'_>]) -> BTreeMap<String, String> {
    let mut names: Vec<&String> = list.iter().flat_map(|s| &s.products).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), format!("CSAFPID-{:04}", i + 1)))
        .collect()
}

fn full_product_name(name: &str, id: &str) -> Value {
    let mut p = json!({ "name": name, "product_id": id });
    if valid_purl(name) {
        p["product_identification_helper"] = json!({ "purl": name });
    }
    p
}

fn is_cve(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let mut parts = rest.splitn(2, '-');
    let year = parts.next().unwrap_or_default();
    let number = parts.next().unwrap_or_default();
    year.len() == 4
        && number.len() >= 4
        && year
            .bytes()
            .chain(number.bytes())
            .all(|b| b.is_ascii_digit())
}

/// The vulnerability's identification: `cve`, or `ids` named by the id's prefix.
fn identify(v: &mut Value, id: &str) {
    if is_cve(id) {
        v["cve"] = json!(id);
    } else {
        let system = id
            .split(['-', ':'])
            .next()
            .filter(|p| !p.is_empty() && *p != id);
        v["ids"] = json!([{ "system_name": system.unwrap_or("vendor"), "text": id }]);
    }
}

/// One CSAF vulnerability from every statement about the same id.
fn vulnerability(
    id: &str,
    group: &[&ExportStatement<'_>],
    ids: &BTreeMap<String, String>,
) -> Value {
    let mut status: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let (mut flags, mut threats, mut remediations) = (Vec::new(), Vec::new(), Vec::new());
    for s in group {
        let products: Vec<&str> = s
            .products
            .iter()
            .filter_map(|p| ids.get(p).map(String::as_str))
            .collect();
        let bucket = match s.status {
            VexStatus::NotAffected => "known_not_affected",
            VexStatus::Affected => "known_affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        };
        status.entry(bucket).or_default().extend(&products);
        match s.status {
            VexStatus::NotAffected => {
                if let Some(label) = s.justification.and_then(standard_justification) {
                    flags.push(json!({ "label": label, "product_ids": products }));
                }
                if let Some(text) = impact_text(s) {
                    threats.push(
                        json!({ "category": "impact", "details": text, "product_ids": products }),
                    );
                }
            }
            VexStatus::Affected => {
                let category = match (s.action_statement, s.fixed_version) {
                    (None, Some(_)) => "vendor_fix",
                    (Some(_), _) => "mitigation",
                    (None, None) => "none_available",
                };
                remediations.push(json!({ "category": category, "details": action_text(s),
                    "product_ids": products }));
            }
            _ => {}
        }
    }
    let product_status: BTreeMap<&str, Vec<&str>> = status
        .into_iter()
        .map(|(k, mut v)| {
            v.sort();
            v.dedup();
            (k, v)
        })
        .collect();
    let text = group
        .iter()
        .find_map(|s| s.description)
        .map(str::to_string)
        .unwrap_or_else(|| format!("VEX statements about {id}."));
    let mut v = json!({
        "notes": [{ "category": "description", "text": text, "title": "Description" }],
        "product_status": product_status,
    });
    identify(&mut v, id);
    for (field, list) in [
        ("flags", flags),
        ("threats", threats),
        ("remediations", remediations),
    ] {
        if !list.is_empty() {
            v[field] = json!(list);
        }
    }
    v
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    let snap = view.snapshot;
    let list = statements(view);
    if list.is_empty() {
        return Err(RenderError::encode(
            Format::Csaf,
            "no VEX statement in scope: neither a statement in force for a finding nor an input VEX document",
        ));
    }
    let ids = product_ids(&list);
    let mut by_vulnerability: Vec<(&str, Vec<&ExportStatement<'_>>)> = Vec::new();
    for s in &list {
        match by_vulnerability.last_mut() {
            Some((id, group)) if id.eq_ignore_ascii_case(s.vulnerability_id) => group.push(s),
            _ => by_vulnerability.push((s.vulnerability_id, vec![s])),
        }
    }
    let date = ec_domain::time::rfc3339(snap.generated_at);
    let doc = json!({
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "lang": "en",
            "title": format!("{TOOL_NAME} VEX export {}", snap.export_id),
            "publisher": {
                "category": "other",
                "name": format!("{TOOL_NAME} for tenant {}", snap.tenant_id),
                "namespace": TOOL_URI,
            },
            "notes": [{
                "category": "summary",
                "title": "What this document holds",
                "text": format!(
                    "VEX statements of export {} for tenant {}: the statements in force for the findings in scope and every input statement that matched no finding.",
                    snap.export_id, snap.tenant_id
                ),
            }],
            "tracking": {
                "id": snap.export_id.to_string(),
                "status": "final",
                "version": "1",
                "initial_release_date": date,
                "current_release_date": date,
                "revision_history": [{ "date": date, "number": "1", "summary": "Initial version." }],
                "generator": {
                    "date": date,
                    "engine": { "name": TOOL_NAME, "version": TOOL_VERSION },
                },
            },
        },
        "product_tree": {
            "full_product_names": ids.iter().map(|(name, id)| full_product_name(name, id)).collect::<Vec<_>>(),
        },
        "vulnerabilities": by_vulnerability
            .iter()
            .map(|(id, group)| vulnerability(id, group, &ids))
            .collect::<Vec<_>>(),
    });
    let mut out =
        serde_json::to_vec_pretty(&doc).map_err(|e| RenderError::encode(Format::Csaf, e))?;
    out.push(b'\n');
    Ok(out)
}
