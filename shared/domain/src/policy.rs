//! The built-in policy: verdicts by severity and fix availability, used when no Policy
//! service is configured.

use serde::{Deserialize, Serialize};

use crate::scan::{Decision, FindingVerdict, Scan, Severity, Verdicts, VexStatement};

/// Thresholds of the built-in policy (environment: `EXPORTCENTER_POLICY_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyConfig {
    /// Findings at or above this severity fail the scan...
    pub fail_at: Severity,
    /// ...but only when a fix exists, if set (nothing to act on otherwise: warn instead).
    pub fail_only_if_fixable: bool,
    /// Findings at or above this severity (and not failing) warn.
    pub warn_at: Severity,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            fail_at: Severity::High,
            fail_only_if_fixable: true,
            warn_at: Severity::Medium,
        }
    }
}

/// Higher is worse.
pub fn rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Low => 2,
        Severity::Negligible => 1,
        Severity::Unknown => 0,
    }
}

pub const POLICY_NAME: &str = "exportcenter-builtin/v1";

/// Verdicts for every finding of `scan`; VEX statements that suppress a finding make it pass.
pub fn evaluate(cfg: &PolicyConfig, scan: &Scan, vex: &[VexStatement]) -> Verdicts {
    let findings: Vec<FindingVerdict> = scan
        .findings
        .iter()
        .map(|f| {
            let suppressed =
                crate::vex::effective_status(vex, &f.vulnerability_id, f.purl.as_deref())
                    .filter(|st| st.suppresses());
            // An unknown severity is decided by the best CVSS score, when there is one.
            let (severity, rated) = match (f.severity, f.max_score()) {
                (Severity::Unknown, Some(score)) => (
                    Severity::from_score(score),
                    format!("unknown severity, rated by its best CVSS {score:.1} as"),
                ),
                (s, _) => (s, String::new()),
            };
            let named = if rated.is_empty() {
                severity.as_str().to_string()
            } else {
                format!("{rated} {}", severity.as_str())
            };
            let r = rank(severity);
            let fixable = f.fixed_version.as_deref().is_some_and(|v| !v.is_empty());
            let (decision, reason) = if let Some(st) = suppressed {
                (Decision::Pass, format!("VEX status {}", st.as_str()))
            } else if r >= rank(cfg.fail_at) && (fixable || !cfg.fail_only_if_fixable) {
                (
                    Decision::Fail,
                    format!("{named} severity at or above {}", cfg.fail_at.as_str()),
                )
            } else if r >= rank(cfg.warn_at) {
                let why = if r >= rank(cfg.fail_at) {
                    "no fix available yet"
                } else {
                    "severity at or above warn threshold"
                };
                (Decision::Warn, format!("{named} severity: {why}"))
            } else {
                (Decision::Pass, format!("{named} severity below thresholds"))
            };
            FindingVerdict {
                vulnerability_id: f.vulnerability_id.clone(),
                package: f.package.clone(),
                installed_version: f.installed_version.clone(),
                decision,
                reason,
            }
        })
        .collect();
    let decision = findings
        .iter()
        .map(|v| v.decision)
        .max()
        .unwrap_or(Decision::Pass);
    Verdicts {
        scan_id: scan.scan_id.clone(),
        policy: POLICY_NAME.into(),
        decision,
        findings,
        thresholds: Some(cfg.describe()),
    }
}

impl PolicyConfig {
    /// `fail at high or worse (only when a fix exists); warn at medium or worse`.
    pub fn describe(&self) -> String {
        let fixable = if self.fail_only_if_fixable {
            " (only when a fix exists; else warn)"
        } else {
            ""
        };
        format!(
            "fail at {} or worse{fixable}; warn at {} or worse; VEX not_affected and fixed pass; an unknown severity is rated by its best CVSS score",
            self.fail_at, self.warn_at
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Cvss, Finding, ScannedArtifact, Scanner};

    fn scan(findings: Vec<Finding>) -> Scan {
        Scan {
            scan_id: "scan-1".parse().unwrap(),
            tenant_id: "t".parse().unwrap(),
            artifact: ScannedArtifact {
                name: "app".into(),
                kind: "container_image".into(),
                digest: None,
                os: None,
            },
            scanner: Scanner {
                name: "grype".into(),
                version: None,
            },
            source_format: "grype".into(),
            scanned_at: time::OffsetDateTime::UNIX_EPOCH,
            ingested_at: time::OffsetDateTime::UNIX_EPOCH,
            scanned_at_known: true,
            assessed: true,
            document_sha256: String::new(),
            document_name: None,
            document_size: None,
            components: Vec::new(),
            dependencies: Vec::new(),
            findings,
        }
    }

    fn finding(id: &str, severity: Severity, score: Option<f64>) -> Finding {
        let mut f = Finding::new(id, "openssl", "1.0", severity);
        f.fixed_version = Some("1.1".into());
        f.cvss = score
            .map(|s| Cvss {
                source: "vendor".into(),
                version: "3.1".into(),
                vector: None,
                score: Some(s),
            })
            .into_iter()
            .collect();
        f
    }

    /// Issue 13, defect 7: an unknown severity falls back to the best CVSS, and says so.
    #[test]
    fn unknown_severity_is_decided_by_the_best_cvss() {
        let v = evaluate(
            &PolicyConfig::default(),
            &scan(vec![
                finding("CVE-A", Severity::Unknown, Some(7.5)),
                finding("CVE-B", Severity::Unknown, Some(5.0)),
                finding("CVE-C", Severity::Unknown, None),
                finding("CVE-D", Severity::Low, Some(9.8)),
            ]),
            &[],
        );
        let d: Vec<(Decision, &str)> = v
            .findings
            .iter()
            .map(|f| (f.decision, f.reason.as_str()))
            .collect();
        assert_eq!(d[0].0, Decision::Fail, "{}", d[0].1);
        assert!(
            d[0].1.contains("unknown severity") && d[0].1.contains("7.5"),
            "{}",
            d[0].1
        );
        assert_eq!(d[1].0, Decision::Warn, "{}", d[1].1);
        assert_eq!(d[2].0, Decision::Pass, "{}", d[2].1);
        assert_eq!(
            d[3].0,
            Decision::Pass,
            "a known severity stands: {}",
            d[3].1
        );
        assert_eq!(v.decision, Decision::Fail);
    }
}
