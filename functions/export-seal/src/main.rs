//! export-seal: seals a report when its S3 ObjectCreated notification arrives, either
//! directly from S3 or through SQS (partial batch responses then).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::init_tracing();
    let stages = ec_lambda::aws::Aws::from_env().await?.pipeline()?.stages;
    let stages = &stages;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        ec_lambda::seal::handle(stages, event.payload).await
    }))
    .await
}
