//! AWS adapters. SDK errors are mapped to port errors in one place, [`sdk_error`]; the
//! stack's builder is [`wiring::AwsAdapters`].

pub mod apigw;
pub mod bucket_writer;
pub mod config;
pub mod dynamodb;
pub mod kms;
pub mod s3;
pub mod scheduler;
pub mod sdk_error;
pub mod secrets;
pub mod signing;
pub mod sqs;
pub mod wiring;

pub use apigw::ApiGatewayPush;
pub use bucket_writer::S3BucketWriter;
pub use kms::KmsSigner;
pub use s3::S3ObjectStore;
pub use scheduler::EventBridgeTrigger;
pub use secrets::SsmDestinationSecrets;
pub use sqs::SqsQueue;
