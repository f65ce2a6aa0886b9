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
            let r = rank(f.severity);
            let fixable = f.fixed_version.as_deref().is_some_and(|v| !v.is_empty());
            let (decision, reason) = if let Some(st) = suppressed {
                (Decision::Pass, format!("VEX status {}", st.as_str()))
            } else if r >= rank(cfg.fail_at) && (fixable || !cfg.fail_only_if_fixable) {
                (
                    Decision::Fail,
                    format!(
                        "{} severity at or above {}",
                        f.severity.as_str(),
                        cfg.fail_at.as_str()
                    ),
                )
            } else if r >= rank(cfg.warn_at) {
                let why = if r >= rank(cfg.fail_at) {
                    "no fix available yet"
                } else {
                    "severity at or above warn threshold"
                };
                (
                    Decision::Warn,
                    format!("{} severity: {why}", f.severity.as_str()),
                )
            } else {
                (
                    Decision::Pass,
                    format!("{} severity below thresholds", f.severity.as_str()),
                )
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
    }
}
