//! The [`ScheduleTrigger`] contract: registering is idempotent (a second registration
//! updates the first) and unregistering what is not registered is not an error.

use ec_domain::ports::ScheduleTrigger;
use ec_domain::schedule::new_schedule_id;

use crate::fixtures::schedule;

/// Runs the scenario on `trigger`.
pub async fn schedule_trigger(trigger: &dyn ScheduleTrigger) {
    let s = schedule("acme", &new_schedule_id(), 0, Some(100));
    trigger
        .register(&s, "cron(0 6 ? * 2 *)", "Europe/Berlin")
        .await
        .unwrap();
    // Registering again updates in place.
    trigger
        .register(&s, "cron(30 2 1 * ? *)", "UTC")
        .await
        .unwrap();
    trigger.unregister(&s).await.unwrap();
    // Unregistering what is gone, or was never registered, is fine.
    trigger.unregister(&s).await.unwrap();
    let never = schedule("acme", &new_schedule_id(), 0, None);
    trigger.unregister(&never).await.unwrap();
}
