//! export-seal: seals a report when its S3 ObjectCreated notification arrives, either
//! directly from S3 or through SQS (partial batch responses then).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::run::seal().await
}
