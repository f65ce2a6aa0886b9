//! The data of the body entries the templates print (a finding, a rule, a verdict, a
//! component): one
//! module both the templates that make them and the chunker that weighs them use, so
//! neither imports the other.

use serde::Serialize;

use ec_domain::scan::{Decision, Severity};

/// One finding as the detailed report prints it. The lines are composed here so that
/// the template sets few text runs (typst's cost grows with runs and style changes).
#[derive(Serialize)]
pub(super) struct FindingData<'a> {
    pub(super) severity: Severity,
    pub(super) id: &'a str,
    /// Aliases and the highest CVSS score with its source and vector.
    pub(super) head: String,
    pub(super) title: Option<&'a str>,
    /// Remediation (fixed version), scanner status and policy verdict.
    pub(super) line: String,
    /// The VEX decision in force, when a statement applies.
    pub(super) vex: Option<String>,
    pub(super) suppressed: bool,
    pub(super) description: Option<&'a str>,
    /// `package version` of the first finding of this vulnerability in the artifact, whose
    /// entry holds the description (scanners repeat it for every package affected).
    pub(super) described_under: Option<String>,
    /// CWE ids, dates, EPSS and KEV, then every CVSS vector with its source.
    pub(super) more: Option<String>,
    /// The first references, and how many more the data formats list.
    pub(super) references: Option<String>,
}

/// One rule (vulnerability id) in one target, with every package it hits and the fix.
#[derive(Serialize)]
pub(super) struct RuleData<'a> {
    pub(super) id: &'a str,
    pub(super) severity: Severity,
    pub(super) title: Option<&'a str>,
    pub(super) score: Option<String>,
    /// `name installed → fixed`, and the VEX status where a statement applies.
    pub(super) packages: Vec<String>,
}

/// One finding's verdict and VEX decision, as the audit trail lists them.
#[derive(Serialize)]
pub(super) struct VerdictRow<'a> {
    pub(super) severity: Severity,
    pub(super) id: &'a str,
    /// `name installed-version`.
    pub(super) package: String,
    pub(super) decision: Option<Decision>,
    /// The verdict's reason and the VEX decision.
    pub(super) note: String,
}

/// One component of an inventory (SBOM exports and `include_sbom`).
#[derive(Serialize)]
pub(super) struct ComponentRow<'a> {
    pub(super) name: &'a str,
    pub(super) version: &'a str,
    pub(super) package_type: Option<&'a str>,
    pub(super) purl: Option<&'a str>,
    /// Licenses joined with `; `.
    pub(super) licenses: String,
}
