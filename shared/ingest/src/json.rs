//! Value readers the format readers share: CWE numbers, CVSS versions, lenient timestamps,
//! and lists without repeats. (Documents themselves are read typed, through `lenient`.)

use ec_domain::shared_text::{SharedText, share};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// CWE numbers from `CWE-79`-style names (case-insensitive; other strings are skipped),
/// ascending, without repeats.
pub fn cwe_numbers<'a>(names: impl Iterator<Item = &'a str>) -> Vec<u32> {
    let mut out: Vec<u32> = names
        .filter_map(|n| {
            let n = n.trim();
            let digits = n
                .get(..4)
                .filter(|p| p.eq_ignore_ascii_case("CWE-"))
                .map(|_| &n[4..])?;
            digits.parse().ok()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Appends `s` unless it is blank or already there (keeps first-seen order).
pub fn push_unique(list: &mut Vec<String>, s: &str) {
    if !s.trim().is_empty() && !list.iter().any(|x| x == s) {
        list.push(s.to_string());
    }
}

/// [`push_unique`] for text many findings share (links), through the thread's pool.
pub fn push_unique_shared(list: &mut Vec<SharedText>, s: &str) {
    if !s.trim().is_empty() && !list.iter().any(|x| &**x == s) {
        list.push(share(s));
    }
}

/// The CVSS version a vector declares (`CVSS:3.1/...` gives `3.1`).
pub fn cvss_version_of_vector(vector: &str) -> Option<String> {
    let rest = vector.strip_prefix("CVSS:")?;
    let version = rest.split('/').next()?.trim();
    (!version.is_empty()).then(|| version.to_string())
}

/// Reads a scanner timestamp leniently: RFC 3339 with any fraction and offset, a space
/// instead of `T`, Go's `2006-01-02 15:04:05.999 -0700 MST` form, or no offset at all
/// (read as UTC). The result is in UTC with whole seconds. Go's zero time reads as absent.
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| parse_loose(s))?;
    if t.year() <= 1 {
        return None;
    }
    let t = t.to_offset(UtcOffset::UTC);
    Some(t.replace_nanosecond(0).unwrap_or(t))
}

fn parse_loose(s: &str) -> Option<OffsetDateTime> {
    let mut parts = s.split_whitespace();
    let first = parts.next()?;
    let (date, time) = match first.split_once(['T', 't']) {
        Some((d, t)) => (d.to_string(), t.to_string()),
        None => (first.to_string(), parts.next()?.to_string()),
    };
    // The offset may be glued to the time or follow it; a trailing zone name is ignored.
    let (time, glued) = split_offset(&time);
    let offset = match glued {
        Some(o) => Some(o),
        None => parts.next().and_then(normalise_offset),
    };
    let candidate = format!("{date}T{time}{}", offset.unwrap_or_else(|| "Z".to_string()));
    OffsetDateTime::parse(&candidate, &Rfc3339).ok()
}

/// Splits `15:04:05.123-04:00` into the time and a normalised offset.
fn split_offset(time: &str) -> (String, Option<String>) {
    if let Some(t) = time.strip_suffix(['Z', 'z']) {
        return (t.to_string(), Some("Z".to_string()));
    }
    match time.rfind(['+', '-']) {
        Some(i) => match normalise_offset(&time[i..]) {
            Some(o) => (time[..i].to_string(), Some(o)),
            None => (time.to_string(), None),
        },
        None => (time.to_string(), None),
    }
}

/// `-0400`, `-04:00`, `+04`, `Z`, `UTC` to the RFC 3339 form.
fn normalise_offset(o: &str) -> Option<String> {
    if o.eq_ignore_ascii_case("z") || o.eq_ignore_ascii_case("utc") || o == "GMT" {
        return Some("Z".to_string());
    }
    let (sign, digits) = match o.as_bytes().first()? {
        b'+' => ('+', &o[1..]),
        b'-' => ('-', &o[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.len() {
        2 => Some(format!("{sign}{digits}:00")),
        4 => Some(format!("{sign}{}:{}", &digits[..2], &digits[2..])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwe_names_become_numbers() {
        let names = [
            "CWE-79",
            "cwe-20",
            "NVD-CWE-noinfo",
            "CWE-79",
            "CWE-x",
            " CWE-416 ",
        ];
        assert_eq!(cwe_numbers(names.into_iter()), [20, 79, 416]);
    }
    use time::macros::datetime;

    #[test]
    fn timestamps() {
        let cases = [
            (
                "2021-08-25T12:20:30.000000005Z",
                datetime!(2021-08-25 12:20:30 UTC),
            ),
            (
                "2023-05-02T15:04:05.123456789-04:00",
                datetime!(2023-05-02 19:04:05 UTC),
            ),
            (
                "2023-05-17T21:00:56.783213-04:00",
                datetime!(2023-05-18 01:00:56 UTC),
            ),
            (
                "2023-05-02 15:04:05.123456789 -0400 EDT",
                datetime!(2023-05-02 19:04:05 UTC),
            ),
            (
                "2023-05-02 15:04:05 +0000 UTC",
                datetime!(2023-05-02 15:04:05 UTC),
            ),
            ("2023-05-02T15:04:05", datetime!(2023-05-02 15:04:05 UTC)),
            (
                "2023-05-02T15:04:05.5+0200",
                datetime!(2023-05-02 13:04:05 UTC),
            ),
            ("2023-05-02 15:04:05Z", datetime!(2023-05-02 15:04:05 UTC)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
        for s in [
            "",
            "yesterday",
            "0001-01-01T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-05-02",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn cvss_versions() {
        assert_eq!(
            cvss_version_of_vector("CVSS:3.1/AV:N").as_deref(),
            Some("3.1")
        );
        assert_eq!(
            cvss_version_of_vector("CVSS:4.0/AV:N").as_deref(),
            Some("4.0")
        );
        assert_eq!(cvss_version_of_vector("AV:N/AC:L/Au:N"), None);
    }
}
