//! Deliveries' HTTP requests over reqwest (rustls), behind the [`HttpSender`] port: pinned to
//! the addresses the SSRF guard checked (`resolve_to_addrs`, so a name cannot resolve
//! elsewhere between the check and the connection), no redirects followed, a timeout, and
//! at most 64 KiB of the answer kept.

use std::time::Duration;

use async_trait::async_trait;
use ec_domain::PortError;
use ec_domain::ports::{HttpAnswer, HttpPost, HttpSender, PortResult};

/// How much of an answer's body a delivery keeps.
const EXCERPT_BYTES: usize = 200;
/// How much of an answer's body is kept at all.
const BODY_BYTES: usize = 64 * 1024;

/// [`HttpSender`] over reqwest.
#[derive(Debug, Clone)]
pub struct ReqwestSender {
    timeout: Duration,
}

impl ReqwestSender {
    pub fn new(timeout: Duration) -> Self {
        ReqwestSender { timeout }
    }
}

impl Default for ReqwestSender {
    fn default() -> Self {
        ReqwestSender::new(Duration::from_secs(30))
    }
}

impl ReqwestSender {
    /// A client that follows no redirect, pinned to `addrs` for `host` when given.
    fn client(&self, host: &str, addrs: &[std::net::SocketAddr]) -> PortResult<reqwest::Client> {
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .user_agent(concat!("ExportCenter/", env!("CARGO_PKG_VERSION")));
        if !addrs.is_empty() {
            client = client.resolve_to_addrs(host, addrs);
        }
        client
            .build()
            .map_err(|e| PortError::Backend(format!("HTTP client: {e}")))
    }

    /// Sends `req` and reads the answer. Errors name the host, never the path or query
    /// (which may hold a credential).
    async fn answer(
        host: &str,
        method: &str,
        req: reqwest::RequestBuilder,
    ) -> PortResult<HttpAnswer> {
        let resp = req.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            PortError::Unavailable(format!("{method} to {host}: {why}"))
        })?;
        let status = resp.status().as_u16();
        let mut body = resp.bytes().await.unwrap_or_default();
        body.truncate(BODY_BYTES);
        let cut = body.len().min(EXCERPT_BYTES);
        Ok(HttpAnswer {
            status,
            excerpt: String::from_utf8_lossy(&body[..cut]).into_owned(),
            body,
        })
    }
}

#[async_trait]
impl HttpSender for ReqwestSender {
    async fn post(&self, request: &HttpPost) -> PortResult<HttpAnswer> {
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| PortError::Invalid(format!("not a URL: {e}")))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let mut req = self
            .client(&host, &request.addrs)?
            .post(url)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            req = req.header(name, value);
        }
        Self::answer(&host, "POST", req).await
    }

    async fn get(&self, url: &str, headers: &[(String, String)]) -> PortResult<HttpAnswer> {
        let url =
            reqwest::Url::parse(url).map_err(|e| PortError::Invalid(format!("not a URL: {e}")))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let mut req = self.client(&host, &[])?.get(url);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        Self::answer(&host, "GET", req).await
    }
}
