//! What a package's purl and licenses are worth to an SBOM: whether the Package URL parser
//! accepts a purl, and the licenses as one SPDX expression. CycloneDX and SPDX decide the
//! same way.

use cyclonedx_bom::external_models::uri::validate_purl;
use cyclonedx_bom::prelude::{Purl, SpdxExpression};

/// A purl the Package URL parser accepts (what CycloneDX validation and SPDX's purl
/// reference type require).
pub(crate) fn valid_purl(purl: &str) -> bool {
    purl.parse::<Purl>()
        .is_ok_and(|p| validate_purl(&p).is_ok())
}

/// The document's licenses as an SPDX expression, when every license string is a valid
/// SPDX identifier or expression (several are joined with AND: scanners list all that
/// apply). `None` when there are none or any is not valid SPDX.
pub(crate) fn spdx_expression(licenses: &[String]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for l in licenses {
        let l = l.trim();
        SpdxExpression::try_from(l.to_string()).ok()?;
        let compound = l.contains(' ');
        parts.push(if compound && licenses.len() > 1 {
            format!("({l})")
        } else {
            l.to_string()
        });
    }
    parts.dedup();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_expressions() {
        assert_eq!(spdx_expression(&["MIT".into()]).as_deref(), Some("MIT"));
        assert_eq!(
            spdx_expression(&["MIT".into(), "Apache-2.0 OR BSD-3-Clause".into()]).as_deref(),
            Some("MIT AND (Apache-2.0 OR BSD-3-Clause)")
        );
        assert_eq!(spdx_expression(&["MPLv2.0".into()]), None);
        assert_eq!(spdx_expression(&[]), None);
    }
}
