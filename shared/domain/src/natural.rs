//! Natural order for vulnerability ids: runs of digits compare as numbers, so
//! `CVE-2016-1234` comes before `CVE-2016-10739` (as text it would not), and ids of other
//! shapes (`GHSA-…`, `RHSA-2020:1234`) still get a total, stable order.

use std::cmp::Ordering;

/// An id compared in natural order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NaturalId<'a>(pub &'a str);

/// The id as alternating text and number runs.
fn runs(s: &str) -> impl Iterator<Item = (bool, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= bytes.len() {
            return None;
        }
        let digit = bytes[i].is_ascii_digit();
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() == digit {
            i += 1;
        }
        Some((digit, &s[start..i]))
    })
}

fn cmp_numbers(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
}

impl Ord for NaturalId<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut a = runs(self.0);
        let mut b = runs(other.0);
        loop {
            match (a.next(), b.next()) {
                (None, None) => return self.0.cmp(other.0),
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some((true, x)), Some((true, y))) => match cmp_numbers(x, y) {
                    Ordering::Equal => {}
                    o => return o,
                },
                (Some((_, x)), Some((_, y))) => match x.cmp(y) {
                    Ordering::Equal => {}
                    o => return o,
                },
            }
        }
    }
}

impl PartialOrd for NaturalId<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_as_numbers() {
        let mut ids = vec![
            "CVE-2016-10739",
            "CVE-2016-1234",
            "CVE-2015-99999",
            "GHSA-2xxx-aaaa-bbbb",
            "CVE-2016-01234",
            "RHSA-2020:1234",
            "CVE-2016-999",
        ];
        ids.sort_by(|a, b| NaturalId(a).cmp(&NaturalId(b)));
        assert_eq!(
            ids,
            [
                "CVE-2015-99999",
                "CVE-2016-999",
                "CVE-2016-01234",
                "CVE-2016-1234",
                "CVE-2016-10739",
                "GHSA-2xxx-aaaa-bbbb",
                "RHSA-2020:1234",
            ]
        );
    }
}
