//! Shared set-up of the emulator tests: every test talks HTTP to a moto server whose URL is
//! in `EC_MOTO_ENDPOINT`. Without it the tests fail (they never skip): the project's test
//! command starts moto and sets the variable.

#![allow(dead_code)]

pub mod tables;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

pub const REGION: &str = "us-east-1";

/// The moto endpoint, e.g. `http://127.0.0.1:5055`.
pub fn moto_endpoint() -> String {
    match std::env::var("EC_MOTO_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "EC_MOTO_ENDPOINT is not set: these tests need a moto server \
             (e.g. `moto_server -H 127.0.0.1 -p 5055` and EC_MOTO_ENDPOINT=http://127.0.0.1:5055)"
        ),
    }
}

/// SDK configuration aimed at `endpoint`, with moto's dummy credentials and region set in
/// code (nothing read from the environment matters).
pub async fn test_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "ec-aws-tests",
        ))
        .load()
        .await
}

/// The config for the moto server named by `EC_MOTO_ENDPOINT`.
pub async fn moto_config() -> SdkConfig {
    test_config(&moto_endpoint()).await
}

/// A name unique to this test run: `{prefix}-{ulid}` in lowercase.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// An S3 store on a new bucket of the moto server, path-style as moto needs, with Object
/// Lock (so versioned) as the template's artifact bucket.
pub async fn s3_store() -> ec_aws::S3ObjectStore {
    let client = ec_aws::config::s3_client(&moto_config().await, true);
    let bucket = unique("ec-test");
    client
        .create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create bucket");
    ec_aws::S3ObjectStore::new(client, bucket)
}

/// A new SQS queue with `attrs`; its URL.
pub async fn create_queue(client: &aws_sdk_sqs::Client, attrs: &[(&str, String)]) -> String {
    let mut req = client.create_queue().queue_name(unique("ec-q"));
    for (k, v) in attrs {
        req = req.attributes(aws_sdk_sqs::types::QueueAttributeName::from(*k), v);
    }
    req.send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string()
}

/// The Lambda function the test schedules target.
pub const SCHEDULE_TARGET: &str = "arn:aws:lambda:us-east-1:123456789012:function:export-schedule";
/// The role the test schedules run as.
pub const SCHEDULER_ROLE: &str = "arn:aws:iam::123456789012:role/export-scheduler";

/// An EventBridge Scheduler trigger on a new schedule group of the moto server.
pub async fn schedule_trigger() -> ec_aws::EventBridgeTrigger {
    let client = ec_aws::config::scheduler_client(&moto_config().await);
    let group = unique("ec-group");
    client
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .expect("create schedule group");
    ec_aws::EventBridgeTrigger::new(client, group, SCHEDULE_TARGET, SCHEDULER_ROLE)
}
