//! The canonical order of a scan's findings (by [`Finding::sort_key`], stable), built for
//! 100,000 findings: each finding's key is computed once, the keys are sorted with their
//! positions, and the findings are then moved into place by swaps, never copied whole (a
//! sort of the findings themselves moves each ~400-byte finding about log n times).
//!
//! The key is made cheap to compare: the (target, package, version) that leads it becomes
//! its rank among the distinct ones (a few thousand against 100,000 findings, and runs of
//! findings of one package are common, so most need no lookup), and the vulnerability id
//! its [`NaturalKey`] bytes, all in one buffer. A comparison is then two integers and a
//! `memcmp`. The position breaks ties, so the order is the stable sort's.

use std::collections::HashMap;

use crate::natural::NaturalKey;
use crate::scan::Finding;

type Group<'a> = (Option<&'a str>, &'a str, &'a str);

fn group_of(f: &Finding) -> Group<'_> {
    let (target, package, version, _, _) = f.sort_key();
    (target, package, version)
}

/// Sorts `findings` into their canonical order.
pub(crate) fn sort(findings: &mut [Finding]) {
    let mut order = order(findings);
    // Into place by swaps, following each position to where its finding has gone (as the
    // standard library's `sort_by_cached_key` does).
    for i in 0..order.len() {
        let mut from = order[i];
        while from < i {
            from = order[from];
        }
        order[i] = from;
        findings.swap(i, from);
    }
}

/// Where each finding of the sorted list comes from.
fn order(findings: &[Finding]) -> Vec<usize> {
    // Each finding's group, numbered in order of first appearance.
    let mut places: HashMap<Group<'_>, usize> = HashMap::new();
    let mut place_of: Vec<usize> = Vec::with_capacity(findings.len());
    let mut last: Option<(Group<'_>, usize)> = None;
    for f in findings {
        let group = group_of(f);
        let place = match last {
            Some((g, place)) if g == group => place,
            _ => {
                let next = places.len();
                *places.entry(group).or_insert(next)
            }
        };
        last = Some((group, place));
        place_of.push(place);
    }
    let mut distinct: Vec<(Group<'_>, usize)> = places.into_iter().collect();
    distinct.sort_unstable();
    let mut rank = vec![0; distinct.len()];
    for (r, (_, place)) in distinct.iter().enumerate() {
        if let Some(slot) = rank.get_mut(*place) {
            *slot = r;
        }
    }
    let mut ids: Vec<u8> = Vec::new();
    let mut bounds: Vec<usize> = Vec::with_capacity(findings.len() + 1);
    bounds.push(0);
    for f in findings {
        NaturalKey::encode_into(&f.vulnerability_id, &mut ids);
        bounds.push(ids.len());
    }
    let mut keyed: Vec<_> = findings
        .iter()
        .zip(place_of)
        .zip(bounds.windows(2))
        .enumerate()
        .map(|(at, ((f, place), b))| {
            let group = rank.get(place).copied().unwrap_or(usize::MAX);
            let id = ids.get(b[0]..b[1]).unwrap_or_default();
            (group, f.severity, id, at)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, _, at)| at).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::natural::NaturalId;
    use crate::scan::Severity;
    use proptest::prelude::*;

    fn finding(target: Option<&str>, package: &str, id: &str, severity: Severity) -> Finding {
        Finding {
            vulnerability_id: id.into(),
            aliases: vec![],
            package: package.into(),
            package_type: None,
            purl: None,
            installed_version: "1.0".into(),
            fixed_version: None,
            severity,
            cvss: vec![],
            title: None,
            description: None,
            references: vec![],
            status: None,
            target: target.map(str::to_string),
            cwes: vec![],
            details: Default::default(),
        }
    }

    fn reference_sort(findings: &mut [Finding]) {
        findings.sort_by(|a, b| {
            let (ka, kb) = (a.sort_key(), b.sort_key());
            (ka.0, ka.1, ka.2, ka.3, NaturalId(ka.4.0)).cmp(&(
                kb.0,
                kb.1,
                kb.2,
                kb.3,
                NaturalId(kb.4.0),
            ))
        });
    }

    proptest! {
        /// The same order as a stable sort by the key, ties (equal keys, different
        /// findings) in their original order.
        #[test]
        fn orders_as_a_stable_sort_by_the_key(
            rows in proptest::collection::vec(
                (proptest::option::of("[ab]"), "[pq]{1,2}", "(CVE-20[12]-[0-9]{1,3}|a0?1)", 0usize..3, 0u32..4),
                0..60,
            )
        ) {
            let severities = [Severity::Critical, Severity::Low, Severity::Unknown];
            let mut findings: Vec<Finding> = rows
                .iter()
                .map(|(t, p, id, s, tag)| {
                    let mut f = finding(t.as_deref(), p, id, severities[*s]);
                    // Tells apart findings whose keys are equal.
                    f.title = Some(format!("tag {tag}").into());
                    f
                })
                .collect();
            let mut expected = findings.clone();
            reference_sort(&mut expected);
            sort(&mut findings);
            prop_assert_eq!(findings, expected);
        }
    }
}
