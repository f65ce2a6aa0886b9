//! SDK configuration, client constructors, and the variables the AWS wiring reads, always
//! through an [`Env`] so tests can pass a map. SDK errors are mapped in
//! [`crate::sdk_error`].
//!
//! [`sdk_config`] loads the standard chain (`aws_config::defaults`): region, credentials,
//! and endpoint overrides from `AWS_ENDPOINT_URL` or the per-service
//! `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_ENDPOINT_URL_SCHEDULER`, ... (the SDK reads those itself), which is how the stack
//! is pointed at an emulator.

use aws_config::{BehaviorVersion, SdkConfig};
use ec_domain::PortError;
use ec_domain::env::Env;

/// `true`/`1`/`yes`: address S3 buckets by path (`http://host/bucket/key`), as emulators
/// need. Default: virtual-hosted style.
pub const ENV_S3_FORCE_PATH_STYLE: &str = "EXPORTCENTER_S3_FORCE_PATH_STYLE";
/// The API Gateway Management API endpoint of the WebSocket stage,
/// `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`.
pub const ENV_WS_MANAGEMENT_ENDPOINT: &str = "EXPORTCENTER_WS_MANAGEMENT_ENDPOINT";

/// The shared SDK configuration from the environment (the standard provider chain).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client; `force_path_style` for emulators (see [`s3_force_path_style`]).
pub fn s3_client(config: &SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Whether `EXPORTCENTER_S3_FORCE_PATH_STYLE` in `env` asks for path-style addressing.
pub fn s3_force_path_style(env: &dyn Env) -> bool {
    env.var(ENV_S3_FORCE_PATH_STYLE)
        .is_some_and(|v| env_flag(&v))
}

fn env_flag(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn scheduler_client(config: &SdkConfig) -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::new(config)
}

/// The value of the SSM parameter `name` (decrypted when it is a SecureString).
pub async fn ssm_parameter(config: &SdkConfig, name: &str) -> Result<String, String> {
    let out = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            crate::sdk_error::port_error(&format!("SSM parameter {name}"), e).to_string()
        })?;
    out.parameter
        .and_then(|p| p.value)
        .ok_or_else(|| format!("SSM parameter {name} has no value"))
}

/// A client of the API Gateway Management API at `endpoint`: the WebSocket stage's https
/// URL (see [`ws_management_endpoint`]), or an emulator's URL.
pub fn apigw_management_client(
    config: &SdkConfig,
    endpoint: &str,
) -> aws_sdk_apigatewaymanagement::Client {
    let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config)
        .endpoint_url(endpoint.trim_end_matches('/'))
        .build();
    aws_sdk_apigatewaymanagement::Client::from_conf(conf)
}

/// The management endpoint of a WebSocket stage, from the `domainName` and `stage` of a
/// WebSocket request context: `https://{domain}/{stage}`.
pub fn ws_management_endpoint(domain_name: &str, stage: &str) -> String {
    let domain = domain_name
        .trim_start_matches("https://")
        .trim_start_matches("wss://")
        .trim_end_matches('/');
    let stage = stage.trim_matches('/');
    if stage.is_empty() {
        format!("https://{domain}")
    } else {
        format!("https://{domain}/{stage}")
    }
}

/// `EXPORTCENTER_WS_MANAGEMENT_ENDPOINT` in `env`, if set and not blank.
pub fn ws_management_endpoint_var(env: &dyn Env) -> Option<String> {
    optional_var(env, ENV_WS_MANAGEMENT_ENDPOINT)
}

/// The variable `name` in `env`, trimmed; `None` when unset or blank.
pub fn optional_var(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The variable `name` in `env`, trimmed, or a `PortError::Backend` naming it when unset or
/// blank.
pub fn required_var(env: &dyn Env, name: &str) -> Result<String, PortError> {
    optional_var(env, name)
        .ok_or_else(|| PortError::Backend(format!("environment variable {name} is not set")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_endpoints() {
        assert_eq!(
            ws_management_endpoint("abc.execute-api.eu-west-1.amazonaws.com", "prod"),
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
        );
        assert_eq!(
            ws_management_endpoint("https://ws.example.com/", "/v1/"),
            "https://ws.example.com/v1"
        );
        assert_eq!(
            ws_management_endpoint("ws.example.com", ""),
            "https://ws.example.com"
        );
    }

    #[test]
    fn variables_come_from_the_env_given() {
        let env = [
            (ENV_S3_FORCE_PATH_STYLE, "yes"),
            (ENV_WS_MANAGEMENT_ENDPOINT, "  https://ws.example.com/prod "),
            ("BLANK", "  "),
        ];
        assert!(s3_force_path_style(&env));
        assert!(!s3_force_path_style(&[("OTHER", "1")]));
        assert_eq!(
            ws_management_endpoint_var(&env).as_deref(),
            Some("https://ws.example.com/prod")
        );
        assert_eq!(ws_management_endpoint_var(&[("BLANK", "")]), None);
        assert_eq!(required_var(&env, ENV_S3_FORCE_PATH_STYLE).unwrap(), "yes");
        for missing in ["BLANK", "UNSET"] {
            match required_var(&env, missing) {
                Err(PortError::Backend(m)) => assert!(m.contains(missing), "{m}"),
                other => panic!("expected Backend, got {other:?}"),
            }
        }
    }

    #[test]
    fn flags() {
        for yes in ["1", "true", "TRUE", " yes", "on"] {
            assert!(env_flag(yes), "{yes}");
        }
        for no in ["", "0", "false", "no", "off", "maybe"] {
            assert!(!env_flag(no), "{no}");
        }
    }
}
