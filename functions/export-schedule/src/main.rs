//! export-schedule: EventBridge Scheduler fires a schedule; the export starts as if the API
//! had been called (same validation, idempotent per scheduled time).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::init_tracing();
    let scheduler = ec_lambda::aws::Aws::from_env().await?.pipeline()?.scheduler;
    let scheduler = &scheduler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        ec_lambda::schedule::handle(scheduler, &event.payload).await
    }))
    .await
}
