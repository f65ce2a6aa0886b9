//! The [`Quotas`] contract: a slot per export up to the concurrent limit (taking it again
//! is free, releasing is idempotent), requests counted per fixed one-minute window, nothing
//! consumed by a refusal, tenants apart, and exact limits under 50 concurrent reservations.

use ec_domain::ports::{QuotaLimit, Quotas, Reservation, quota_window};
use ec_domain::tenant_settings::QuotaSettings;
use ec_domain::{ExportId, TenantId};
use futures_util::future::join_all;
use time::{Duration, OffsetDateTime};

use crate::fixtures::id_of;

/// Runs every scenario, each on a store `fresh` returns (new and empty).
pub async fn quotas<Q: Quotas>(fresh: impl AsyncFn() -> Q) {
    slots_are_held_per_export(&fresh().await).await;
    requests_are_counted_per_window(&fresh().await).await;
    fifty_concurrent_reservations_get_exactly_the_concurrent_limit(&fresh().await).await;
    fifty_concurrent_reservations_get_exactly_the_per_minute_limit(&fresh().await).await;
}

fn limits(exports_per_minute: u32, concurrent_exports: u32) -> QuotaSettings {
    QuotaSettings {
        exports_per_minute,
        concurrent_exports,
    }
}

/// The start of the current minute: the adapters only see the times given, but a backend
/// with TTLs must not find them long past.
fn window() -> OffsetDateTime {
    quota_window(ec_domain::time::now())
}

fn tenant(s: &str) -> TenantId {
    id_of(s)
}

fn export(i: usize) -> ExportId {
    id_of(&format!("exp-q{i}"))
}

fn granted(r: Reservation) -> bool {
    matches!(r, Reservation::Granted(_))
}

async fn slots_are_held_per_export(q: &dyn Quotas) {
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    let l = limits(100, 2);
    let now = window() + Duration::seconds(5);
    for i in 0..2 {
        let r = q.reserve(&acme, &export(i), &l, true, now).await.unwrap();
        let Reservation::Granted(u) = r else {
            panic!("slot {i} refused: {r:?}");
        };
        assert_eq!(u.concurrent_used, i as u32 + 1);
        assert_eq!(u.minute_used, i as u32 + 1);
        assert_eq!(u.window_ends, window() + Duration::minutes(1));
    }
    // Full: a third export is refused and consumes nothing.
    let r = q.reserve(&acme, &export(2), &l, true, now).await.unwrap();
    assert_eq!(
        r,
        Reservation::Refused {
            limit: QuotaLimit::ConcurrentExports,
            usage: q.usage(&acme, now).await.unwrap(),
        }
    );
    let u = q.usage(&acme, now).await.unwrap();
    assert_eq!((u.concurrent_used, u.minute_used), (2, 2));
    // An export that holds a slot takes no second one.
    let r = q.reserve(&acme, &export(1), &l, false, now).await.unwrap();
    assert!(
        matches!(r, Reservation::Granted(u) if u.concurrent_used == 2),
        "{r:?}"
    );
    // Tenants are apart.
    assert!(granted(
        q.reserve(&globex, &export(2), &l, true, now).await.unwrap()
    ));
    assert_eq!(q.usage(&globex, now).await.unwrap().concurrent_used, 1);
    // Holders, with their reservation time.
    let mut held: Vec<ExportId> = q
        .holders(&acme)
        .await
        .unwrap()
        .into_iter()
        .map(|h| {
            assert!(
                (h.reserved_at - now).abs() <= Duration::seconds(1),
                "{h:?} reserved at {now}"
            );
            h.export_id
        })
        .collect();
    held.sort();
    assert_eq!(held, vec![export(0), export(1)]);
    // Releasing frees the slot once; again changes nothing.
    assert!(q.release(&acme, &export(0)).await.unwrap());
    assert!(!q.release(&acme, &export(0)).await.unwrap());
    assert!(!q.release(&acme, &export(9)).await.unwrap());
    assert_eq!(q.usage(&acme, now).await.unwrap().concurrent_used, 1);
    assert!(granted(
        q.reserve(&acme, &export(2), &l, true, now).await.unwrap()
    ));
    assert_eq!(q.holders(&acme).await.unwrap().len(), 2);
    // Releasing every slot leaves an empty set that fills again.
    for i in 0..3 {
        q.release(&acme, &export(i)).await.unwrap();
    }
    assert_eq!(q.usage(&acme, now).await.unwrap().concurrent_used, 0);
    assert!(q.holders(&acme).await.unwrap().is_empty());
    assert!(granted(
        q.reserve(&acme, &export(5), &l, false, now).await.unwrap()
    ));
}

async fn requests_are_counted_per_window(q: &dyn Quotas) {
    let acme = tenant("acme");
    let l = limits(3, 100);
    let w = window();
    let now = w + Duration::seconds(10);
    for i in 0..3 {
        assert!(granted(
            q.reserve(&acme, &export(i), &l, true, now).await.unwrap()
        ));
    }
    // The fourth request of the window is refused, and its slot given back.
    let r = q
        .reserve(&acme, &export(3), &l, true, now + Duration::seconds(40))
        .await
        .unwrap();
    let Reservation::Refused { limit, usage } = r else {
        panic!("fourth request granted: {r:?}");
    };
    assert_eq!(limit, QuotaLimit::ExportsPerMinute);
    assert_eq!((usage.minute_used, usage.concurrent_used), (3, 3));
    assert_eq!(usage.window_ends, w + Duration::minutes(1));
    assert_eq!(q.holders(&acme).await.unwrap().len(), 3);
    // Uncounted reservations (scheduled runs) only need a slot.
    assert!(granted(
        q.reserve(&acme, &export(4), &l, false, now).await.unwrap()
    ));
    // A refund gives one request back; never below zero.
    q.refund(&acme, now).await.unwrap();
    assert_eq!(q.usage(&acme, now).await.unwrap().minute_used, 2);
    assert!(granted(
        q.reserve(&acme, &export(5), &l, true, now).await.unwrap()
    ));
    // The next window starts at zero.
    let next = w + Duration::seconds(61);
    let u = q.usage(&acme, next).await.unwrap();
    assert_eq!((u.minute_used, u.concurrent_used), (0, 5));
    assert_eq!(u.window_ends, w + Duration::minutes(2));
    q.refund(&acme, next).await.unwrap();
    assert_eq!(q.usage(&acme, next).await.unwrap().minute_used, 0);
    assert!(granted(
        q.reserve(&acme, &export(6), &l, true, next).await.unwrap()
    ));
    assert_eq!(q.usage(&acme, next).await.unwrap().minute_used, 1);
}

async fn fifty_concurrent_reservations_get_exactly_the_concurrent_limit(q: &dyn Quotas) {
    let acme = tenant("acme");
    let l = limits(1000, 10);
    let now = window() + Duration::seconds(1);
    let tries = (0..50).map(|i| {
        let acme = acme.clone();
        async move {
            (
                i,
                q.reserve(&acme, &export(i), &l, true, now).await.unwrap(),
            )
        }
    });
    let results = join_all(tries).await;
    let won: Vec<usize> = results
        .iter()
        .filter(|(_, r)| granted(*r))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(won.len(), 10, "{results:?}");
    for (_, r) in &results {
        if let Reservation::Refused { limit, .. } = r {
            assert_eq!(*limit, QuotaLimit::ConcurrentExports);
        }
    }
    let u = q.usage(&acme, now).await.unwrap();
    assert_eq!((u.concurrent_used, u.minute_used), (10, 10));
    // Fifty concurrent releases free exactly the ten slots held.
    let releases = (0..50).map(|i| {
        let acme = acme.clone();
        async move { q.release(&acme, &export(i)).await.unwrap() }
    });
    let freed: Vec<bool> = join_all(releases).await;
    assert_eq!(freed.iter().filter(|f| **f).count(), 10);
    assert_eq!(q.usage(&acme, now).await.unwrap().concurrent_used, 0);
}

async fn fifty_concurrent_reservations_get_exactly_the_per_minute_limit(q: &dyn Quotas) {
    let acme = tenant("acme");
    let l = limits(10, 1000);
    let now = window() + Duration::seconds(2);
    let tries = (0..50).map(|i| {
        let acme = acme.clone();
        async move { q.reserve(&acme, &export(i), &l, true, now).await.unwrap() }
    });
    let results = join_all(tries).await;
    assert_eq!(results.iter().filter(|r| granted(**r)).count(), 10);
    assert!(results.iter().all(|r| matches!(
        r,
        Reservation::Granted(_)
            | Reservation::Refused {
                limit: QuotaLimit::ExportsPerMinute,
                ..
            }
    )));
    // The refused gave their slots back.
    let u = q.usage(&acme, now).await.unwrap();
    assert_eq!((u.concurrent_used, u.minute_used), (10, 10));
}
