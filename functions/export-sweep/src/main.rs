//! export-sweep: the retention sweeper, fired hourly by an EventBridge rule: deletes the
//! artifacts (every version) of exports whose retention ended and marks them `expired`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::run::sweep().await
}
