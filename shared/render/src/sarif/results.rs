//! One result per finding: its message, level, location (the manifest, lock file or image
//! it was found in), a fingerprint stable across exports, the package, verdict and VEX
//! decision as properties, and an accepted external suppression when VEX suppresses it.

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, PhysicalLocation, PropertyBag, Region,
    Result as SarifResult, Suppression,
};

use ec_domain::scan::Scan;

use super::rules::level;
use crate::common::advisory::URL_COMPONENT;
use crate::view::FindingRow;

const FINGERPRINT: &str = "exportcenter/v1";

pub(super) fn result(row: &FindingRow<'_>, rule_index: usize, uri: String) -> SarifResult {
    let f = row.finding;
    // Joined piece by piece: a result per finding, and `format!` is the slower way.
    let fixed = f.fixed_version.as_deref();
    let text = [
        f.package.as_str(),
        " ",
        &f.installed_version,
        " is affected by ",
        &f.vulnerability_id,
        " (",
        f.severity.as_str(),
        "); ",
        if fixed.is_some() {
            "fixed in "
        } else {
            "no fixed version is known"
        },
        fixed.unwrap_or_default(),
    ]
    .concat();
    let fingerprint = ec_domain::ids::sha256_hex(
        [
            f.vulnerability_id.as_str(),
            "|",
            f.purl.as_deref().unwrap_or(&f.package),
            "|",
            &f.installed_version,
            "|",
            f.target.as_deref().unwrap_or(""),
        ]
        .concat()
        .as_bytes(),
    );

    let mut props = BTreeMap::new();
    props.insert(
        "exportcenter.package".to_string(),
        json!({
            "name": f.package,
            "version": f.installed_version,
            "type": f.package_type,
            "purl": f.purl,
            "fixed_version": f.fixed_version,
        }),
    );
    props.insert("exportcenter.severity".to_string(), json!(f.severity));
    if let Some(v) = row.verdict {
        props.insert(
            "exportcenter.verdict".to_string(),
            json!({ "decision": v.decision, "reason": v.reason }),
        );
    }
    if let Some(v) = row.vex {
        props.insert(
            "exportcenter.vex".to_string(),
            json!({
                "status": v.status.as_str(),
                "justification": v.justification,
                "impact_statement": v.impact_statement,
                "source": v.source,
                "conflict": row.vex_conflict,
            }),
        );
    }
    let suppressions = row.vex.filter(|_| row.suppressed()).map(|v| {
        let mut why = format!("VEX {}", v.status.as_str());
        if let Some(j) = &v.justification {
            why.push_str(&format!(": {j}"));
        }
        if let Some(i) = &v.impact_statement {
            why.push_str(&format!(" — {i}"));
        }
        let mut sp = BTreeMap::new();
        if let Some(src) = &v.source {
            sp.insert("source".to_string(), json!(src));
        }
        if let Some(t) = v.timestamp {
            sp.insert("timestamp".to_string(), json!(ec_domain::time::rfc3339(t)));
        }
        vec![
            Suppression::builder()
                .kind(json!("external"))
                .status(json!("accepted"))
                .justification(why)
                .properties(PropertyBag::builder().additional_properties(sp).build())
                .build(),
        ]
    });
    let mut result = SarifResult::builder()
        .rule_id(f.vulnerability_id.as_str())
        .rule_index(rule_index as i64)
        .level(level(f.severity))
        .message(Message::builder().text(text).build())
        .locations(vec![
            Location::builder()
                .physical_location(
                    PhysicalLocation::builder()
                        .artifact_location(ArtifactLocation::builder().uri(uri).build())
                        .region(Region::builder().start_line(1).build())
                        .build(),
                )
                .build(),
        ])
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT.to_string(), fingerprint)]))
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    result.suppressions = suppressions;
    // Against `options.baseline`: `new` or `unchanged` (fixed findings have no result; the
    // run's properties list them).
    result.baseline_state = row
        .delta
        .map(|d| serde_json::Value::String(d.as_str().to_string()));
    result
}

/// Where GitHub shows the result: the manifest or lock file the package was found in, else
/// the scanned image or path, as a relative URI reference (percent-encoded, no leading `/`,
/// and a `:` never left where it would read as a scheme).
pub(super) fn artifact_uri(scan: &Scan, target: Option<&str>) -> String {
    let artifact = scan.artifact.name.as_str();
    // Trivy names OS targets `<image> (<os> <version>)`: that is the image itself.
    let path = match target {
        Some(t)
            if t.strip_prefix(artifact)
                .is_some_and(|r| r.starts_with(" (")) =>
        {
            artifact
        }
        Some(t) if !t.trim().is_empty() => t,
        _ => artifact,
    };
    let path = path.replace('\\', "/");
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .map(|s| percent_encoding::utf8_percent_encode(s, URL_COMPONENT).to_string())
        .collect();
    if segments.is_empty() {
        scan.scan_id.to_string()
    } else {
        segments.join("/")
    }
}
