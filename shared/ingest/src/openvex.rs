//! OpenVEX: v0.2.0 and the legacy v0.0.1 form, read by one lenient reader since the two
//! differ only in shape:
//!
//! * `vulnerability` is an object with `name` (v0.2.0) or a string (v0.0.1);
//! * `products` are objects with `@id`, `identifiers.purl` and `subcomponents` (v0.2.0) or
//!   strings (v0.0.1, where `subcomponents` is a list of strings on the statement).
//!
//! A statement names its products and their subcomponents together: a statement about an
//! image with subcomponents applies to the subcomponents' purls. Its timestamp is its own
//! `last_updated` or `timestamp`, else the document's. Its source is the document's `@id`,
//! or a stable id from the document's sha256 when it has none.

use ec_domain::scan::{VexStatement, VexStatus};
use serde_json::Value;

use crate::json::{array_at, parse_timestamp, push_unique, str_at, str_path, strict_array_at};
use crate::{IngestError, OPENVEX, OPENVEX_0_0_1, OPENVEX_0_2_0, Parsed};

/// Every OpenVEX `@context` starts with this.
pub const CONTEXT: &str = "https://openvex.dev/ns";

pub fn parse(doc: &Value, fallback_source: &str) -> Result<Parsed, IngestError> {
    let context = str_at(doc, "@context").unwrap_or_default();
    let format = match context.strip_prefix(CONTEXT).map(|v| v.trim_matches('/')) {
        Some("v0.2.0") => OPENVEX_0_2_0,
        Some("" | "v0.0.1") => OPENVEX_0_0_1,
        _ => {
            return Err(IngestError::invalid(
                OPENVEX,
                format!("@context {context:?} is not read (v0.0.1 and v0.2.0 are)"),
            ));
        }
    };
    let source = str_at(doc, "@id").unwrap_or(fallback_source);
    let doc_time = str_at(doc, "last_updated")
        .or_else(|| str_at(doc, "timestamp"))
        .and_then(parse_timestamp);
    let statements = strict_array_at(doc, "statements", format, "")?;
    let mut vex = Vec::with_capacity(statements.len());
    for (i, s) in statements.iter().enumerate() {
        let at = format!("statements[{i}]");
        let invalid = |why: String| IngestError::invalid(format, format!("{at}: {why}"));
        let vulnerability = match s.get("vulnerability") {
            Some(Value::String(id)) if !id.trim().is_empty() => id.as_str(),
            Some(v) => {
                str_at(v, "name").ok_or_else(|| invalid("missing vulnerability.name".into()))?
            }
            None => return Err(invalid("missing vulnerability".into())),
        };
        let status = match str_at(s, "status") {
            Some("not_affected") => VexStatus::NotAffected,
            Some("affected") => VexStatus::Affected,
            Some("fixed") => VexStatus::Fixed,
            Some("under_investigation") => VexStatus::UnderInvestigation,
            other => {
                return Err(invalid(format!(
                    "status {} is not an OpenVEX status",
                    other.unwrap_or("(missing)")
                )));
            }
        };
        let mut products = Vec::new();
        for p in array_at(s, "products") {
            push_identifiers(&mut products, p);
            for sub in array_at(p, "subcomponents") {
                push_identifiers(&mut products, sub);
            }
        }
        for sub in array_at(s, "subcomponents") {
            push_identifiers(&mut products, sub);
        }
        vex.push(VexStatement {
            vulnerability_id: vulnerability.to_string(),
            products,
            status,
            justification: str_at(s, "justification").map(str::to_string),
            impact_statement: str_at(s, "impact_statement").map(str::to_string),
            action_statement: str_at(s, "action_statement").map(str::to_string),
            timestamp: str_at(s, "last_updated")
                .or_else(|| str_at(s, "timestamp"))
                .and_then(parse_timestamp)
                .or(doc_time),
            source: Some(source.to_string()),
        });
    }
    Ok(Parsed {
        source_format: format,
        scan: None,
        vex,
    })
}

/// A product or subcomponent: a string, or an object's `@id` and `identifiers.purl`.
fn push_identifiers(out: &mut Vec<String>, component: &Value) {
    match component {
        Value::String(id) => push_unique(out, id),
        _ => {
            for id in [
                str_at(component, "@id"),
                str_path(component, &["identifiers", "purl"]),
            ]
            .into_iter()
            .flatten()
            {
                push_unique(out, id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::read;
    use crate::{OPENVEX_0_0_1, OPENVEX_0_2_0};
    use ec_domain::scan::VexStatus;
    use time::macros::datetime;

    // The legacy form, as openvex/go-vex's testdata/v0.0.1.json writes it, plus the fields
    // of its statement001 type.
    const LEGACY: &str = r#"{
      "@context": "https://openvex.dev/ns",
      "@id": "https://openvex.dev/docs/example/vex-9fb3463de1b57",
      "author": "Wolfi J Inkinson",
      "role": "Document Creator",
      "timestamp": "2023-01-08T18:02:03.647787998-06:00",
      "version": "1",
      "statements": [
        {
          "vulnerability": "CVE-2023-12345",
          "products": [
            "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7",
            "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64"
          ],
          "status": "fixed"
        },
        {
          "vulnerability": "CVE-2023-23946",
          "timestamp": "2023-02-01T10:00:00Z",
          "products": ["pkg:oci/wolfi-base@sha256%3Aabc"],
          "subcomponents": ["pkg:apk/wolfi/git@2.39.0-r1", ""],
          "status": "not_affected",
          "justification": "vulnerable_code_not_in_execute_path",
          "impact_statement": "git is only used at build time",
          "status_notes": "checked by hand"
        },
        {
          "vulnerability": "CVE-2023-22490",
          "products": ["pkg:apk/wolfi/git@2.39.0-r1"],
          "status": "affected",
          "action_statement": "upgrade to 2.39.2-r0",
          "action_statement_timestamp": "2023-02-15T00:00:00Z"
        }
      ]
    }"#;

    #[test]
    fn legacy_statements() {
        let i = read(LEGACY);
        assert!(i.scan.is_none());
        assert_eq!(i.source_format, OPENVEX_0_0_1);
        assert_eq!(i.vex.len(), 3);
        let doc_time = datetime!(2023-01-09 00:02:03 UTC);

        let s = &i.vex[0];
        assert_eq!(s.vulnerability_id, "CVE-2023-12345");
        assert_eq!(s.status, VexStatus::Fixed);
        assert_eq!(
            s.products,
            vec![
                "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7".to_string(),
                "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64".to_string()
            ]
        );
        assert_eq!(s.timestamp, Some(doc_time), "falls back to the document");
        assert_eq!(
            s.source.as_deref(),
            Some("https://openvex.dev/docs/example/vex-9fb3463de1b57")
        );

        let s = &i.vex[1];
        assert_eq!(s.status, VexStatus::NotAffected);
        assert_eq!(
            s.products,
            vec![
                "pkg:oci/wolfi-base@sha256%3Aabc".to_string(),
                "pkg:apk/wolfi/git@2.39.0-r1".to_string()
            ],
            "statement-level subcomponents join the products; blanks are dropped"
        );
        assert_eq!(
            s.justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert_eq!(
            s.impact_statement.as_deref(),
            Some("git is only used at build time")
        );
        assert_eq!(s.timestamp, Some(datetime!(2023-02-01 10:00:00 UTC)));

        let s = &i.vex[2];
        assert_eq!(s.status, VexStatus::Affected);
        assert_eq!(s.action_statement.as_deref(), Some("upgrade to 2.39.2-r0"));
        assert_eq!(s.timestamp, Some(doc_time));

        // The versioned legacy context reads the same.
        let versioned = LEGACY.replace(
            "\"https://openvex.dev/ns\"",
            "\"https://openvex.dev/ns/v0.0.1\"",
        );
        let again = read(&versioned);
        assert_eq!(again.source_format, OPENVEX_0_0_1);
        assert_eq!(again.vex, i.vex);
    }

    const NO_ID: &str = r#"{
      "@context": "https://openvex.dev/ns/v0.2.0",
      "author": "Aqua Security",
      "timestamp": "2023-01-16T19:07:16.853479631-06:00",
      "last_updated": "2023-03-01T00:00:00Z",
      "version": 2,
      "statements": [
        {
          "vulnerability": {"@id": "https://nvd.nist.gov/vuln/detail/CVE-2022-3715", "name": "CVE-2022-3715"},
          "products": [
            {"@id": "pkg:oci/debian", "identifiers": {"purl": "pkg:oci/debian?tag=12"},
             "subcomponents": [{"@id": "pkg:deb/debian/bash"},
                               {"identifiers": {"purl": "pkg:deb/debian/readline"}}]}
          ],
          "status": "not_affected",
          "justification": "vulnerable_code_not_in_execute_path"
        },
        {
          "vulnerability": {"name": "CVE-2023-0001"},
          "timestamp": "2023-02-01T00:00:00Z",
          "last_updated": "2023-04-01T00:00:00Z",
          "products": [{"@id": "pkg:deb/debian/bash"}],
          "status": "under_investigation"
        }
      ]
    }"#;

    #[test]
    fn a_document_without_id_gets_one_from_its_hash() {
        let i = read(NO_ID);
        assert_eq!(i.source_format, OPENVEX_0_2_0);
        let expected = format!("sha256:{}", ec_domain::ids::sha256_hex(NO_ID.as_bytes()));
        assert_eq!(
            i.document_sha256,
            ec_domain::ids::sha256_hex(NO_ID.as_bytes())
        );
        assert!(
            i.vex
                .iter()
                .all(|s| s.source.as_deref() == Some(expected.as_str()))
        );
        // Stable: the same bytes give the same id.
        assert_eq!(read(NO_ID).vex, i.vex);

        let s = &i.vex[0];
        assert_eq!(
            s.products,
            vec![
                "pkg:oci/debian".to_string(),
                "pkg:oci/debian?tag=12".to_string(),
                "pkg:deb/debian/bash".to_string(),
                "pkg:deb/debian/readline".to_string()
            ]
        );
        // The document's last_updated wins over its timestamp; a statement's own
        // last_updated over its timestamp.
        assert_eq!(s.timestamp, Some(datetime!(2023-03-01 00:00:00 UTC)));
        assert_eq!(i.vex[1].timestamp, Some(datetime!(2023-04-01 00:00:00 UTC)));
        assert_eq!(i.vex[1].status, VexStatus::UnderInvestigation);
    }
}
