//! A VEX statement as a CycloneDX impact analysis: its state, its justification in
//! CycloneDX's enumeration (else in the detail), the impact and action statements.

use cyclonedx_bom::models::vulnerability_analysis::{
    ImpactAnalysisJustification, ImpactAnalysisState, VulnerabilityAnalysis,
};
use cyclonedx_bom::prelude::DateTime;

use ec_domain::scan::{VexStatement, VexStatus};

/// The VEX statement in force as a CycloneDX impact analysis.
pub(super) fn analysis(s: &VexStatement) -> VulnerabilityAnalysis {
    let state = match s.status {
        VexStatus::NotAffected => ImpactAnalysisState::NotAffected,
        VexStatus::Affected => ImpactAnalysisState::Exploitable,
        VexStatus::Fixed => ImpactAnalysisState::Resolved,
        VexStatus::UnderInvestigation => ImpactAnalysisState::InTriage,
    };
    let justification = s.justification.as_deref().and_then(justification);
    let mut detail: Vec<String> = Vec::new();
    if let Some(j) = &s.justification
        && justification.is_none()
    {
        detail.push(format!("Justification: {j}"));
    }
    if let Some(i) = &s.impact_statement {
        detail.push(i.clone());
    }
    if let Some(a) = &s.action_statement {
        detail.push(format!("Action: {a}"));
    }
    if let Some(src) = &s.source {
        detail.push(format!("Source: {src}"));
    }
    let mut a = VulnerabilityAnalysis::new(Some(state), justification, None);
    a.detail = (!detail.is_empty()).then(|| detail.join("\n"));
    a.last_updated = s
        .timestamp
        .and_then(|t| DateTime::try_from(ec_domain::time::rfc3339(t)).ok());
    a
}

/// OpenVEX / CSAF justifications (and CycloneDX's own, when the statement came from a
/// CycloneDX VEX) mapped to CycloneDX's enumeration.
fn justification(j: &str) -> Option<ImpactAnalysisJustification> {
    use ImpactAnalysisJustification::*;
    Some(match j {
        "component_not_present" | "vulnerable_code_not_present" | "code_not_present" => {
            CodeNotPresent
        }
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => CodeNotReachable,
        "vulnerable_code_cannot_be_controlled_by_adversary" | "requires_environment" => {
            RequiresEnvironment
        }
        "inline_mitigations_already_exist" | "protected_by_mitigating_control" => {
            ProtectedByMitigatingControl
        }
        "requires_configuration" => RequiresConfiguration,
        "requires_dependency" => RequiresDependency,
        "protected_by_compiler" => ProtectedByCompiler,
        "protected_at_runtime" => ProtectedAtRuntime,
        "protected_at_perimeter" => ProtectedAtPerimeter,
        _ => return None,
    })
}
