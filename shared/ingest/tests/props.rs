//! Property tests of `ec_ingest::parse_document`, the parser `POST /api/v1/scans` runs on
//! every uploaded document: for each format, real fixtures mutated by
//! `ec_prop_support::mutants` (other JSON types, huge numbers and strings, deep nesting,
//! truncation, invalid UTF-8, lone surrogates, duplicate keys), and plain random bytes.
//!
//! Property: the parser returns a document or a clean error — one the API answers with 400
//! or 422 and a message — and never panics; what it returns serialises (the catalogue
//! stores it). Deep nesting is refused by serde_json's recursion limit before any reader
//! recurses. `PROPTEST_CASES` sets the cases per format (256 by default);
//! `scripts/bench-props.sh` runs 100,000 each.

use ec_domain::{ApiError, TenantId};
use ec_ingest::parse_document;
use ec_prop_support::{Mutant, Seed, check, mutants, real_fixtures};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2025-03-04 05:06:07 UTC);

fn tenant() -> TenantId {
    TenantId::parse("acme").expect("a valid tenant")
}

/// Ok, or an error the API answers with 400/422 and a sentence.
fn ingest_is_clean(bytes: &[u8]) -> Result<(), String> {
    match parse_document(bytes, &tenant(), AT) {
        Ok(doc) => {
            if let Some(scan) = &doc.scan {
                if scan.tenant_id != tenant() {
                    return Err(format!("scan of tenant {}", scan.tenant_id));
                }
                serde_json::to_vec(scan).map_err(|e| format!("scan does not serialise: {e}"))?;
            }
            serde_json::to_vec(&doc.vex).map_err(|e| format!("VEX does not serialise: {e}"))?;
            Ok(())
        }
        Err(e) => {
            let code = e.code();
            let api = ApiError::from(e);
            if !matches!(api.status(), 400 | 422) || api.message.trim().is_empty() {
                return Err(format!(
                    "{code} answered {} {:?}",
                    api.status(),
                    api.message
                ));
            }
            Ok(())
        }
    }
}

fn seeds(kind: &str) -> Vec<Seed> {
    real_fixtures(kind)
        .iter()
        .map(|(name, bytes)| Seed::parse(name.as_str(), bytes))
        .collect()
}

fn run(parser: &str, seeds: Vec<Seed>) {
    check(parser, mutants(seeds), |m: &Mutant| {
        ingest_is_clean(&m.bytes)
    });
}

#[test]
fn props_ingest_trivy_json_v2() {
    run("ingest/trivy-json-v2", seeds("trivy"));
}

/// Legacy Trivy (a top-level array of results), made of the real reports' `Results`.
#[test]
fn props_ingest_trivy_json_legacy() {
    let legacy = seeds("trivy")
        .into_iter()
        .filter_map(|s| {
            let Value::Array(mut results) = s.doc.get("Results")?.clone() else {
                return None;
            };
            for r in &mut results {
                if let Value::Object(o) = r {
                    o.entry("Vulnerabilities").or_insert(Value::Null);
                }
            }
            Some(Seed::new(
                format!("{} (legacy)", s.name),
                Value::Array(results),
            ))
        })
        .collect::<Vec<_>>();
    assert!(!legacy.is_empty());
    for s in &legacy {
        let bytes = serde_json::to_vec(&s.doc).expect("serialise");
        let doc = parse_document(&bytes, &tenant(), AT).expect("a legacy seed parses");
        assert_eq!(
            doc.source_format,
            ec_ingest::TRIVY_JSON_LEGACY,
            "{}",
            s.name
        );
    }
    run("ingest/trivy-json-legacy", legacy);
}

#[test]
fn props_ingest_grype() {
    run("ingest/grype-json", seeds("grype"));
}

#[test]
fn props_ingest_cyclonedx() {
    run("ingest/cyclonedx-json", seeds("cyclonedx"));
}

#[test]
fn props_ingest_spdx() {
    run("ingest/spdx-json", seeds("spdx"));
}

#[test]
fn props_ingest_openvex() {
    run("ingest/openvex", seeds("openvex"));
}

#[test]
fn props_ingest_csaf() {
    run("ingest/csaf-vex", seeds("csaf"));
}

/// Bytes with no structure at all: detection and the JSON reader's own errors.
#[test]
fn props_ingest_random_bytes() {
    check("ingest/random-bytes", vec(any::<u8>(), 0..512), |b| {
        ingest_is_clean(b)
    });
}

/// Every format is refused cleanly when a real document's first key holds 10,000 nested
/// arrays (its own value moved to a key `x`).
#[test]
fn deep_nesting_is_refused_in_every_format() {
    let deep = ec_prop_support::mutate::deep(10_000, 0);
    for kind in ["trivy", "grype", "cyclonedx", "spdx", "openvex", "csaf"] {
        for (name, bytes) in real_fixtures(kind) {
            let at = bytes.iter().position(|&b| b == b':').expect("an object") + 1;
            let mut doc = bytes[..at].to_vec();
            doc.extend_from_slice(&deep);
            doc.extend_from_slice(b",\"x\":");
            doc.extend_from_slice(&bytes[at..]);
            let e = parse_document(&doc, &tenant(), AT).expect_err(&name);
            assert_eq!(e.code(), "INGEST_NOT_JSON", "{name}: {e}");
            assert!(e.to_string().contains("recursion limit"), "{name}: {e}");
        }
    }
}
