//! The RFC 3161 time-stamping authority the seal stage asks, behind the [`Timestamper`]
//! port: `POST` of a `TimeStampReq` to `EXPORTCENTER_TSA_URL` (`application/timestamp-query`,
//! answered `application/timestamp-reply`), with a timeout. The URL is the operator's
//! configuration, not tenant input, so it is not passed through the SSRF guard.

use std::time::Duration;

use async_trait::async_trait;
use ec_domain::PortError;
use ec_domain::env::{ConfigError, Env};
use ec_domain::ports::{PortResult, Timestamper};

/// The variable naming the TSA.
pub const ENV_TSA_URL: &str = "EXPORTCENTER_TSA_URL";
/// Largest answer read (a token with a certificate chain is a few KiB).
const MAX_ANSWER: usize = 1 << 20;

/// [`Timestamper`] over HTTP.
#[derive(Debug)]
pub struct HttpTimestamper {
    url: url::Url,
    client: reqwest::Client,
}

impl HttpTimestamper {
    /// The TSA `EXPORTCENTER_TSA_URL` names, if any.
    pub fn from_env(env: &dyn Env) -> Result<Option<HttpTimestamper>, ConfigError> {
        let Some(raw) = env.var(ENV_TSA_URL).filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let url = url::Url::parse(raw.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ConfigError {
                var: ENV_TSA_URL,
                reason: "not an http(s) URL".into(),
            })?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ConfigError {
                var: ENV_TSA_URL,
                reason: e.to_string(),
            })?;
        Ok(Some(HttpTimestamper { url, client }))
    }
}

#[async_trait]
impl Timestamper for HttpTimestamper {
    async fn stamp(&self, request: &[u8]) -> PortResult<Vec<u8>> {
        let host = self.url.host_str().unwrap_or_default().to_string();
        let resp = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/timestamp-query")
            .body(request.to_vec())
            .send()
            .await
            .map_err(|e| PortError::Unavailable(format!("the TSA {host}: {e}")))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| PortError::Unavailable(format!("the TSA {host}: {e}")))?;
        if status.is_server_error() {
            return Err(PortError::Unavailable(format!(
                "the TSA {host} answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(PortError::Invalid(format!(
                "the TSA {host} answered {status}"
            )));
        }
        if body.len() > MAX_ANSWER {
            return Err(PortError::Invalid(format!(
                "the TSA {host} answered too much"
            )));
        }
        Ok(body.to_vec())
    }
}
