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

/// A [`NaturalId`] encoded once into bytes whose plain order is the natural order, so a
/// sort of many ids (each compared about log n times) does one `memcmp` per comparison:
///
/// * a number run is `0x30`, its length without leading zeros (4 bytes, big-endian) and
///   those digits: numbers order by size, and against text by the first byte, as a digit
///   would (text runs never start with one);
/// * a text run is its bytes, `0x00` escaped as `0x00 0xFF`, then `0x00 0x00`: a run that
///   is a prefix of another orders first, whatever follows it;
/// * then `0x00 0x00` (fewer runs first) and the whole id, the final tie-break.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NaturalKey(Vec<u8>);

impl NaturalKey {
    pub fn new(id: &str) -> Self {
        let mut key = Vec::with_capacity(id.len() * 2 + 8);
        Self::encode_into(id, &mut key);
        NaturalKey(key)
    }

    /// Appends the key's bytes to `out` (many keys in one buffer: one allocation, not one
    /// per id).
    pub fn encode_into(id: &str, out: &mut Vec<u8>) {
        for (digits, run) in runs(id) {
            if digits {
                let trimmed = run.trim_start_matches('0');
                out.push(b'0');
                out.extend_from_slice(
                    &u32::try_from(trimmed.len())
                        .unwrap_or(u32::MAX)
                        .to_be_bytes(),
                );
                out.extend_from_slice(trimmed.as_bytes());
            } else {
                for &b in run.as_bytes() {
                    out.push(b);
                    if b == 0 {
                        out.push(0xFF);
                    }
                }
                out.extend_from_slice(&[0, 0]);
            }
        }
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(id.as_bytes());
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
            "a\0",
            "a\0b",
            "a\0\0",
            "a\u{1}",
            "a-",
            "a-0",
            "0",
            "00",
            "-",
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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Ids over an alphabet of digits, separators, letters and NUL: the encoded keys
        /// order exactly as the ids compared run by run do.
        #[test]
        fn encoded_keys_order_as_ids_do(a in "[0019a-z\\-\\x00:]{0,12}", b in "[0019a-z\\-\\x00:]{0,12}") {
            prop_assert_eq!(NaturalKey::new(&a).cmp(&NaturalKey::new(&b)), NaturalId(&a).cmp(&NaturalId(&b)));
        }
    }
}
