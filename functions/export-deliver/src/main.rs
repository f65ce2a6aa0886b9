//! export-deliver: the deliver stage (one attempt of one delivery per message: webhook,
//! email, Slack, Teams), fed by SQS, answering with partial batch responses.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::run::stage(ec_domain::messages::QueueName::Deliver, None).await
}
