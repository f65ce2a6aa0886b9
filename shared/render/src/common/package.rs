//! What a package's purl and licenses are worth to an SBOM: whether the Package URL parser
//! accepts a purl, and the licenses as one SPDX expression. CycloneDX and SPDX decide the
//! same way.

use std::collections::HashSet;
use std::sync::OnceLock;

use cyclonedx_bom::external_models::uri::validate_purl;
use cyclonedx_bom::prelude::{Purl, SpdxExpression};

/// A purl the Package URL parser accepts (what CycloneDX validation and SPDX's purl
/// reference type require).
pub(crate) fn valid_purl(purl: &str) -> bool {
    purl.parse::<Purl>()
        .is_ok_and(|p| validate_purl(&p).is_ok())
}

/// The SPDX license list the CycloneDX schema enumerates (`spdx.schema.json` of the
/// CycloneDX specification: the same vendored copy the validators read, so the two cannot
/// differ). A string is a license id only when it is exactly on it.
const SPDX_LIST_SCHEMA: &str = include_str!("../../../../tests/schemas/spdx.schema.json");

pub(crate) fn is_listed_license_id(s: &str) -> bool {
    static IDS: OnceLock<HashSet<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        serde_json::from_str::<serde_json::Value>(SPDX_LIST_SCHEMA)
            .ok()
            .and_then(|v| v.get("enum").cloned())
            .and_then(|e| serde_json::from_value::<Vec<String>>(e).ok())
            .unwrap_or_default()
            .into_iter()
            .collect()
    })
    .contains(s)
}

/// A GNU-style "or later" license (`GFDL-1.2+`) as its listed id (`GFDL-1.2-or-later`).
pub(crate) fn or_later_id(s: &str) -> Option<String> {
    let id = format!("{}-or-later", s.strip_suffix('+')?);
    is_listed_license_id(&id).then_some(id)
}

/// The document's licenses as an SPDX expression, when every license string is a valid
/// SPDX identifier or expression (several are joined with AND: scanners list all that
/// apply). `None` when there are none or any is not valid SPDX.
pub(crate) fn spdx_expression(licenses: &[String]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for l in licenses {
        let l = l.trim();
        let or_later = or_later_id(l);
        let l = or_later.as_deref().unwrap_or(l);
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
