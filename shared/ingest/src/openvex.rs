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
use serde::Deserialize;

use crate::json::{parse_timestamp, push_unique};
use crate::lenient::{Array, List, Obj, Present, Text, TextOr};
use crate::{IngestError, OPENVEX, OPENVEX_0_0_1, OPENVEX_0_2_0, Parsed, typed};

/// Every OpenVEX `@context` starts with this.
pub const CONTEXT: &str = "https://openvex.dev/ns";

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "@context", default, borrow)]
    context: Text<'a>,
    #[serde(rename = "@id", default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    last_updated: Text<'a>,
    #[serde(default, borrow)]
    timestamp: Text<'a>,
    #[serde(default, borrow)]
    statements: Array<Obj<Statement<'a>>>,
}

#[derive(Deserialize, Default)]
struct Statement<'a> {
    /// A string (v0.0.1) or an object with `name` (v0.2.0).
    #[serde(default, borrow)]
    vulnerability: Present<TextOr<'a, Vulnerability<'a>>>,
    #[serde(default, borrow)]
    status: Text<'a>,
    #[serde(default, borrow)]
    products: List<TextOr<'a, Product<'a>>>,
    /// v0.0.1's subcomponents, on the statement.
    #[serde(default, borrow)]
    subcomponents: List<TextOr<'a, Product<'a>>>,
    #[serde(default, borrow)]
    justification: Text<'a>,
    #[serde(default, borrow)]
    impact_statement: Text<'a>,
    #[serde(default, borrow)]
    action_statement: Text<'a>,
    #[serde(default, borrow)]
    last_updated: Text<'a>,
    #[serde(default, borrow)]
    timestamp: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Vulnerability<'a> {
    #[serde(default, borrow)]
    name: Text<'a>,
}

/// A v0.2.0 product or subcomponent (a v0.0.1 one is a string).
#[derive(Deserialize, Default)]
struct Product<'a> {
    #[serde(rename = "@id", default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    identifiers: Obj<Identifiers<'a>>,
    #[serde(default, borrow)]
    subcomponents: List<TextOr<'a, Product<'a>>>,
}

#[derive(Deserialize, Default)]
struct Identifiers<'a> {
    #[serde(default, borrow)]
    purl: Text<'a>,
}

pub fn parse(text: &[u8], fallback_source: &str) -> Result<Parsed, IngestError> {
    let doc: Document<'_> = typed(text, OPENVEX)?;
    let context = doc.context.as_str().unwrap_or_default();
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
    let source = doc.id.as_str().unwrap_or(fallback_source);
    let doc_time = doc
        .last_updated
        .as_str()
        .or_else(|| doc.timestamp.as_str())
        .and_then(parse_timestamp);
    let statements = &doc.statements.0;
    let mut vex = Vec::with_capacity(statements.len());
    for (i, s) in statements.iter().enumerate() {
        let at = format!("statements[{i}]");
        let invalid = |why: String| IngestError::invalid(format, format!("{at}: {why}"));
        let s = s
            .get()
            .filter(|s| s.vulnerability.present)
            .ok_or_else(|| invalid("missing vulnerability".into()))?;
        let vulnerability = match &s.vulnerability.value {
            TextOr::Text(Text(Some(id))) => Some(id.as_ref()),
            TextOr::Object(v) => v.name.as_str(),
            _ => None,
        }
        .ok_or_else(|| invalid("missing vulnerability.name".into()))?;
        let status = match s.status.as_str() {
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
        for p in s.products.iter() {
            push_identifiers(&mut products, p);
            if let TextOr::Object(p) = p {
                for sub in p.subcomponents.iter() {
                    push_identifiers(&mut products, sub);
                }
            }
        }
        for sub in s.subcomponents.iter() {
            push_identifiers(&mut products, sub);
        }
        vex.push(VexStatement {
            vulnerability_id: vulnerability.to_string(),
            products,
            status,
            justification: s.justification.owned(),
            impact_statement: s.impact_statement.owned(),
            action_statement: s.action_statement.owned(),
            timestamp: s
                .last_updated
                .as_str()
                .or_else(|| s.timestamp.as_str())
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
fn push_identifiers(out: &mut Vec<String>, component: &TextOr<'_, Product<'_>>) {
    match component {
        TextOr::Text(id) => {
            if let Some(id) = id.as_str() {
                push_unique(out, id);
            }
        }
        TextOr::Object(p) => {
            let purl = p.identifiers.get().and_then(|i| i.purl.as_str());
            for id in [p.id.as_str(), purl].into_iter().flatten() {
                push_unique(out, id);
            }
        }
        TextOr::Neither => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{error_of, read};
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

    /// A statement without a vulnerability, or with one of no name, is named by its index.
    #[test]
    fn a_statement_without_a_vulnerability_is_named() {
        let doc = |statement: &str| {
            format!(
                r#"{{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x",
                    "statements": [{{"vulnerability": {{"name": "CVE-1"}}, "status": "fixed"}}, {statement}]}}"#
            )
        };
        let prefix = "invalid openvex-0.2.0 document: statements[1]: ";
        for (statement, why) in [
            (r#"{"status": "fixed"}"#, "missing vulnerability"),
            ("7", "missing vulnerability"),
            (
                r#"{"vulnerability": null, "status": "fixed"}"#,
                "missing vulnerability.name",
            ),
            (
                r#"{"vulnerability": " ", "status": "fixed"}"#,
                "missing vulnerability.name",
            ),
            (
                r#"{"vulnerability": {"@id": "v"}, "status": "fixed"}"#,
                "missing vulnerability.name",
            ),
        ] {
            assert_eq!(
                error_of(&doc(statement)),
                format!("{prefix}{why}"),
                "{statement}"
            );
        }
        assert!(
            error_of(r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": 1}"#)
                .contains("statements")
        );
    }
}
