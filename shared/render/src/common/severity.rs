//! How a report sums up the severities of a group of findings (a SARIF rule, a CycloneDX
//! vulnerability, a PDF rule): by the worst. The CVSS entry a report prints for one finding
//! is [`crate::view::FindingRow::best_cvss`].

use ec_domain::scan::Severity;

/// The most severe of the severities (`Severity` orders critical first); `unknown` when
/// there are none.
pub(crate) fn worst(severities: impl IntoIterator<Item = Severity>) -> Severity {
    severities.into_iter().min().unwrap_or(Severity::Unknown)
}
