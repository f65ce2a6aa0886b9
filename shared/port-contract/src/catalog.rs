//! The [`ScanCatalog`] contract: summaries per tenant, upserts, time ranges inclusive at
//! both ends, oldest first (ties by id), at most `limit`, empty when reversed; listings
//! newest first in pages with exact, opaque cursors; idempotent deletes.

use ec_domain::PortError;
use ec_domain::ports::ScanCatalog;
use ec_domain::scan::ScanSummary;
use time::Duration;

use crate::fixtures::{summary, ts};

fn ids(v: Vec<ScanSummary>) -> Vec<String> {
    v.into_iter().map(|s| s.scan_id.to_string()).collect()
}

/// Runs the scenario on `cat`, which must be new and empty.
pub async fn scan_catalog(cat: &dyn ScanCatalog) {
    cat.put(&summary("acme", "scan-c", 300)).await.unwrap();
    cat.put(&summary("acme", "scan-b", 200)).await.unwrap();
    cat.put(&summary("acme", "scan-a", 200)).await.unwrap();
    cat.put(&summary("acme", "scan-d", 400)).await.unwrap();
    cat.put(&summary("globex", "scan-x", 250)).await.unwrap();

    assert_eq!(
        cat.get(&"acme".parse().unwrap(), &"scan-c".parse().unwrap())
            .await
            .unwrap(),
        Some(summary("acme", "scan-c", 300))
    );
    assert_eq!(
        cat.get(&"globex".parse().unwrap(), &"scan-c".parse().unwrap())
            .await
            .unwrap(),
        None
    );

    // Inclusive on both ends, ordered by time then id.
    assert_eq!(
        ids(cat
            .in_range(&"acme".parse().unwrap(), ts(200), ts(300), 10)
            .await
            .unwrap()),
        ["scan-a", "scan-b", "scan-c"]
    );
    assert_eq!(
        ids(cat
            .in_range(&"acme".parse().unwrap(), ts(0), ts(1000), 2)
            .await
            .unwrap()),
        ["scan-a", "scan-b"]
    );
    let empty = |r: Result<Vec<ScanSummary>, PortError>| r.unwrap().is_empty();
    assert!(empty(
        cat.in_range(&"acme".parse().unwrap(), ts(301), ts(399), 10)
            .await
    ));
    assert!(empty(
        cat.in_range(&"acme".parse().unwrap(), ts(0), ts(1000), 0)
            .await
    ));
    // Reversed and sub-second bounds.
    assert!(empty(
        cat.in_range(&"acme".parse().unwrap(), ts(400), ts(200), 10)
            .await
    ));
    let half = Duration::milliseconds(500);
    assert_eq!(
        ids(cat
            .in_range(&"acme".parse().unwrap(), ts(200) + half, ts(400) - half, 10)
            .await
            .unwrap()),
        ["scan-c"]
    );
    assert!(empty(
        cat.in_range(&"acme".parse().unwrap(), ts(300) + half, ts(300) + half, 10)
            .await
    ));
    assert_eq!(
        ids(cat
            .in_range(&"globex".parse().unwrap(), ts(0), ts(1000), 10)
            .await
            .unwrap()),
        ["scan-x"]
    );

    // Upsert moves the scan in time.
    let mut moved = summary("acme", "scan-a", 500);
    moved.findings = 7;
    cat.put(&moved).await.unwrap();
    assert_eq!(
        cat.get(&"acme".parse().unwrap(), &"scan-a".parse().unwrap())
            .await
            .unwrap(),
        Some(moved)
    );
    assert_eq!(
        ids(cat
            .in_range(&"acme".parse().unwrap(), ts(0), ts(1000), 10)
            .await
            .unwrap()),
        ["scan-b", "scan-c", "scan-d", "scan-a"]
    );

    // Newest first (ties by id, descending), in pages; tenants apart.
    let acme: ec_domain::TenantId = "acme".parse().unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = cat.list(&acme, 3, cursor.as_deref()).await.unwrap();
        pages += 1;
        seen.extend(ids(page.items));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["scan-a", "scan-d", "scan-c", "scan-b"]);
    assert_eq!(pages, 2);
    let first = cat.list(&acme, 3, None).await.unwrap();
    assert!(first.next_cursor.is_some());
    assert!(cat.list(&acme, 0, None).await.unwrap().items.is_empty());
    let globex: ec_domain::TenantId = "globex".parse().unwrap();
    assert_eq!(
        ids(cat.list(&globex, 10, None).await.unwrap().items),
        ["scan-x"]
    );
    for bad in ["", "!!!", "bm9wZQ"] {
        assert!(
            matches!(
                cat.list(&acme, 3, Some(bad)).await,
                Err(PortError::Invalid(_))
            ),
            "{bad:?}"
        );
    }

    // Deleting is idempotent and only the tenant's.
    let c: ec_domain::ScanId = "scan-c".parse().unwrap();
    cat.delete(&acme, &c).await.unwrap();
    cat.delete(&acme, &c).await.unwrap();
    cat.delete(&globex, &"scan-a".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(cat.get(&acme, &c).await.unwrap(), None);
    assert_eq!(
        ids(cat.list(&acme, 10, None).await.unwrap().items),
        ["scan-a", "scan-d", "scan-b"]
    );
}

/// A stored summary that cannot be read is `Invalid` (never a panic) for `get` and
/// `in_range`. `corrupt(tenant, scan_id)` must overwrite the stored document of that scan
/// with something that is not a summary.
pub async fn scan_catalog_rejects_corrupt_documents(
    cat: &dyn ScanCatalog,
    corrupt: impl AsyncFnOnce(&str, &str),
) {
    cat.put(&summary("acme", "scan-c", 300)).await.unwrap();
    cat.put(&summary("acme", "scan-d", 400)).await.unwrap();
    corrupt("acme", "scan-d").await;
    assert!(matches!(
        cat.get(&"acme".parse().unwrap(), &"scan-d".parse().unwrap())
            .await,
        Err(PortError::Invalid(_))
    ));
    assert!(matches!(
        cat.in_range(&"acme".parse().unwrap(), ts(0), ts(1000), 10)
            .await,
        Err(PortError::Invalid(_))
    ));
}
