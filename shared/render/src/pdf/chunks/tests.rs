//! Tests of the body's chunks: balanced, cut at group starts, and a group larger than a
//! chunk cut inside it.

use ec_domain::scan::Severity;

use super::{Item, chunk_size, split};
use crate::pdf::entries::VerdictRow;

/// A row of weight 1000.
fn row() -> Item<'static> {
    Item::Verdict(VerdictRow {
        severity: Severity::High,
        id: "CVE-2024-0001",
        package: "pkg".into(),
        decision: None,
        note: "x".repeat(1000 - 60 - 3),
    })
}

fn group(n: usize) -> Item<'static> {
    Item::Group {
        level: 2,
        key: format!("g{n}"),
        label: format!("group {n}"),
        detail: None,
    }
}

fn weights(chunks: &[Vec<Item<'_>>]) -> Vec<usize> {
    chunks
        .iter()
        .map(|c| c.iter().map(Item::weight).sum())
        .collect()
}

#[test]
fn chunks_are_balanced_and_cut_at_group_starts() {
    assert_eq!(row().weight(), 1000);
    let mut items = Vec::new();
    for g in 0..400 {
        items.push(group(g));
        items.extend((0..7).map(|_| row()));
    }
    let total = 2800 * 1000;
    let size = chunk_size(total);
    let chunks = split(items);
    assert_eq!(weights(&chunks).iter().sum::<usize>(), total);
    assert_eq!(chunks.len(), total.div_ceil(size));
    assert_eq!(chunks.len() % ec_pdf::workers(), 0, "rounds are full");
    for (i, chunk) in chunks.iter().enumerate() {
        assert!(
            matches!(chunk[0], Item::Group { .. }),
            "chunk {i} starts mid-group"
        );
    }
    for w in weights(&chunks) {
        assert!(
            w.abs_diff(size) <= size / 10 + 7000,
            "chunk of {w} for {size}"
        );
    }
}

#[test]
fn a_group_larger_than_a_chunk_is_cut_inside() {
    let mut items = vec![group(0)];
    items.extend((0..1000).map(|_| row()));
    let chunks = split(items);
    assert!(chunks.len() > 1);
    // No heading repeated: the chunks continue one another on the same page (ec-pdf's join).
    for chunk in &chunks[1..] {
        assert!(
            matches!(chunk[0], Item::Verdict(_)),
            "a chunk opens with a heading"
        );
    }
    assert_eq!(weights(&chunks).iter().sum::<usize>(), 1000 * 1000);
}
