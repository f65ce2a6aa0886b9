//! Matching VEX statements to findings.

use crate::scan::{VexStatement, VexStatus};

/// A purl without qualifiers and subpath, split into everything before the version and the
/// version. The version separator is the last `@` after the last `/`, so an unencoded npm
/// scope (`pkg:npm/@angular/core`) is not taken for a version. `%40` and `%3A` are decoded
/// so that `pkg:oci/x@sha256%3Aab` and `pkg:oci/x@sha256:ab` compare equal.
fn purl_parts(purl: &str) -> (String, Option<String>) {
    let base = purl.split(['?', '#']).next().unwrap_or(purl);
    let name_start = base.rfind('/').map_or(0, |i| i + 1);
    let decode = |s: &str| {
        s.replace("%40", "@")
            .replace("%3A", ":")
            .replace("%3a", ":")
    };
    match base[name_start..].rfind('@') {
        Some(i) => {
            let at = name_start + i;
            (decode(&base[..at]), Some(decode(&base[at + 1..])))
        }
        None => (decode(base), None),
    }
}

/// Does a statement's product identifier name this package? Products are purls; a product
/// without a version matches every version, and qualifiers are ignored.
pub fn product_matches(product: &str, purl: Option<&str>) -> bool {
    let Some(purl) = purl else { return false };
    let (product_base, product_version) = purl_parts(product);
    let (base, version) = purl_parts(purl);
    product_base == base && (product_version.is_none() || product_version == version)
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

/// Statements about this finding, oldest first (the sort is stable, so statements with equal
/// timestamps keep the order they were listed in).
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
    // `None` sorts before every `Some`: statements without a timestamp are the oldest.
    v.sort_by_key(|s| s.timestamp);
    v
}

/// The statements of `documents` about vulnerabilities the scan found.
pub fn applied_from(documents: &[VexDocument], scan: &crate::scan::Scan) -> Vec<VexStatement> {
    documents
        .iter()
        .flat_map(|d| applicable(&d.statements, scan))
        .collect()
}

/// The statements about vulnerabilities the scan found.
pub fn applicable(
    statements: &[crate::scan::VexStatement],
    scan: &crate::scan::Scan,
) -> Vec<crate::scan::VexStatement> {
    let ids: std::collections::BTreeSet<String> = scan
        .findings
        .iter()
        .map(|f| f.vulnerability_id.to_ascii_uppercase())
        .collect();
    statements
        .iter()
        .filter(|s| ids.contains(&s.vulnerability_id.to_ascii_uppercase()))
        .cloned()
        .collect()
}

/// One VEX document as ingested: where it came from and its statements. Stored as one
/// object per document under `keys::vex`, and listed in every report it was applied to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VexDocument {
    /// `vex-…` on a server; the file's base name offline.
    pub id: String,
    /// `openvex`, `csaf` or `cyclonedx`.
    pub source_format: String,
    /// sha256 of the document's bytes as received (empty for documents stored before it
    /// was recorded).
    #[serde(default)]
    pub document_sha256: String,
    /// The file name the document came with (offline: the path's base name; API: the
    /// `filename` of `Content-Disposition`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The document's size in bytes as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub statements: Vec<VexStatement>,
}

/// A stored VEX object as read back: documents stored before [`VexDocument`] existed are
/// a bare list of statements.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub enum StoredVex {
    Document(VexDocument),
    Statements(Vec<VexStatement>),
}

impl StoredVex {
    /// The document, naming a legacy statement list by its object's id.
    pub fn into_document(self, id: &str) -> VexDocument {
        match self {
            StoredVex::Document(d) => d,
            StoredVex::Statements(statements) => VexDocument {
                id: id.to_string(),
                source_format: "unknown".into(),
                document_sha256: String::new(),
                name: None,
                size: None,
                statements,
            },
        }
    }
}

crate::wire::string_enum!(
    /// Why a statement applied to no finding.
    Unmatched {
        /// No finding in scope has the statement's vulnerability.
        VulnerabilityNotFound = "vulnerability_not_found",
        /// Findings of that vulnerability exist, but none carries a purl to compare.
        NoPurl = "no_purl",
        /// Findings of that vulnerability have purls, none of them a product named.
        UnknownProduct = "unknown_product",
    }
);

impl Unmatched {
    pub fn explain(self) -> &'static str {
        match self {
            Unmatched::VulnerabilityNotFound => "no finding in scope has this vulnerability",
            Unmatched::NoPurl => "the findings of this vulnerability carry no purl to compare",
            Unmatched::UnknownProduct => "no finding is in a product the statement names",
        }
    }
}

/// How one statement fared against the findings in scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatementMatch {
    /// Findings it applies to.
    pub matched: usize,
    /// Why it applies to none (`None` when `matched > 0`).
    pub reason: Option<Unmatched>,
}

/// Matches `statement` against the findings of its vulnerability (`same_id`: every finding
/// in scope whose id equals the statement's, case-insensitively).
pub fn match_statement<'a>(
    statement: &VexStatement,
    same_id: impl IntoIterator<Item = &'a crate::scan::Finding>,
) -> StatementMatch {
    let (mut seen, mut with_purl, mut matched) = (0, 0, 0);
    for f in same_id {
        seen += 1;
        with_purl += usize::from(f.purl.is_some());
        let applies = statement.products.is_empty()
            || statement
                .products
                .iter()
                .any(|p| product_matches(p, f.purl.as_deref()));
        matched += usize::from(applies);
    }
    let reason = match (matched, seen, with_purl) {
        (m, _, _) if m > 0 => None,
        (_, 0, _) => Some(Unmatched::VulnerabilityNotFound),
        (_, _, 0) => Some(Unmatched::NoPurl),
        _ => Some(Unmatched::UnknownProduct),
    };
    StatementMatch { matched, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;
    use time::macros::datetime;

    // Shaped like openvex/go-vex testdata/v0.2.0.json: an image with apk subcomponents.
    const IMAGE: &str =
        "pkg:oci/alpine@sha256%3A124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126";
    const LIBSSL: &str = "pkg:apk/alpine/libssl3@3.0.8-r3";
    const LIBCRYPTO: &str = "pkg:apk/alpine/libcrypto3@3.0.8-r3";
    // What Trivy reports for the same package.
    const FOUND: &str = "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64&distro=3.18.0";

    fn statement(
        status: VexStatus,
        products: &[&str],
        timestamp: Option<OffsetDateTime>,
        source: &str,
    ) -> VexStatement {
        VexStatement {
            vulnerability_id: "CVE-2023-3446".into(),
            products: products.iter().map(|p| p.to_string()).collect(),
            status,
            justification: (status == VexStatus::NotAffected)
                .then(|| "vulnerable_code_not_present".to_string()),
            impact_statement: None,
            action_statement: None,
            timestamp,
            source: Some(source.into()),
        }
    }

    #[test]
    fn products_match_purls() {
        assert!(product_matches(LIBSSL, Some(FOUND)));
        assert!(!product_matches(LIBCRYPTO, Some(FOUND)));
        assert!(!product_matches(
            LIBSSL,
            Some("pkg:apk/alpine/libssl3@3.1.0-r0")
        ));
        assert!(!product_matches(LIBSSL, None));
        // A versionless product covers every version.
        assert!(product_matches(
            "pkg:deb/debian/bash",
            Some("pkg:deb/debian/bash@4.4-5?arch=amd64&distro=debian-9.9")
        ));
        assert!(!product_matches(
            "pkg:deb/debian/bash",
            Some("pkg:deb/debian/bash-completion@1:2.1-4.3")
        ));
        // An unencoded npm scope is part of the name, not a version.
        assert!(product_matches(
            "pkg:npm/@angular/core",
            Some("pkg:npm/%40angular/core@16.0.0")
        ));
        assert!(!product_matches(
            "pkg:npm/@angular/core@15.0.0",
            Some("pkg:npm/%40angular/core@16.0.0")
        ));
        // Percent-encoded and plain digests are the same version.
        assert!(product_matches(
            IMAGE,
            Some(
                "pkg:oci/alpine@sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126?repository_url=index.docker.io/library/alpine"
            )
        ));
        // Go module versions after a path.
        assert!(product_matches(
            "pkg:golang/github.com/go-homedir@v1.1.0",
            Some("pkg:golang/github.com/go-homedir@v1.1.0")
        ));
        // A non-purl product (a CSAF product name, a bom-ref) matches only itself.
        assert!(!product_matches("Example Company ABC 4.2", Some(FOUND)));
    }

    #[test]
    fn the_latest_statement_wins_and_untimed_ones_are_oldest() {
        let fixed = statement(
            VexStatus::Fixed,
            &[IMAGE, LIBSSL, LIBCRYPTO],
            Some(datetime!(2023-07-18 00:28:47 UTC)),
            "https://openvex.dev/docs/public/vex-d4e9",
        );
        let not_affected = statement(
            VexStatus::NotAffected,
            &[LIBSSL],
            Some(datetime!(2023-08-01 12:00:00 UTC)),
            "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        );
        let untimed_affected = statement(VexStatus::Affected, &[LIBSSL], None, "sha256:00");

        // Listed newest first: order of listing does not matter across timestamps.
        let vex = vec![
            not_affected.clone(),
            untimed_affected.clone(),
            fixed.clone(),
        ];
        let m = matching(&vex, "cve-2023-3446", Some(FOUND));
        let statuses: Vec<VexStatus> = m.iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            vec![
                VexStatus::Affected,
                VexStatus::Fixed,
                VexStatus::NotAffected
            ]
        );
        assert_eq!(
            effective_status(&vex, "CVE-2023-3446", Some(FOUND)),
            Some(VexStatus::NotAffected)
        );

        // libcrypto is only named by the older `fixed` statement.
        let crypto = "pkg:apk/alpine/libcrypto3@3.0.8-r3?arch=x86_64";
        assert_eq!(
            effective_status(&vex, "CVE-2023-3446", Some(crypto)),
            Some(VexStatus::Fixed)
        );
        // An untimed statement never beats a timed one, wherever it is listed.
        let vex = vec![fixed.clone(), untimed_affected.clone()];
        assert_eq!(
            effective_status(&vex, "CVE-2023-3446", Some(FOUND)),
            Some(VexStatus::Fixed)
        );
        // Another vulnerability, or a finding without purl, has no statement.
        assert_eq!(effective_status(&vex, "CVE-2023-2975", Some(FOUND)), None);
        assert_eq!(effective_status(&vex, "CVE-2023-3446", None), None);
    }

    #[test]
    fn ties_go_to_the_later_listed_statement() {
        let at = Some(datetime!(2023-01-17 01:07:16 UTC));
        let a = statement(VexStatus::Affected, &[LIBSSL], at, "a");
        let b = statement(VexStatus::NotAffected, &[LIBSSL], at, "b");
        assert_eq!(
            effective_status(&[a.clone(), b.clone()], "CVE-2023-3446", Some(FOUND)),
            Some(VexStatus::NotAffected)
        );
        assert_eq!(
            effective_status(&[b, a], "CVE-2023-3446", Some(FOUND)),
            Some(VexStatus::Affected)
        );
        // Two untimed statements tie the same way.
        let c = statement(VexStatus::UnderInvestigation, &[LIBSSL], None, "c");
        let d = statement(VexStatus::Fixed, &[LIBSSL], None, "d");
        assert_eq!(
            effective_status(&[c, d], "CVE-2023-3446", Some(FOUND)),
            Some(VexStatus::Fixed)
        );
    }

    #[test]
    fn a_statement_without_products_covers_every_package() {
        let all = statement(
            VexStatus::UnderInvestigation,
            &[],
            Some(datetime!(2022-03-03 11:00:00 UTC)),
            "2022-EVD-UC-01-NA-001",
        );
        assert_eq!(
            effective_status(std::slice::from_ref(&all), "CVE-2023-3446", None),
            Some(VexStatus::UnderInvestigation)
        );
        assert_eq!(
            effective_status(&[all], "CVE-2023-3446", Some(FOUND)),
            Some(VexStatus::UnderInvestigation)
        );
    }

    #[test]
    fn unmatched_statements_say_why() {
        use crate::scan::{Finding, Severity};
        let s = statement(VexStatus::NotAffected, &[LIBSSL], None, "a");
        let mut found = Finding::new("CVE-2023-3446", "libssl3", "3.0.8-r3", Severity::High);
        let m = match_statement(&s, []);
        assert_eq!(m.reason, Some(Unmatched::VulnerabilityNotFound));
        assert_eq!(
            match_statement(&s, [&found]).reason,
            Some(Unmatched::NoPurl)
        );
        found.purl = Some("pkg:apk/alpine/libcrypto3@3.0.8-r3".into());
        assert_eq!(
            match_statement(&s, [&found]).reason,
            Some(Unmatched::UnknownProduct)
        );
        found.purl = Some(FOUND.into());
        assert_eq!(
            match_statement(&s, [&found, &found]),
            StatementMatch {
                matched: 2,
                reason: None
            }
        );
    }
}
