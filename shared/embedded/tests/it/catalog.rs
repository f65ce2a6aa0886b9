use ec_domain::ports::ScanCatalog;
use ec_domain::scan::ScanSummary;
use ec_embedded::SqliteScanCatalog;
use time::OffsetDateTime;

fn summary(tenant: &str, id: &str, at: i64) -> ScanSummary {
    ScanSummary {
        scan_id: id.into(),
        tenant_id: tenant.into(),
        artifact_name: "alpine:3.19".into(),
        artifact_digest: Some("sha256:abc".into()),
        source_format: "trivy".into(),
        scanned_at: OffsetDateTime::from_unix_timestamp(at).unwrap(),
        findings: 3,
        components: 10,
    }
}

fn ts(at: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at).unwrap()
}

#[tokio::test]
async fn put_get_upsert_and_range() {
    let (_d, db) = super::temp_db();
    let cat = SqliteScanCatalog::new(db);
    cat.put(&summary("acme", "scan-c", 300)).await.unwrap();
    cat.put(&summary("acme", "scan-b", 200)).await.unwrap();
    cat.put(&summary("acme", "scan-a", 200)).await.unwrap();
    cat.put(&summary("acme", "scan-d", 400)).await.unwrap();
    cat.put(&summary("globex", "scan-x", 250)).await.unwrap();

    assert_eq!(
        cat.get("acme", "scan-c").await.unwrap(),
        Some(summary("acme", "scan-c", 300))
    );
    assert_eq!(cat.get("globex", "scan-c").await.unwrap(), None);

    let ids = |v: Vec<ScanSummary>| v.into_iter().map(|s| s.scan_id).collect::<Vec<_>>();
    // Inclusive on both ends, ordered by time then id.
    assert_eq!(
        ids(cat.in_range("acme", ts(200), ts(300), 10).await.unwrap()),
        ["scan-a", "scan-b", "scan-c"]
    );
    assert_eq!(
        ids(cat.in_range("acme", ts(0), ts(1000), 2).await.unwrap()),
        ["scan-a", "scan-b"]
    );
    assert!(
        cat.in_range("acme", ts(301), ts(399), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Upsert moves the scan in time.
    let mut moved = summary("acme", "scan-a", 500);
    moved.findings = 7;
    cat.put(&moved).await.unwrap();
    assert_eq!(cat.get("acme", "scan-a").await.unwrap(), Some(moved));
    assert_eq!(
        ids(cat.in_range("acme", ts(0), ts(1000), 10).await.unwrap()),
        ["scan-b", "scan-c", "scan-d", "scan-a"]
    );
}
