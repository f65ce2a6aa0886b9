//! export-api: the HTTP API (API Gateway HTTP API v2 or REST v1 events) over the same axum
//! router `exportctl serve` runs.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    ec_lambda::init_tracing();
    let aws = ec_lambda::aws::Aws::from_env().await?;
    let router = ec_api::router(aws.api_state()?);
    lambda_http::run(router).await
}
