//! The `export-sweep` invocation: one retention sweep as of now, answering what it did
//! (`{"expired", "skipped", "failed"}`). Exports it could not sweep are logged and left
//! for the next hourly run; only a job table that cannot be read fails the invocation
//! (retryable: EventBridge retries it).

use serde_json::Value;

use ec_pipeline::sweeper::Sweeper;

use crate::HandlerError;

pub async fn handle(sweeper: &Sweeper) -> Result<Value, HandlerError> {
    let report = sweeper
        .sweep(ec_domain::time::now())
        .await
        .map_err(|e| HandlerError::Retryable(format!("retention sweep: {e}")))?;
    serde_json::to_value(report).map_err(|e| HandlerError::Permanent(e.to_string()))
}
