//! The little of package URLs ingestion needs: whether a string is one, its type and its
//! version. Purls are kept as written; matching them is the domain's business.

/// `pkg:type/...` with a non-empty type.
pub fn is_purl(s: &str) -> bool {
    purl_type(s).is_some()
}

/// The purl's type (`npm`, `deb`, `golang`, ...), lowercased as the spec canonicalises it.
pub fn purl_type(purl: &str) -> Option<String> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.trim_start_matches('/');
    let (ty, name) = rest.split_once('/')?;
    (!ty.is_empty() && !name.is_empty()).then(|| ty.to_ascii_lowercase())
}

/// The purl's version: after the last `@` of the last path segment, before qualifiers.
pub fn purl_version(purl: &str) -> Option<String> {
    if !is_purl(purl) {
        return None;
    }
    let base = purl.split(['?', '#']).next().unwrap_or(purl);
    let last = &base[base.rfind('/').map_or(0, |i| i + 1)..];
    let (_, version) = last.rsplit_once('@')?;
    (!version.is_empty()).then(|| version.replace("%3A", ":").replace("%3a", ":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        assert_eq!(purl_type("pkg:npm/jquery@3.3.9").as_deref(), Some("npm"));
        assert_eq!(purl_type("pkg:Golang/a/b").as_deref(), Some("golang"));
        assert_eq!(purl_type("pkg:npm"), None);
        assert_eq!(purl_type("urn:cdx:x/1#y"), None);
        assert!(!is_purl("product-GHI"));
        assert_eq!(
            purl_version("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar")
                .as_deref(),
            Some("2.10.0")
        );
        assert_eq!(
            purl_version("pkg:npm/%40angular/core@16.0.0").as_deref(),
            Some("16.0.0")
        );
        assert_eq!(purl_version("pkg:npm/@angular/core"), None);
        assert_eq!(
            purl_version("pkg:oci/alpine@sha256%3Aabc?arch=amd64").as_deref(),
            Some("sha256:abc")
        );
        assert_eq!(purl_version("pkg:deb/debian/bash"), None);
    }
}
