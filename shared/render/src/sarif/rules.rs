//! One rule per vulnerability id: its descriptions, plain-text and markdown help (what is
//! affected, the fix, where to read more), GitHub's `security-severity` in the band of the
//! scanner's severity, and the default level of the worst severity among its findings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use serde_sarif::sarif::{
    MultiformatMessageString, PropertyBag, ReportingConfiguration, ReportingDescriptor, ResultLevel,
};

use ec_domain::scan::Severity;

use crate::common::advisory::{advisory_source, is_web_url};
use crate::common::facts::VulnerabilityFacts;
use crate::common::severity::worst;
use crate::view::FindingRow;

const MAX_TAGS: usize = 10;
/// References a rule's markdown help lists at most.
const MAX_REFERENCES: usize = 5;

/// GitHub's band of each severity (`security-severity` ranges), and the score that stands
/// for it when no finding of that severity has one in the band.
fn band(s: Severity) -> Option<(f64, f64, f64)> {
    match s {
        Severity::Critical => Some((9.0, 10.0, 9.5)),
        Severity::High => Some((7.0, 8.9, 8.0)),
        Severity::Medium => Some((4.0, 6.9, 5.5)),
        Severity::Low => Some((0.1, 3.9, 2.0)),
        Severity::Negligible | Severity::Unknown => None,
    }
}

/// GitHub's `security-severity` of a rule: in the band of the scanner's severity (the highest
/// of the rule's findings) — the best score of those findings that lies in that band, else
/// the band's own — and none for negligible or unknown, so GitHub reads the level (`note`).
/// A score from another source outside the band (a 10.0 NVD score on a finding the scanner
/// rates low) never moves the rule to another band.
fn security_severity(worst: Severity, rows: &[&FindingRow<'_>]) -> Option<f64> {
    let (lo, hi, standing) = band(worst)?;
    let in_band = rows
        .iter()
        .filter(|r| r.finding.severity == worst)
        .flat_map(|r| r.finding.cvss.iter().filter_map(|c| c.score))
        .filter(|s| (lo..=hi).contains(s))
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        });
    Some(in_band.unwrap_or(standing))
}

pub(super) fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        _ => ResultLevel::Note,
    }
}

fn level_name(s: Severity) -> &'static str {
    match level(s) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        _ => "note",
    }
}

pub(super) fn rule(id: &str, rows: &[&FindingRow<'_>]) -> ReportingDescriptor {
    let f = rows[0].finding;
    let worst = worst(rows.iter().map(|r| r.finding.severity));
    let score = security_severity(worst, rows);
    let title = rows
        .iter()
        .find_map(|r| r.finding.title.as_deref())
        .unwrap_or(id);
    let description = rows
        .iter()
        .find_map(|r| r.finding.description.as_deref())
        .unwrap_or(title);
    // One more than are listed, to know whether there are more.
    let mut references: Vec<&str> = Vec::new();
    for r in rows.iter().flat_map(|r| r.finding.references.iter()) {
        if references.len() > MAX_REFERENCES {
            break;
        }
        if !references.contains(&&**r) && is_web_url(r) {
            references.push(r);
        }
    }
    let source = advisory_source(id, &f.references);

    let mut packages: BTreeSet<(&str, &str, &str, &str)> = BTreeSet::new();
    for r in rows {
        let f = r.finding;
        packages.insert((
            f.package.as_str(),
            f.installed_version.as_str(),
            f.fixed_version.as_deref().unwrap_or("no fix yet"),
            f.target.as_deref().unwrap_or_default(),
        ));
    }
    // The plain-text help names what is affected and where to read more; the description
    // is already the rule's fullDescription, and GitHub shows the markdown help (with
    // description and references) when there is one. Each copy costs a large export
    // megabytes, so the references are capped too: the advisory lists them all.
    let mut text = String::with_capacity(title.len() + 128 * packages.len() + 128);
    let mut markdown = String::with_capacity(2 * description.len() + 512);
    text.push_str(title);
    text.push_str("\n\nAffected packages:\n");
    markdown.push_str("**");
    push_md(&mut markdown, title, false);
    markdown.push_str("**\n\n");
    markdown.push_str(description);
    markdown
        .push_str("\n\n| Package | Installed | Fixed in | Found in |\n| --- | --- | --- | --- |\n");
    for (pkg, installed, fixed, target) in &packages {
        for piece in ["- ", pkg, " ", installed, ": fixed in ", fixed] {
            text.push_str(piece);
        }
        if !target.is_empty() {
            for piece in [" (", target, ")"] {
                text.push_str(piece);
            }
        }
        text.push('\n');
        for cell in [pkg, installed, fixed, target] {
            markdown.push_str("| ");
            push_md(&mut markdown, cell, true);
            markdown.push(' ');
        }
        markdown.push_str("|\n");
    }
    for piece in ["\nAdvisory: ", &source.url, "\n"] {
        text.push_str(piece);
    }
    for piece in ["\nAdvisory: <", &source.url, ">\n"] {
        markdown.push_str(piece);
    }
    if !references.is_empty() {
        markdown.push_str("\n#### References\n");
        for r in references.iter().take(MAX_REFERENCES) {
            for piece in ["- <", r, ">\n"] {
                markdown.push_str(piece);
            }
        }
        if references.len() > MAX_REFERENCES {
            markdown.push_str("- more in the advisory\n");
        }
    }

    let mut tags = vec![
        "security".to_string(),
        worst.as_str().to_string(),
        "vulnerability".to_string(),
    ];
    // GitHub's CWE tags (`external/cwe/cwe-79`) before the package types, so the limit
    // cuts types first.
    let cwes: BTreeSet<u32> = rows
        .iter()
        .flat_map(|r| r.finding.cwes.iter().copied())
        .collect();
    tags.extend(cwes.into_iter().map(|c| format!("external/cwe/cwe-{c}")));
    let types: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r.finding.package_type.as_deref())
        .collect();
    tags.extend(types.into_iter().map(str::to_string));
    tags.truncate(MAX_TAGS);
    let mut props = BTreeMap::new();
    facts_properties(rows, &mut props);
    if let Some(score) = score {
        props.insert(
            "security-severity".to_string(),
            json!(format!("{score:.1}")),
        );
    }
    ReportingDescriptor::builder()
        .id(id)
        .name(rule_name(id))
        .short_description(
            MultiformatMessageString::builder()
                .text(truncate(title, 1000))
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(description)
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(text)
                .markdown(markdown)
                .build(),
        )
        .help_uri(source.url)
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(worst)))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(tags)
                .additional_properties(props)
                .build(),
        )
        .build()
}

/// A rule name in the PascalCase-ish form SARIF suggests (letters and digits only).
pub(super) fn rule_name(id: &str) -> String {
    let mut out = String::from("Vulnerability");
    out.extend(id.chars().filter(char::is_ascii_alphanumeric));
    out
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Appends `s` as markdown text on one line: line breaks become spaces, `*` is escaped,
/// and in a table cell `|` too.
pub(super) fn push_md(out: &mut String, s: &str, cell: bool) {
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '*' => out.push_str("\\*"),
            '|' if cell => out.push_str("\\|"),
            c => out.push(c),
        }
    }
}

/// Every CVSS vector with its source, the dates, EPSS and KEV of the rule's findings, as
/// `exportcenter.*` properties (nothing when the inputs give none).
fn facts_properties(rows: &[&FindingRow<'_>], props: &mut BTreeMap<String, serde_json::Value>) {
    let mut cvss: Vec<serde_json::Value> = Vec::new();
    for c in rows.iter().flat_map(|r| r.finding.cvss.iter()) {
        let v = json!({ "source": c.source, "version": c.version, "vector": c.vector, "score": c.score });
        if c.vector.is_some() && !cvss.contains(&v) {
            cvss.push(v);
        }
    }
    if !cvss.is_empty() {
        props.insert("exportcenter.cvss".to_string(), json!(cvss));
    }
    let facts = VulnerabilityFacts::of(rows.iter().map(|r| r.finding));
    let day = |t: time::OffsetDateTime| json!(ec_domain::time::rfc3339(t));
    if let Some(p) = facts.published {
        props.insert("exportcenter.published".to_string(), day(p));
    }
    if let Some(m) = facts.modified {
        props.insert("exportcenter.modified".to_string(), day(m));
    }
    if let Some(e) = facts.epss {
        props.insert("exportcenter.epss".to_string(), json!(e));
    }
    if facts.known_exploited {
        props.insert("exportcenter.known_exploited".to_string(), json!(true));
    }
}
