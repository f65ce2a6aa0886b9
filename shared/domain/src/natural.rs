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

/// Run by run: numbers as numbers, text (or a number against text) as text; the one with
/// fewer runs first when all shared runs are equal.
fn cmp_runs<'a, 'b>(
    mut a: impl Iterator<Item = (bool, &'a str)>,
    mut b: impl Iterator<Item = (bool, &'b str)>,
) -> Ordering {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
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

impl Ord for NaturalId<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_runs(runs(self.0), runs(other.0)).then_with(|| self.0.cmp(other.0))
    }
}

/// A [`NaturalId`] split into its runs once: the same order, for sorting many ids (each is
/// compared about log n times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaturalKey<'a> {
    runs: Vec<(bool, &'a str)>,
    whole: &'a str,
}

impl<'a> NaturalKey<'a> {
    pub fn new(id: &'a str) -> Self {
        NaturalKey {
            runs: runs(id).collect(),
            whole: id,
        }
    }
}

impl Ord for NaturalKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_runs(self.runs.iter().copied(), other.runs.iter().copied())
            .then_with(|| self.whole.cmp(other.whole))
    }
}

impl PartialOrd for NaturalKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
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

    #[test]
    fn split_keys_order_as_ids_do() {
        let ids = [
            "CVE-2016-10739",
            "CVE-2016-1234",
            "CVE-2016-01234",
            "CVE-2016-1234-r1",
            "CVE-2016-1234-r10",
            "CVE-2016-1234-r2",
            "a1",
            "a01",
            "a",
            "1a",
            "01a",
            "",
            "10",
            "9",
            "a-1",
            "a1b",
            "a1-",
            "RHSA-2020:1234",
            "GHSA-2xxx",
        ];
        for a in ids {
            for b in ids {
                assert_eq!(
                    NaturalKey::new(a).cmp(&NaturalKey::new(b)),
                    NaturalId(a).cmp(&NaturalId(b)),
                    "{a} vs {b}"
                );
            }
        }
    }
}
