//! The statements a VEX export carries, whatever its format (OpenVEX, CSAF VEX, and the
//! JSON/CSV/XLSX/PDF renderings of `type: vex`): for every finding in scope with a
//! statement in force, that statement about the finding's package; and every input
//! statement that matched no finding, as the input gave it (a VEX-only export is then a
//! faithful conversion). Nothing is invented: a finding without a statement gets none.
//! Statements alike except in product are merged into one with several products.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use ec_domain::natural::NaturalId;
use ec_domain::scan::{VexStatement, VexStatus};

use crate::view::ReportView;

/// One statement of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportStatement<'a> {
    pub vulnerability_id: &'a str,
    pub aliases: Vec<&'a str>,
    /// Purls (or, where the input named products otherwise, those names), sorted.
    pub products: Vec<String>,
    pub status: VexStatus,
    pub justification: Option<&'a str>,
    pub impact_statement: Option<&'a str>,
    pub action_statement: Option<&'a str>,
    pub timestamp: Option<OffsetDateTime>,
    /// The document it came from.
    pub source: Option<&'a str>,
    /// A fixed version the scanner named for one of the products, for remediations.
    pub fixed_version: Option<&'a str>,
    /// The finding's own text, when it came from a finding.
    pub description: Option<&'a str>,
}

type Key<'a> = (
    String,
    VexStatus,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<OffsetDateTime>,
    Option<&'a str>,
);

fn key<'a>(s: &'a VexStatement) -> Key<'a> {
    (
        s.vulnerability_id.to_ascii_uppercase(),
        s.status,
        s.justification.as_deref(),
        s.impact_statement.as_deref(),
        s.action_statement.as_deref(),
        s.timestamp,
        s.source.as_deref(),
    )
}

fn from_statement(s: &VexStatement) -> ExportStatement<'_> {
    ExportStatement {
        vulnerability_id: &s.vulnerability_id,
        aliases: Vec::new(),
        products: Vec::new(),
        status: s.status,
        justification: s.justification.as_deref(),
        impact_statement: s.impact_statement.as_deref(),
        action_statement: s.action_statement.as_deref(),
        timestamp: s.timestamp,
        source: s.source.as_deref(),
        fixed_version: None,
        description: None,
    }
}

/// The export's statements, by vulnerability id in natural order, then status.
pub(crate) fn statements<'a>(view: &'a ReportView<'a>) -> Vec<ExportStatement<'a>> {
    let mut merged: BTreeMap<Key<'a>, ExportStatement<'a>> = BTreeMap::new();
    for row in &view.findings {
        let Some(s) = row.vex else { continue };
        let f = row.finding;
        let entry = merged.entry(key(s)).or_insert_with(|| from_statement(s));
        entry.products.push(
            f.purl
                .clone()
                .unwrap_or_else(|| format!("{} {}", f.package, f.installed_version)),
        );
        entry.aliases.extend(f.aliases.iter().map(String::as_str));
        entry.fixed_version = entry.fixed_version.or(f.fixed_version.as_deref());
        entry.description = entry
            .description
            .or(f.description.as_deref())
            .or(f.title.as_deref());
    }
    for doc in &view.vex_documents {
        for (s, m) in doc.document.statements.iter().zip(&doc.matches) {
            if m.matched > 0 {
                continue;
            }
            let entry = merged.entry(key(s)).or_insert_with(|| from_statement(s));
            entry.products.extend(s.products.iter().cloned());
        }
    }
    let mut out: Vec<ExportStatement<'a>> = merged
        .into_values()
        .map(|mut s| {
            s.products.sort();
            s.products.dedup();
            s.aliases.sort();
            s.aliases.dedup();
            let id = s.vulnerability_id;
            s.aliases.retain(|a| !a.eq_ignore_ascii_case(id));
            s
        })
        .collect();
    out.sort_by(|a, b| {
        NaturalId(a.vulnerability_id)
            .cmp(&NaturalId(b.vulnerability_id))
            .then(a.status.cmp(&b.status))
    });
    out
}

/// The justifications OpenVEX and CSAF (its `flags` labels) share; CycloneDX's analysis
/// justifications map onto them. `None` for anything else (then the text goes into an
/// impact statement).
pub(crate) fn standard_justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "component_not_present" => "component_not_present",
        "vulnerable_code_not_present" | "code_not_present" => "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => {
            "vulnerable_code_not_in_execute_path"
        }
        "vulnerable_code_cannot_be_controlled_by_adversary"
        | "requires_configuration"
        | "requires_dependency"
        | "requires_environment" => "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist"
        | "protected_by_compiler"
        | "protected_at_runtime"
        | "protected_at_perimeter"
        | "protected_by_mitigating_control" => "inline_mitigations_already_exist",
        _ => return None,
    })
}

/// The impact statement of a `not_affected` statement: the input's, else its justification
/// in words when it is not one of the standard ones, else `None`.
pub(crate) fn impact_text(s: &ExportStatement<'_>) -> Option<String> {
    if let Some(i) = s.impact_statement {
        return Some(i.to_string());
    }
    match s.justification {
        Some(j) if standard_justification(j).is_none() => Some(format!("Justification: {j}")),
        Some(_) => None,
        None => Some(format!(
            "Not affected according to {} (no justification given)",
            s.source.unwrap_or("the source VEX document")
        )),
    }
}

/// The action statement of an `affected` statement: the input's, else the fixed version
/// when the scanner named one, else a sentence saying none was given.
pub(crate) fn action_text(s: &ExportStatement<'_>) -> String {
    match (s.action_statement, s.fixed_version) {
        (Some(a), _) => a.to_string(),
        (None, Some(v)) => format!("Upgrade to {v} or later."),
        (None, None) => {
            "No remediation was given by the source; no fixed version is known.".to_string()
        }
    }
}
