//! CycloneDX vulnerabilities: one finding per affected ref, the severity of the
//! vulnerability's own source, CVSS entries from the ratings, and an `analysis` as a VEX
//! statement (see the module above for the rules).

use ec_domain::scan::{Cvss, Finding, Severity, VexStatement, VexStatus};
use ec_domain::shared_text::SharedText;

use super::document::{Rating, Reference, Source, Vulnerability};
use super::{Bom, Target};
use crate::IngestError;
use crate::json::{cvss_version_of_vector, parse_timestamp, push_unique, push_unique_shared};
use crate::lenient::Obj;
use crate::purl::{purl_type, purl_version};

pub(super) fn read_vulnerability(
    bom: &Bom<'_>,
    v: Option<&Vulnerability<'_>>,
    at: &str,
    source: &str,
    doc_time: Option<time::OffsetDateTime>,
) -> Result<(Vec<Finding>, Option<VexStatement>), IngestError> {
    let format = bom.format;
    let Some((v, id)) = v.and_then(|v| Some((v, v.id.as_str()?))) else {
        return Err(IngestError::invalid(format, format!("{at}: missing id")));
    };
    let ratings: Vec<&Rating<'_>> = v.ratings.iter().filter_map(Obj::get).collect();
    let vuln_source = Source::name_of(&v.source);
    let cvss = cvss_of(&ratings, vuln_source);

    let refs: Vec<&Reference<'_>> = v.references.iter().filter_map(Obj::get).collect();
    let mut aliases = Vec::new();
    for r in &refs {
        if let Some(alias) = r.id.as_str().filter(|a| *a != id) {
            push_unique(&mut aliases, alias);
        }
    }
    let mut references = Vec::new();
    if let Some(u) = Source::url_of(&v.source) {
        push_unique_shared(&mut references, u);
    }
    for a in v.advisories.iter().filter_map(Obj::get) {
        if let Some(u) = a.url.as_str() {
            push_unique_shared(&mut references, u);
        }
    }
    for r in &refs {
        if let Some(u) = Source::url_of(&r.source) {
            push_unique_shared(&mut references, u);
        }
    }
    let mut cwes: Vec<u32> = v
        .cwes
        .iter()
        .filter_map(|c| c.0)
        .filter_map(|c| u32::try_from(c).ok())
        .collect();
    cwes.sort_unstable();
    cwes.dedup();
    let description: Vec<String> = [
        v.description.owned(),
        v.detail.owned(),
        v.recommendation
            .as_str()
            .map(|r| format!("Recommendation: {r}")),
        v.workaround.as_str().map(|w| format!("Workaround: {w}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let description: Option<SharedText> =
        (!description.is_empty()).then(|| description.join("\n\n").into());
    let (severity, severity_source) = severity_of(&ratings, vuln_source);
    let published = v.published.as_str().and_then(parse_timestamp);
    let modified = v.updated.as_str().and_then(parse_timestamp);

    let mut findings = Vec::new();
    let mut products = Vec::new();
    for (j, affect) in v.affects.iter().enumerate() {
        let Some((affect, reference)) = affect.get().and_then(|a| Some((a, a.reference.as_str()?)))
        else {
            return Err(IngestError::invalid(
                format,
                format!("{at}.affects[{j}]: missing ref"),
            ));
        };
        let target = bom.resolve(reference);
        push_unique(&mut products, &target.product(reference));
        let (package, installed_version, purl) = match &target {
            Target::Component(c) => (c.name.clone(), c.version.clone(), c.purl.clone()),
            Target::Elsewhere { reference, purl } => (
                reference.clone(),
                purl.as_deref().and_then(purl_version).unwrap_or_default(),
                purl.clone(),
            ),
        };
        let fixed: Vec<&str> = affect
            .versions
            .iter()
            .filter_map(Obj::get)
            .filter(|r| r.status.as_str() == Some("unaffected"))
            .filter_map(|r| r.version.as_str())
            .collect();
        findings.push(Finding {
            vulnerability_id: id.to_string(),
            aliases: aliases.clone(),
            package,
            package_type: purl.as_deref().and_then(purl_type),
            purl,
            installed_version,
            fixed_version: (!fixed.is_empty()).then(|| fixed.join(", ")),
            severity,
            cvss: cvss.clone(),
            title: None,
            description: description.clone(),
            references: references.clone(),
            status: None,
            target: None,
            cwes: cwes.clone(),
            details: ec_domain::scan::FindingDetails {
                severity_source: severity_source.clone(),
                published,
                modified,
                ..Default::default()
            },
        });
    }

    let statement = match v.analysis.get().and_then(|a| Some((a, a.state.as_str()?))) {
        None => None,
        Some((analysis, state)) => {
            let status = match state {
                "not_affected" | "false_positive" => VexStatus::NotAffected,
                "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
                "exploitable" => VexStatus::Affected,
                "in_triage" => VexStatus::UnderInvestigation,
                other => {
                    return Err(IngestError::invalid(
                        format,
                        format!("{at}.analysis.state {other:?} is not an impact analysis state"),
                    ));
                }
            };
            let responses: Vec<&str> = analysis.response.iter().collect();
            Some(VexStatement {
                vulnerability_id: id.to_string(),
                products,
                status,
                justification: analysis.justification.owned(),
                impact_statement: analysis.detail.owned(),
                action_statement: (!responses.is_empty()).then(|| responses.join(", ")),
                timestamp: analysis
                    .last_updated
                    .as_str()
                    .or_else(|| analysis.first_issued.as_str())
                    .and_then(parse_timestamp)
                    .or(doc_time),
                source: Some(source.to_string()),
            })
        }
    };
    Ok((findings, statement))
}

/// Ratings whose method is a CVSS version (`CVSSv2`, `CVSSv3`, `CVSSv31`, `CVSSv4`) or whose
/// vector declares one, with a score or a vector.
fn cvss_of(ratings: &[&Rating<'_>], vuln_source: Option<&str>) -> Vec<Cvss> {
    let mut out: Vec<Cvss> = Vec::new();
    for r in ratings {
        let vector = r.vector.owned();
        let version = match r.method.as_str() {
            Some("CVSSv2") => Some("2.0".to_string()),
            Some("CVSSv3") => Some("3.0".to_string()),
            Some("CVSSv31") => Some("3.1".to_string()),
            Some("CVSSv4") => Some("4.0".to_string()),
            _ => vector.as_deref().and_then(cvss_version_of_vector),
        };
        let score = r.score.0;
        let Some(version) = version else { continue };
        if vector.is_none() && score.is_none() {
            continue;
        }
        let c = Cvss {
            source: Source::name_of(&r.source)
                .or(vuln_source)
                .unwrap_or("unknown")
                .to_string(),
            version,
            vector,
            score,
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The scanner's severity: the rating whose `source.name` is the vulnerability's own source
/// (a Trivy-made BOM names the finding's `SeveritySource` there), else the first rating;
/// the rating's stated severity, or the band of its score. Other ratings stay in `cvss`.
fn severity_of(ratings: &[&Rating<'_>], vuln_source: Option<&str>) -> (Severity, Option<String>) {
    let of_source = vuln_source.and_then(|src| {
        ratings.iter().find(|r| {
            Source::name_of(&r.source).is_some_and(|n| n.eq_ignore_ascii_case(src))
                && rating_severity(r).is_some()
        })
    });
    let chosen = of_source.or_else(|| ratings.iter().find(|r| rating_severity(r).is_some()));
    match chosen.and_then(|r| Some((rating_severity(r)?, r))) {
        Some((s, r)) => (s, Source::name_of(&r.source).map(str::to_string)),
        None => (Severity::Unknown, None),
    }
}

/// What one rating says: its severity word, else its score's band.
fn rating_severity(r: &Rating<'_>) -> Option<Severity> {
    r.severity
        .as_str()
        .map(Severity::parse_lenient)
        .filter(|s| *s != Severity::Unknown)
        .or_else(|| r.score.0.map(Severity::from_score))
        .filter(|s| *s != Severity::Unknown)
}
