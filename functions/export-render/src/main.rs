//! export-render: the render stage, fed by SQS, answering with partial batch responses.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use ec_domain::messages::QueueName;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Custom templates render in a limited child of this binary (ec_adapters::sandbox).
    ec_adapters::sandbox::serve_if_requested();
    ec_lambda::init_tracing();
    let stages = ec_lambda::aws::Aws::from_env().await?.pipeline()?.stages;
    let stages = &stages;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Error>(
            ec_lambda::sqs::handle_batch(stages, QueueName::Render, event.payload).await,
        )
    }))
    .await
}
