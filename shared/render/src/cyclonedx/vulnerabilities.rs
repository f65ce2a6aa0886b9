//! The BOM's vulnerabilities: findings grouped by vulnerability id and VEX statement in
//! force, each with its source, aliases, ratings (every CVSS score, then the scanners' own
//! severity), advisories, recommendation and the components it affects.

use std::collections::{BTreeMap, BTreeSet};

use cyclonedx_bom::models::advisory::{Advisories, Advisory};
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::vulnerability::Vulnerability;
use cyclonedx_bom::models::vulnerability_rating::{
    Score, ScoreMethod, Severity as CdxSeverity, VulnerabilityRating, VulnerabilityRatings,
};
use cyclonedx_bom::models::vulnerability_reference::{
    VulnerabilityReference, VulnerabilityReferences,
};
use cyclonedx_bom::models::vulnerability_source::VulnerabilitySource;
use cyclonedx_bom::models::vulnerability_target::{
    Status, Version, VersionRange, Versions, VulnerabilityTarget, VulnerabilityTargets,
};
use cyclonedx_bom::prelude::DateTime;
use cyclonedx_bom::prelude::{NormalizedString, Uri};

use ec_domain::scan::{Cvss, Finding, Severity};

use super::analysis::analysis;
use crate::common::advisory::{AdvisorySource, advisory_source, is_web_url};
use crate::common::facts::VulnerabilityFacts;
use crate::common::inventory::Inventory;
use crate::common::severity::worst;
use crate::view::ReportView;

/// Findings grouped into CycloneDX vulnerabilities (as indices into the view's findings):
/// one per vulnerability id and VEX statement in force, affecting each component it was
/// found in.
pub(super) fn vulnerability_groups(
    view: &ReportView<'_>,
    inventory: &Inventory<'_>,
) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<(&str, Option<Vec<u8>>), Vec<usize>> = BTreeMap::new();
    for (i, row) in view.findings.iter().enumerate() {
        if inventory.entry_of(i).is_none() {
            continue;
        }
        let key = (
            row.finding.vulnerability_id.as_str(),
            row.vex.map(ec_domain::ids::canonical_json),
        );
        groups.entry(key).or_default().push(i);
    }
    groups.into_values().collect()
}

pub(super) fn vulnerability(
    view: &ReportView<'_>,
    inventory: &Inventory<'_>,
    rows: &[usize],
) -> Vulnerability {
    let first = view.findings[rows[0]].finding;
    let findings: Vec<&Finding> = rows.iter().map(|&i| view.findings[i].finding).collect();
    let vex = view.findings[rows[0]].vex;
    let id = first.vulnerability_id.as_str();
    let references: Vec<&str> = unique(
        findings
            .iter()
            .flat_map(|f| f.references.iter().map(|r| &**r)),
    );
    let source = advisory_source(id, &references);

    let mut targets: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for &i in rows {
        if let Some(e) = inventory.entry_of(i) {
            targets
                .entry(e.bom_ref.as_str())
                .or_default()
                .insert(view.findings[i].finding.installed_version.as_str());
        }
    }
    let status = if view.findings[rows[0]].suppressed() {
        "unaffected"
    } else {
        "affected"
    };
    let affects = targets
        .into_iter()
        .map(|(r, versions)| VulnerabilityTarget {
            bom_ref: r.to_string(),
            versions: Some(Versions(
                versions
                    .into_iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| Version {
                        version_range: VersionRange::Version(NormalizedString::new(v)),
                        status: Status::new_unchecked(status),
                    })
                    .collect(),
            ))
            .filter(|v| !v.0.is_empty()),
        })
        .collect();

    let aliases: Vec<&str> = unique(
        findings
            .iter()
            .flat_map(|f| f.aliases.iter().map(String::as_str))
            .filter(|a| !a.eq_ignore_ascii_case(id)),
    );
    let advisories: Vec<Advisory> = references
        .iter()
        .filter(|r| is_web_url(r))
        // Valid by construction (and validated with the vulnerability): parsed once, not twice.
        .map(|r| Advisory::new(Uri::new(r)))
        .collect();
    let fixes: Vec<String> = unique(findings.iter().filter_map(|f| {
        f.fixed_version
            .as_ref()
            .map(|v| format!("Upgrade {} to {v}", f.package))
    }));

    let mut v = Vulnerability::new(None);
    v.id = Some(NormalizedString::new(id));
    v.vulnerability_source = Some(cdx_source(&source));
    v.vulnerability_references = (!aliases.is_empty()).then(|| {
        VulnerabilityReferences(
            aliases
                .iter()
                .map(|a| VulnerabilityReference {
                    id: NormalizedString::new(a),
                    vulnerability_source: cdx_source(&advisory_source(a, &references)),
                })
                .collect(),
        )
    });
    let scanners: BTreeSet<&str> = rows
        .iter()
        .map(|&i| view.findings[i].scan.scanner.name.as_str())
        .collect();
    v.vulnerability_ratings = Some(VulnerabilityRatings(ratings(&findings, &scanners)));
    v.description = findings.iter().find_map(|f| {
        f.description
            .as_deref()
            .or(f.title.as_deref())
            .map(str::to_string)
    });
    v.recommendation = (!fixes.is_empty()).then(|| format!("{}.", fixes.join("; ")));
    v.advisories = (!advisories.is_empty()).then_some(Advisories(advisories));
    v.vulnerability_analysis = vex.map(analysis);
    v.vulnerability_targets = Some(VulnerabilityTargets(affects));
    let mut cwes: Vec<u32> = findings
        .iter()
        .flat_map(|f| f.cwes.iter().copied())
        .collect();
    cwes.sort_unstable();
    cwes.dedup();
    v.cwes = (!cwes.is_empty()).then_some(cwes);
    let facts = VulnerabilityFacts::of(findings.iter().copied());
    let date = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| DateTime::try_from(ec_domain::time::rfc3339(t)).ok())
    };
    v.published = date(facts.published);
    v.updated = date(facts.modified);
    // CycloneDX 1.5 has no field for EPSS or KEV: properties, as other tools write them.
    let mut props = Vec::new();
    if let Some(e) = facts.epss {
        props.push(Property::new("exportcenter:epss", &e.score.to_string()));
        if let Some(p) = e.percentile {
            props.push(Property::new(
                "exportcenter:epss_percentile",
                &p.to_string(),
            ));
        }
        if let Some(d) = &e.date {
            props.push(Property::new("exportcenter:epss_date", d));
        }
    }
    if facts.known_exploited {
        props.push(Property::new("exportcenter:known_exploited", "true"));
    }
    v.properties = (!props.is_empty()).then_some(Properties(props));
    v
}

fn cdx_source(s: &AdvisorySource) -> VulnerabilitySource {
    VulnerabilitySource::new(Some(s.name.clone()), Uri::try_from(s.url.clone()).ok())
}

/// Distinct values in first-seen order. A vulnerability has a handful of references,
/// aliases and fixes: a linear search beats hashing them.
fn unique<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Every distinct CVSS score of the findings, then the scanners' own severity.
fn ratings(findings: &[&Finding], scanners: &BTreeSet<&str>) -> Vec<VulnerabilityRating> {
    let mut cvss: Vec<&Cvss> = Vec::new();
    for c in findings.iter().flat_map(|f| f.cvss.iter()) {
        if (c.score.is_some() || c.vector.is_some()) && !cvss.contains(&c) {
            cvss.push(c);
        }
    }
    let mut out = Vec::with_capacity(cvss.len() + 1);
    out.extend(cvss.into_iter().map(|c| VulnerabilityRating {
        vulnerability_source: Some(VulnerabilitySource::new(Some(c.source.clone()), None)),
        score: c.score.map(|s| Score::from(s as f32)),
        severity: c.score.map(|s| cvss_severity(&c.version, s)),
        score_method: score_method(&c.version),
        vector: c.vector.as_deref().map(NormalizedString::new),
        justification: None,
    }));
    let worst = worst(findings.iter().map(|f| f.severity));
    // No method: cyclonedx-bom 0.8 refuses the schema's "other" in 1.5, and the field is
    // optional.
    out.push(VulnerabilityRating {
        vulnerability_source: Some(VulnerabilitySource::new(
            Some(scanners.iter().copied().collect::<Vec<_>>().join(", ")),
            None,
        )),
        score: None,
        severity: Some(cdx_severity(worst)),
        score_method: None,
        vector: None,
        justification: None,
    });
    out
}

fn score_method(version: &str) -> Option<ScoreMethod> {
    Some(match version {
        "2.0" | "2" => ScoreMethod::CVSSv2,
        "3.0" | "3" => ScoreMethod::CVSSv3,
        "3.1" => ScoreMethod::CVSSv31,
        "4.0" | "4" => ScoreMethod::CVSSv4,
        _ => return None,
    })
}

/// The qualitative rating of a CVSS base score (v2 has no critical band).
fn cvss_severity(version: &str, score: f64) -> CdxSeverity {
    let v2 = version.starts_with('2');
    match score {
        s if s <= 0.0 => CdxSeverity::None,
        s if s < 4.0 => CdxSeverity::Low,
        s if s < 7.0 => CdxSeverity::Medium,
        s if s < 9.0 || v2 => CdxSeverity::High,
        _ => CdxSeverity::Critical,
    }
}

fn cdx_severity(s: Severity) -> CdxSeverity {
    match s {
        Severity::Critical => CdxSeverity::Critical,
        Severity::High => CdxSeverity::High,
        Severity::Medium => CdxSeverity::Medium,
        Severity::Low => CdxSeverity::Low,
        Severity::Negligible => CdxSeverity::Info,
        Severity::Unknown => CdxSeverity::Unknown,
    }
}
