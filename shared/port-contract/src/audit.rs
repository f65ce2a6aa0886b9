//! The [`AuditLog`] contract: appends form one unbroken hash chain per tenant (and one for
//! `_system`), concurrent appends never fork it, and listings page through it in order with
//! the time and action filters and a cursor.

use std::sync::Arc;

use ec_domain::TenantId;
use ec_domain::audit::{
    AuditAction, AuditChain, AuditDraft, AuditEntry, AuditQuery, GENESIS, Outcome, verify_chain,
};
use ec_domain::ports::AuditLog;
use futures_util::future::join_all;
use time::OffsetDateTime;

/// Runs every scenario, each on a log `fresh` returns (new and empty).
pub async fn audit_log<L: AuditLog + 'static>(fresh: impl AsyncFn() -> L) {
    appends_chain_per_tenant(&fresh().await).await;
    concurrent_appends_never_fork(Arc::new(fresh().await)).await;
    listings_filter_and_page(&fresh().await).await;
}

fn tenant(t: &str) -> AuditChain {
    AuditChain::Tenant(TenantId::parse(t).unwrap())
}

fn draft(chain: AuditChain, action: AuditAction, at: i64) -> AuditDraft {
    AuditDraft {
        chain,
        at: OffsetDateTime::from_unix_timestamp(at).unwrap(),
        subject: "alice".into(),
        action,
        resource: "export/exp-1".into(),
        outcome: Outcome::Success,
        status: 202,
        trace_id: "trace-1".into(),
        source_ip: Some("192.0.2.7".into()),
        user_agent: None,
    }
}

async fn all(log: &dyn AuditLog, chain: &AuditChain) -> Vec<AuditEntry> {
    let q = AuditQuery {
        limit: 10_000,
        ..AuditQuery::default()
    };
    log.list(chain, &q).await.unwrap().items
}

async fn appends_chain_per_tenant(log: &dyn AuditLog) {
    let t0 = 1_800_000_000;
    let mut appended = Vec::new();
    for i in 0..3 {
        appended.push(
            log.append(&draft(tenant("acme"), AuditAction::ExportCreate, t0 + i))
                .await
                .unwrap(),
        );
    }
    let other = log
        .append(&draft(tenant("globex"), AuditAction::ScanIngest, t0))
        .await
        .unwrap();
    let system = log
        .append(&draft(AuditChain::System, AuditAction::AuthDenied, t0))
        .await
        .unwrap();
    assert_eq!(
        appended.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(appended[0].prev_sha256, GENESIS);
    assert_eq!(appended[1].prev_sha256, appended[0].sha256());
    assert_eq!((other.seq, other.prev_sha256.as_str()), (1, GENESIS));
    assert_eq!((system.seq, system.tenant_id.as_str()), (1, "_system"));
    let stored = all(log, &tenant("acme")).await;
    assert_eq!(stored, appended, "stored exactly as appended");
    assert_eq!(verify_chain(&stored).unwrap().entries, 3);
    assert_eq!(all(log, &tenant("globex")).await, [other]);
    assert_eq!(all(log, &AuditChain::System).await, [system]);
    assert!(all(log, &tenant("initech")).await.is_empty());
}

async fn concurrent_appends_never_fork<L: AuditLog + 'static>(log: Arc<L>) {
    let n = 20;
    let tasks = (0..n).map(|i| {
        let log = log.clone();
        tokio::spawn(async move {
            log.append(&draft(
                tenant("acme"),
                AuditAction::ExportDownload,
                1_800_000_000 + i,
            ))
            .await
        })
    });
    for r in join_all(tasks).await {
        r.unwrap().unwrap();
    }
    let stored = all(log.as_ref(), &tenant("acme")).await;
    assert_eq!(stored.len(), n as usize);
    let report = verify_chain(&stored).unwrap();
    assert_eq!((report.first_seq, report.last_seq), (1, n as u64));
}

async fn listings_filter_and_page(log: &dyn AuditLog) {
    let t0 = 1_800_000_000;
    for i in 0..10 {
        let action = if i % 2 == 0 {
            AuditAction::ExportCreate
        } else {
            AuditAction::ScanIngest
        };
        log.append(&draft(tenant("acme"), action, t0 + i * 60))
            .await
            .unwrap();
    }
    // Pages of 3 in order, the cursor carrying on where the last page stopped.
    let mut q = AuditQuery {
        limit: 3,
        ..AuditQuery::default()
    };
    let mut seqs = Vec::new();
    loop {
        let page = log.list(&tenant("acme"), &q).await.unwrap();
        assert!(page.items.len() <= 3);
        seqs.extend(page.items.iter().map(|e| e.seq));
        match page.next_cursor {
            Some(c) => q.after_seq = Some(c.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
    // Newest first, in pages of 4.
    let mut q = AuditQuery {
        limit: 4,
        newest_first: true,
        ..AuditQuery::default()
    };
    let mut seqs = Vec::new();
    loop {
        let page = log.list(&tenant("acme"), &q).await.unwrap();
        seqs.extend(page.items.iter().map(|e| e.seq));
        match page.next_cursor {
            Some(c) => q.after_seq = Some(c.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seqs, (1..=10).rev().collect::<Vec<u64>>());
    // Filters: an action, a time range (inclusive), both.
    let at = |i: i64| Some(OffsetDateTime::from_unix_timestamp(t0 + i * 60).unwrap());
    let list = async |query: AuditQuery| -> Vec<u64> {
        let page = log.list(&tenant("acme"), &query).await.unwrap();
        page.items.iter().map(|e| e.seq).collect()
    };
    let ingest = Some(AuditAction::ScanIngest);
    let q = |from, to, action| AuditQuery {
        from,
        to,
        action,
        after_seq: None,
        newest_first: false,
        limit: 100,
    };
    assert_eq!(list(q(None, None, ingest)).await, [2, 4, 6, 8, 10]);
    assert_eq!(list(q(at(2), at(5), None)).await, [3, 4, 5, 6]);
    assert_eq!(list(q(at(2), at(5), ingest)).await, [4, 6]);
    // A filtered page that fills up says where to carry on.
    let first = log
        .list(
            &tenant("acme"),
            &AuditQuery {
                limit: 2,
                ..q(None, None, ingest)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [2, 4]
    );
    assert_eq!(first.next_cursor.as_deref(), Some("4"));
}
