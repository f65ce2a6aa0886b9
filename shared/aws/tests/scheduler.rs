//! What only `EventBridgeTrigger` does, against a moto server (`EC_MOTO_ENDPOINT`): the
//! schedule it creates in its group, and errors for a missing group. The port's contract
//! runs in `contract.rs`.

mod common;

use ec_aws::EventBridgeTrigger;
use ec_aws::config::scheduler_client;
use ec_aws::scheduler::SCHEDULED_TIME_PLACEHOLDER;
use ec_domain::ports::ScheduleTrigger;
use ec_domain::schedule::{Schedule, new_schedule_id};
use time::OffsetDateTime;

use common::{SCHEDULE_TARGET, SCHEDULER_ROLE, moto_config, unique};

fn schedule(tenant: &str) -> Schedule {
    Schedule::new(
        new_schedule_id(),
        tenant.parse().unwrap(),
        "0 6 * * 1".into(),
        "Europe/Berlin".into(),
        serde_json::json!({"format": "json"}),
        "alice".into(),
        OffsetDateTime::now_utc(),
        None,
    )
}

async fn trigger() -> EventBridgeTrigger {
    common::schedule_trigger().await
}

#[tokio::test]
async fn register_update_unregister() {
    let t = trigger().await;
    let s = schedule("acme");
    t.register(&s, "cron(0 6 ? * 2 *)", "Europe/Berlin")
        .await
        .unwrap();

    let got = t
        .client()
        .get_schedule()
        .group_name(t.group())
        .name(&s.schedule_id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.schedule_expression(), Some("cron(0 6 ? * 2 *)"));
    assert_eq!(got.schedule_expression_timezone(), Some("Europe/Berlin"));
    assert_eq!(
        got.flexible_time_window().map(|w| w.mode().as_str()),
        Some("OFF")
    );
    let target = got.target().expect("target");
    assert_eq!(target.arn(), SCHEDULE_TARGET);
    assert_eq!(target.role_arn(), SCHEDULER_ROLE);
    let input: serde_json::Value = serde_json::from_str(target.input().expect("input")).unwrap();
    assert_eq!(
        input,
        serde_json::json!({
            "schedule_id": s.schedule_id,
            "tenant_id": "acme",
            "scheduled_at": SCHEDULED_TIME_PLACEHOLDER,
        })
    );

    // Registering again updates in place.
    t.register(&s, "cron(30 2 1 * ? *)", "UTC").await.unwrap();
    let got = t
        .client()
        .get_schedule()
        .group_name(t.group())
        .name(&s.schedule_id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.schedule_expression(), Some("cron(30 2 1 * ? *)"));
    assert_eq!(got.schedule_expression_timezone(), Some("UTC"));
    let listed = t
        .client()
        .list_schedules()
        .group_name(t.group())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.schedules().len(), 1);

    t.unregister(&s).await.unwrap();
    assert!(
        t.client()
            .get_schedule()
            .group_name(t.group())
            .name(&s.schedule_id)
            .send()
            .await
            .is_err()
    );
    // Unregistering what is gone is fine.
    t.unregister(&s).await.unwrap();
    t.unregister(&schedule("acme")).await.unwrap();
}

#[tokio::test]
async fn missing_group_is_an_error() {
    let client = scheduler_client(&moto_config().await);
    let t = EventBridgeTrigger::new(
        client,
        unique("ec-nogroup"),
        SCHEDULE_TARGET,
        SCHEDULER_ROLE,
    );
    assert!(
        t.register(&schedule("acme"), "cron(0 6 ? * 2 *)", "UTC")
            .await
            .is_err()
    );
}
