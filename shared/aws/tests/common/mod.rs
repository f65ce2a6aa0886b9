//! Shared set-up of the emulator tests: every test talks HTTP to a moto server whose URL is
//! in `EC_MOTO_ENDPOINT`. Without it the tests fail (they never skip): the project's test
//! command starts moto and sets the variable.

#![allow(dead_code)]

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
