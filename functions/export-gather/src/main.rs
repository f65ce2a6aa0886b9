//! export-gather: the gather stage, fed by SQS, answering with partial batch responses.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::run::stage(ec_domain::messages::QueueName::Gather, None).await
}
