//! What the Lambda functions share: event parsing and dispatch to the pipeline's handlers,
//! partial batch responses, error diagnostics, logging, and building the AWS adapters from
//! the environment. Each function's `main.rs` only picks the pieces it needs.

pub mod aws;
pub mod error;
pub mod run;
pub mod s3_event;
pub mod schedule;
pub mod seal;
pub mod sqs;
pub mod sweep;
pub mod ws;

pub use error::HandlerError;

/// JSON logs to stdout (CloudWatch), filtered by `EXPORTCENTER_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EXPORTCENTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .init();
}
