//! Matching VEX statements to findings.

use crate::scan::{VexStatement, VexStatus};

/// Does a statement's product identifier name this package? Products are purls; a product
/// without a version matches every version, and qualifiers are ignored.
pub fn product_matches(product: &str, purl: Option<&str>) -> bool {
    let Some(purl) = purl else { return false };
    let strip = |s: &str| s.split(['?', '#']).next().unwrap_or(s).to_string();
    let (p, f) = (strip(product), strip(purl));
    if p == f {
        return true;
    }
    // `pkg:npm/foo` matches `pkg:npm/foo@1.2.3`.
    !p.contains('@') && f.split('@').next() == Some(p.as_str())
}

/// The status that applies to a finding: among matching statements the latest wins
/// (statements without timestamp count as oldest; on a tie the later one listed wins).
pub fn effective_status(
    vex: &[VexStatement],
    vulnerability_id: &str,
    purl: Option<&str>,
) -> Option<VexStatus> {
    matching(vex, vulnerability_id, purl)
        .last()
        .map(|s| s.status)
}

/// Statements about this finding, oldest first.
pub fn matching<'a>(
    vex: &'a [VexStatement],
    vulnerability_id: &str,
    purl: Option<&str>,
) -> Vec<&'a VexStatement> {
    let mut v: Vec<&VexStatement> = vex
        .iter()
        .filter(|s| s.vulnerability_id.eq_ignore_ascii_case(vulnerability_id))
        .filter(|s| s.products.is_empty() || s.products.iter().any(|p| product_matches(p, purl)))
        .collect();
    v.sort_by_key(|s| s.timestamp);
    v
}
