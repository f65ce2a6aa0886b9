//! No field lost on the way (issue 13), for the formats that are not tables: on every real
//! scanner fixture (and the hand-made ones), each vulnerability that carries a publication
//! or modification date, an EPSS score, a KEV mark or a CVSS vector in the input carries it
//! in SARIF (rule properties) and CycloneDX (`published`, `updated`, properties, ratings);
//! and the detailed PDF shows them with the first reference, once per vulnerability in an
//! artifact (scanners repeat them for every package it hits; a package whose facts differ
//! gets its own line).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use ec_domain::Format;
use ec_domain::scan::Finding;
use ec_domain::snapshot::Snapshot;
use ec_tests::{offline_snapshot, pdf_text, scanner_documents};

type Has = fn(&Finding) -> bool;
type InCycloneDx = fn(&Value) -> bool;
/// Each fact, how a parsed finding carries it, the SARIF rule property and how a CycloneDX
/// vulnerability carries it.
const FACTS: &[(&str, Has, &str, InCycloneDx)] = &[
    (
        "published",
        |f| f.details.published.is_some(),
        "exportcenter.published",
        |v| v["published"].is_string(),
    ),
    (
        "modified",
        |f| f.details.modified.is_some(),
        "exportcenter.modified",
        |v| v["updated"].is_string(),
    ),
    (
        "epss",
        |f| f.details.epss.is_some(),
        "exportcenter.epss",
        |v| has_property(v, "exportcenter:epss"),
    ),
    (
        "known_exploited",
        |f| f.details.known_exploited,
        "exportcenter.known_exploited",
        |v| has_property(v, "exportcenter:known_exploited"),
    ),
    (
        "cvss vectors",
        |f| f.cvss.iter().any(|c| c.vector.is_some()),
        "exportcenter.cvss",
        |v| {
            v["ratings"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["vector"].is_string()))
        },
    ),
];

fn has_property(v: &Value, name: &str) -> bool {
    v["properties"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["name"] == name))
}

fn findings(snap: &Snapshot) -> impl Iterator<Item = &Finding> {
    snap.scans.iter().flat_map(|s| s.scan.findings.iter())
}

fn ids_with(snap: &Snapshot, has: Has) -> BTreeSet<String> {
    findings(snap)
        .filter(|f| has(f))
        .map(|f| f.vulnerability_id.clone())
        .collect()
}

fn render(doc: &Path, format: Format) -> Vec<u8> {
    ec_render::render(&offline_snapshot(doc, format)).unwrap_or_else(|e| panic!("{format}: {e}"))
}

#[test]
fn dates_epss_kev_and_vectors_survive_into_sarif_and_cyclonedx() {
    let mut totals = vec![0; FACTS.len()];
    for doc in scanner_documents() {
        let name = doc.display().to_string();
        let snap = offline_snapshot(&doc, Format::Sarif);
        let sarif: Value = serde_json::from_slice(&render(&doc, Format::Sarif)).unwrap();
        let rules: Vec<&Value> = sarif["runs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["tool"]["driver"]["rules"].as_array().unwrap())
            .collect();
        let cdx: Value = serde_json::from_slice(&render(&doc, Format::Cyclonedx)).unwrap();
        let vulns = cdx["vulnerabilities"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, (fact, has, property, in_cdx)) in FACTS.iter().enumerate() {
            let want = ids_with(&snap, *has);
            totals[i] += want.len();
            let in_sarif: BTreeSet<String> = rules
                .iter()
                .filter(|r| !r["properties"][*property].is_null())
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(in_sarif, want, "{name}: SARIF rules with {fact}");
            let in_cyclonedx: BTreeSet<String> = vulns
                .iter()
                .filter(|v| in_cdx(v))
                .map(|v| v["id"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                in_cyclonedx, want,
                "{name}: CycloneDX vulnerabilities with {fact}"
            );
        }
    }
    // Every fact but KEV (no fixture has a KEV entry) occurs, so nothing passed for want
    // of data.
    for ((fact, ..), total) in FACTS.iter().zip(&totals) {
        assert!(
            *total > 0 || *fact == "known_exploited",
            "no fixture has {fact}"
        );
    }
}

/// Occurrences of `word` followed by a digit (`published 2019-…`, `EPSS 0.0123`).
fn count_followed_by_digit(text: &str, word: &str) -> usize {
    text.match_indices(word)
        .filter(|(i, _)| {
            text[i + word.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .count()
}

#[test]
fn the_detailed_pdf_shows_each_findings_dates_epss_vectors_and_references() {
    let mut checked = 0;
    for doc in scanner_documents() {
        let name = doc.display().to_string();
        let snap = offline_snapshot(&doc, Format::Pdf);
        let text = pdf_text(&render(&doc, Format::Pdf)).replace('\n', " ");
        // The findings whose facts the PDF prints: the first of each vulnerability in an
        // artifact, and any whose facts differ from those last printed for it.
        let mut told: std::collections::HashMap<(&str, &str), String> = Default::default();
        let mut printed: Vec<&Finding> = Vec::new();
        for s in &snap.scans {
            for f in &s.scan.findings {
                let facts = format!(
                    "{:?}{:?}{:?}{:?}{:?}{:?}",
                    f.cwes,
                    f.details.published,
                    f.details.modified,
                    f.details.epss,
                    f.cvss,
                    f.references.first()
                );
                let key = (s.scan.scan_id.as_str(), f.vulnerability_id.as_str());
                if told.get(&key) != Some(&facts) {
                    told.insert(key, facts);
                    printed.push(f);
                }
            }
        }
        let count = |has: Has| printed.iter().filter(|f| has(f)).count();
        assert_eq!(
            count_followed_by_digit(&text, "published "),
            count(|f| f.details.published.is_some()),
            "{name}: findings with a publication date"
        );
        assert_eq!(
            count_followed_by_digit(&text, "modified "),
            count(|f| f.details.modified.is_some()),
            "{name}: findings with a modification date"
        );
        assert_eq!(
            count_followed_by_digit(&text, "EPSS "),
            count(|f| f.details.epss.is_some()),
            "{name}: findings with EPSS"
        );
        assert_eq!(
            text.matches("known exploited (CISA KEV)").count(),
            count(|f| f.details.known_exploited),
            "{name}: findings known exploited"
        );
        // Vectors and references wrap anywhere, and pdftotext drops a hyphen at a line's
        // end: look for them without whitespace and hyphens.
        let flat: String = text.split_whitespace().collect::<String>().replace('-', "");
        for f in findings(&snap) {
            for v in f.cvss.iter().filter_map(|c| c.vector.as_deref()) {
                assert!(
                    flat.contains(v),
                    "{name}: vector {v} of {}",
                    f.vulnerability_id
                );
                checked += 1;
            }
            if let Some(r) = f.references.first() {
                assert!(flat.contains(&r.replace('-', "")), "{name}: reference {r}");
            }
        }
    }
    assert!(checked > 100, "vectors checked: {checked}");
}
