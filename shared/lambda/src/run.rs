//! What each function's `main` runs: the Lambda runtime loop over one handler, built once
//! per cold start from the environment. A function picks its entry point; nothing else is
//! in its `main`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use std::sync::Arc;

use ec_domain::messages::QueueName;
use ec_domain::ports::ReportRenderer;
use ec_pipeline::Pipeline;

use crate::aws::Aws;

/// A queue-fed stage (gather, render), answering with partial batch responses.
/// `renderer` is export-render's (the only function that renders; the others pass `None`
/// and so link no renderer).
pub async fn stage(
    queue: QueueName,
    renderer: Option<Arc<dyn ReportRenderer>>,
) -> Result<(), Error> {
    crate::init_tracing();
    let aws = Aws::from_env().await?;
    let mut ports = aws.ports()?;
    if let Some(r) = renderer {
        ports.renderer = r;
    }
    let stages = &Pipeline::new(ports, aws.settings().clone()).stages;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(crate::sqs::handle_batch(stages, queue, event.payload).await)
    }))
    .await
}

/// The seal stage, fed by S3 notifications directly or through SQS.
pub async fn seal() -> Result<(), Error> {
    crate::init_tracing();
    let aws = Aws::from_env().await?;
    aws.require_sealing_key()?;
    let stages = &aws.pipeline()?.stages;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        crate::seal::handle(stages, event.payload).await
    }))
    .await
}

/// EventBridge Scheduler invocations of schedules.
pub async fn schedule() -> Result<(), Error> {
    crate::init_tracing();
    let scheduler = &Aws::from_env().await?.pipeline()?.scheduler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        crate::schedule::handle(scheduler, &event.payload).await
    }))
    .await
}

/// The scheduled retention sweep (an EventBridge rule; the event's contents are not read).
pub async fn sweep() -> Result<(), Error> {
    crate::init_tracing();
    let sweeper = &Aws::from_env().await?.pipeline()?.sweeper;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        crate::sweep::handle(sweeper).await
    }))
    .await
}

/// The API Gateway WebSocket routes.
pub async fn websocket() -> Result<(), Error> {
    crate::init_tracing();
    let routes = &Aws::from_env().await?.ws_routes()?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(routes.handle(&event.payload).await)
    }))
    .await
}
