//! export-schedule: EventBridge Scheduler fires a schedule; the export starts as if the API
//! had been called (same validation, idempotent per scheduled time).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::run::schedule().await
}
