//! Where a vulnerability is published: the advisory source and page of an id, and which
//! references are web URLs a document may link to. CycloneDX, SPDX and SARIF name the same
//! source for the same id.

/// Who publishes a vulnerability id, and the page about it.
pub(crate) struct AdvisorySource {
    pub name: String,
    pub url: String,
}

/// The canonical page of a vulnerability id: NVD for `CVE-`, GitHub for `GHSA-`, else OSV
/// (which indexes most other advisory databases).
pub(crate) fn advisory_url(id: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(id, URL_COMPONENT);
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{encoded}")
    } else if upper.starts_with("GHSA-") {
        format!("https://github.com/advisories/{encoded}")
    } else {
        format!("https://osv.dev/vulnerability/{encoded}")
    }
}

/// NVD for `CVE-`, GitHub for `GHSA-`; otherwise the first reference that names the id
/// (its host is the source), else OSV.
pub(crate) fn advisory_source(id: &str, references: &[impl AsRef<str>]) -> AdvisorySource {
    let upper = id.to_ascii_uppercase();
    let name = if upper.starts_with("CVE-") {
        "NVD"
    } else if upper.starts_with("GHSA-") {
        "GitHub"
    } else {
        let lower = id.to_ascii_lowercase();
        let named = references
            .iter()
            .map(AsRef::as_ref)
            .filter(|r| is_web_url(r))
            .find(|r| r.to_ascii_lowercase().contains(&lower));
        if let Some(url) = named
            && let Some(host) = url_host(url)
        {
            return AdvisorySource {
                name: host.to_string(),
                url: url.to_string(),
            };
        }
        "OSV"
    };
    AdvisorySource {
        name: name.into(),
        url: advisory_url(id),
    }
}

/// Kept as they are in a URL path segment: the RFC 3986 unreserved characters.
pub(crate) const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An absolute http(s) URL with a host and nothing a URI may not contain: the references
/// scanners copy from advisories are sometimes prose or half-escaped. Every such string is
/// a valid RFC 3986 URI (no `[`, at most one `#`, a numeric port).
pub(crate) fn is_web_url(s: &str) -> bool {
    if url_host(s).is_none() {
        return false;
    }
    // One pass: reports check every reference of every finding.
    let bytes = s.as_bytes();
    let mut fragment = false;
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match b {
            b'%' => bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            b'#' => !std::mem::replace(&mut fragment, true),
            b'"' | b'<' | b'>' | b'[' | b']' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' => false,
            b => b.is_ascii_graphic(),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn url_host(s: &str) -> Option<&str> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    let (name, port) = host.split_once(':').unwrap_or((host, ""));
    let valid = !name.is_empty()
        && name.contains('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && port.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_by_id_prefix_and_references() {
        assert_eq!(advisory_source("CVE-2021-1", &[] as &[&str]).name, "NVD");
        assert_eq!(
            advisory_source("GHSA-abcd-efgh-ijkl", &[] as &[&str]).url,
            "https://github.com/advisories/GHSA-abcd-efgh-ijkl"
        );
        assert!(!is_web_url("https://example.com/a%zz"));
        assert!(!is_web_url("https://example.com/a b"));
        assert!(is_web_url("https://example.com/a%20b?x=1#y"));
        let refs = vec![
            "see the notes".to_string(),
            "https://alas.aws.amazon.com/AL2/ALAS-2019-1234.html".to_string(),
        ];
        let s = advisory_source("ALAS-2019-1234", &refs);
        assert_eq!(s.name, "alas.aws.amazon.com");
        assert_eq!(s.url, refs[1]);
        assert_eq!(
            advisory_source("GO-2022-0001", &[] as &[&str]).url,
            "https://osv.dev/vulnerability/GO-2022-0001"
        );
    }
}
