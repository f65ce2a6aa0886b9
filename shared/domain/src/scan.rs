//! The native scan model every scanner format is read into, and the other inputs of an
//! export (verdicts, VEX statements, SBOM) as the data sources return them.

use std::collections::BTreeMap;

use crate::id_types::{ScanId, TenantId};
use crate::natural::NaturalId;
use crate::shared_text::SharedText;
use crate::wire::string_enum;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

string_enum!(
    /// How bad a finding is, as every format names it.
    Severity {
        Critical = "critical",
        High = "high",
        Medium = "medium",
        Low = "low",
        Negligible = "negligible",
        Unknown = "unknown",
    }
);

impl Severity {
    /// The severity a CVSS score falls in (the CVSS v3 qualitative ratings; 0.0 is
    /// negligible).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            0.0 => Severity::Negligible,
            _ => Severity::Unknown,
        }
    }

    /// Reads a scanner's severity word, case-insensitively; anything else is `unknown`.
    pub fn parse_lenient(s: &str) -> Severity {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" => Severity::Low,
            "negligible" | "none" | "info" | "informational" => Severity::Negligible,
            _ => Severity::Unknown,
        }
    }
}

/// What was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannedArtifact {
    /// Image reference, path or repository as the scanner named it.
    pub name: String,
    /// `container_image`, `filesystem`, `repository`, ... as reported.
    pub kind: String,
    /// Content digest (`sha256:...`) when the scanner reported one.
    pub digest: Option<String>,
    pub os: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scanner {
    pub name: String,
    pub version: Option<String>,
}

/// A package found in the artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub version: String,
    /// Ecosystem or package type (`apk`, `deb`, `npm`, `gomod`, ...).
    pub package_type: Option<String>,
    pub purl: Option<String>,
    /// Where it was found (lock file, image layer target).
    pub location: Option<String>,
    pub licenses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// Who scored it (`nvd`, `redhat`, `ghsa`, ...).
    pub source: String,
    /// `2.0`, `3.0`, `3.1`, `4.0`.
    pub version: String,
    pub vector: Option<String>,
    pub score: Option<f64>,
}

/// One vulnerability in one package of one target. Serialised as one flat object
/// (`crate::finding_wire`).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub vulnerability_id: String,
    pub aliases: Vec<String>,
    pub package: String,
    pub package_type: Option<String>,
    pub purl: Option<String>,
    pub installed_version: String,
    pub fixed_version: Option<String>,
    pub severity: Severity,
    pub cvss: Vec<Cvss>,
    /// Shared with the other findings of the same vulnerability (see `shared_text`).
    pub title: Option<SharedText>,
    pub description: Option<SharedText>,
    pub references: Vec<SharedText>,
    /// Scanner's own status (`fixed`, `affected`, `will_not_fix`, ...), when given.
    pub status: Option<String>,
    /// The scan target the package was found in (image layer OS, lock file path).
    pub target: Option<String>,
    /// CWE numbers of the weakness (`79` for CWE-79), ascending, as the scanner gave them.
    pub cwes: Vec<u32>,
    /// What else the scanner said about it (dates, where its severity came from, EPSS…),
    /// serialised beside the other fields.
    pub details: FindingDetails,
}

/// A finding's further fields, each absent when the scanner gives none. Kept in one struct
/// so that adding one does not touch every place that builds a finding. Serialised beside
/// the finding's other fields (`crate::finding_wire`, which holds their names and skip rules).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingDetails {
    /// When the vulnerability was published (Trivy `PublishedDate`).
    pub published: Option<OffsetDateTime>,
    /// When its record last changed (Trivy `LastModifiedDate`).
    pub modified: Option<OffsetDateTime>,
    /// Whose rating `severity` is (Trivy `SeveritySource`, a CycloneDX rating's source).
    pub severity_source: Option<String>,
    /// Every vendor's own severity (Trivy `VendorSeverity`), by vendor.
    pub vendor_severity: BTreeMap<String, Severity>,
    /// The image layer the package came from (Trivy `Layer.Digest`, else `Layer.DiffID`).
    pub layer: Option<String>,
    /// FIRST's exploit prediction (Grype `epss`).
    pub epss: Option<Epss>,
    /// Listed in CISA's Known Exploited Vulnerabilities catalogue (Grype `knownExploited`).
    pub known_exploited: bool,
}

/// An EPSS estimate: the probability of exploitation in the next 30 days, its percentile,
/// and the day it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    pub score: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

impl Finding {
    /// A finding with only its identity and severity (what tests and synthetic inputs
    /// start from); every other field empty.
    pub fn new(id: &str, package: &str, installed_version: &str, severity: Severity) -> Finding {
        Finding {
            vulnerability_id: id.into(),
            aliases: Vec::new(),
            package: package.into(),
            package_type: None,
            purl: None,
            installed_version: installed_version.into(),
            fixed_version: None,
            severity,
            cvss: Vec::new(),
            title: None,
            description: None,
            references: Vec::new(),
            status: None,
            target: None,
            cwes: Vec::new(),
            details: FindingDetails::default(),
        }
    }

    /// The package a finding names, as an inventory entry (where a scanner lists no
    /// packages of its own, its findings are the inventory).
    pub fn component(&self) -> Component {
        Component {
            name: self.package.clone(),
            version: self.installed_version.clone(),
            package_type: self.package_type.clone(),
            purl: self.purl.clone(),
            location: self.target.clone(),
            licenses: Vec::new(),
        }
    }

    /// The severity decisions use: the scanner's, or for an unknown one the band of the
    /// best CVSS score (still unknown without a score).
    pub fn effective_severity(&self) -> Severity {
        match (self.severity, self.max_score()) {
            (Severity::Unknown, Some(score)) => Severity::from_score(score),
            (s, _) => s,
        }
    }

    /// The highest CVSS base score reported by any source.
    pub fn max_score(&self) -> Option<f64> {
        self.cvss
            .iter()
            .filter_map(|c| c.score)
            .fold(None, |acc, s| match acc {
                Some(a) if a >= s => Some(a),
                _ => Some(s),
            })
    }

    /// The order findings appear in every report, stable across runs: by target, package
    /// and version, then the most severe first, then by id in natural order
    /// (`CVE-2016-1234` before `CVE-2016-10739`).
    pub fn sort_key(&self) -> (Option<&str>, &str, &str, Severity, NaturalId<'_>) {
        (
            self.target.as_deref(),
            self.package.as_str(),
            self.installed_version.as_str(),
            self.severity,
            NaturalId(&self.vulnerability_id),
        )
    }
}

/// A scan in the native model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub scan_id: ScanId,
    pub tenant_id: TenantId,
    pub artifact: ScannedArtifact,
    pub scanner: Scanner,
    /// `trivy`, `grype`, ... and the descriptor/schema version that was read.
    pub source_format: String,
    /// When the document says the scan ran; its ingest time when it does not say
    /// (`scanned_at_known` false): date ranges and relative windows select by this time.
    #[serde(with = "crate::time::serde_rfc3339")]
    pub scanned_at: OffsetDateTime,
    /// Whether the document gave `scanned_at` (reports say "scan time unknown" otherwise).
    #[serde(default = "known", skip_serializing_if = "is_known")]
    pub scanned_at_known: bool,
    /// Whether the document says anything about vulnerabilities: false for an SBOM alone
    /// (SPDX, a CycloneDX BOM without `vulnerabilities`), whose reports say "not assessed"
    /// instead of a verdict.
    #[serde(default = "known", skip_serializing_if = "is_known")]
    pub assessed: bool,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub ingested_at: OffsetDateTime,
    /// sha256 of the ingested document bytes.
    pub document_sha256: String,
    /// The document's file name as given (offline: the path's base name; API: the
    /// `filename` of `Content-Disposition`), for auditors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_name: Option<String>,
    /// The document's size in bytes as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_size: Option<u64>,
    pub components: Vec<Component>,
    /// Which component depends on which, by purl, where the document said so.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    pub findings: Vec<Finding>,
}

/// A component's direct dependencies, all named by purl.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dependency {
    pub purl: String,
    pub depends_on: Vec<String>,
}

impl Scan {
    /// The SBOM built from the scan's own package list.
    pub fn derived_sbom(&self) -> Sbom {
        Sbom {
            artifact_digest: self
                .artifact
                .digest
                .clone()
                .unwrap_or_else(|| self.scan_id.to_string()),
            source_format: "derived".into(),
            components: self.components.clone(),
        }
    }

    /// Puts components and findings in their canonical order and removes exact repeats.
    pub fn normalise(&mut self) {
        // Unstable sorts where elements that compare equal are identical (Ord derived over
        // every field): the same order, without a stable sort's scratch copy of 100,000
        // components.
        self.components.sort_unstable();
        self.components.dedup();
        for d in &mut self.dependencies {
            d.depends_on.sort_unstable();
            d.depends_on.dedup();
        }
        self.dependencies.sort_unstable();
        self.dependencies.dedup();
        crate::finding_order::sort(&mut self.findings);
    }

    pub fn severity_counts(&self) -> BTreeMap<Severity, usize> {
        severity_counts(self.findings.iter())
    }
}

pub fn severity_counts<'a>(
    findings: impl Iterator<Item = &'a Finding>,
) -> BTreeMap<Severity, usize> {
    let mut m: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in findings {
        *m.entry(f.severity).or_default() += 1;
    }
    m
}

/// The scan's summary row as listed in catalogues.
fn known() -> bool {
    true
}

fn is_known(k: &bool) -> bool {
    *k
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    pub scan_id: ScanId,
    pub tenant_id: TenantId,
    pub artifact_name: String,
    pub artifact_digest: Option<String>,
    pub source_format: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub scanned_at: OffsetDateTime,
    pub findings: usize,
    pub components: usize,
    /// When it was ingested (absent on summaries stored before it was recorded).
    #[serde(
        default,
        with = "crate::time::serde_rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ingested_at: Option<OffsetDateTime>,
}

impl From<&Scan> for ScanSummary {
    fn from(s: &Scan) -> Self {
        ScanSummary {
            scan_id: s.scan_id.clone(),
            tenant_id: s.tenant_id.clone(),
            artifact_name: s.artifact.name.clone(),
            artifact_digest: s.artifact.digest.clone(),
            source_format: s.source_format.clone(),
            scanned_at: s.scanned_at,
            findings: s.findings.len(),
            components: s.components.len(),
            ingested_at: None,
        }
    }
}

string_enum!(
    /// A policy's verdict.
    Decision { Pass = "pass", Warn = "warn", Fail = "fail" }
);

/// A policy verdict on one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingVerdict {
    pub vulnerability_id: String,
    pub package: String,
    pub installed_version: String,
    pub decision: Decision,
    pub reason: String,
}

/// The policy's answer for one scan (`GET /internal/verdicts/{scan_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts {
    pub scan_id: ScanId,
    pub policy: String,
    pub decision: Decision,
    pub findings: Vec<FindingVerdict>,
    /// The policy's thresholds in words (the built-in policy's; a policy service may give
    /// none), for auditors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<String>,
}

string_enum!(
    /// A VEX statement's status.
    VexStatus {
        NotAffected = "not_affected",
        Affected = "affected",
        Fixed = "fixed",
        UnderInvestigation = "under_investigation",
    }
);

impl VexStatus {
    /// `not_affected` and `fixed` suppress a finding (shown, but marked).
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }
}

/// A VEX statement applied to a scan (`GET /internal/vex/applied/{scan_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VexStatement {
    pub vulnerability_id: String,
    /// Product or package identifiers (purls) the statement is about.
    pub products: Vec<String>,
    pub status: VexStatus,
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    pub action_statement: Option<String>,
    #[serde(with = "crate::time::serde_rfc3339::option")]
    pub timestamp: Option<OffsetDateTime>,
    /// Document the statement came from (`@id`, CSAF tracking id, ...).
    pub source: Option<String>,
}

/// An SBOM as the SBOM service returns it (`GET /internal/sboms/{digest}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    pub artifact_digest: String,
    /// `cyclonedx`, `spdx`, or `derived` when built from the scan's own package list.
    pub source_format: String,
    pub components: Vec<Component>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &str, severity: Severity) -> Finding {
        Finding::new(id, "glibc", "2.24", severity)
    }

    /// Issue 13, defect 9: within a package, findings go by severity, then by id with its
    /// numbers compared as numbers.
    #[test]
    fn findings_of_a_package_sort_by_severity_then_numeric_id() {
        let mut f = [
            finding("CVE-2016-10739", Severity::Low),
            finding("CVE-2016-1234", Severity::Low),
            finding("CVE-2019-9169", Severity::Critical),
            finding("CVE-2016-999", Severity::Unknown),
        ];
        f.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let ids: Vec<&str> = f.iter().map(|f| f.vulnerability_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "CVE-2019-9169",
                "CVE-2016-1234",
                "CVE-2016-10739",
                "CVE-2016-999"
            ]
        );
    }
}
