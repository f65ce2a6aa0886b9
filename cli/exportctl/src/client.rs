//! A small client of the ExportCenter API and its WebSocket, used by `demo`, the benchmark
//! and the integration tests.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use ec_domain::Job;
use ec_pipeline::app::IngestReceipt;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    tenant: String,
}

/// A non-2xx answer, with the contract's error body.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: u16,
    pub body: Value,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.body)
    }
}

impl std::error::Error for ApiFailure {}

/// A page of `GET /api/v1/audit`.
#[derive(Debug, serde::Deserialize)]
pub struct AuditPage {
    pub items: Vec<ec_domain::audit::AuditEntry>,
    pub next_cursor: Option<String>,
}

impl Client {
    pub fn new(base: &str, token: &str, tenant: &str) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            tenant: tenant.to_string(),
        })
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("X-Tenant-Id", &self.tenant)
    }

    async fn json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> anyhow::Result<T> {
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            let body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
            return Err(ApiFailure {
                status: status.as_u16(),
                body,
            }
            .into());
        }
        serde_json::from_slice(&bytes).with_context(|| format!("decoding a {status} answer"))
    }

    pub async fn ingest(&self, document: Vec<u8>) -> anyhow::Result<IngestReceipt> {
        let resp = self
            .req(reqwest::Method::POST, "/api/v1/scans")
            .header("Content-Type", "application/json")
            .body(document)
            .send()
            .await?;
        Self::json(resp).await
    }

    pub async fn create_export(
        &self,
        request: &Value,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Job> {
        let mut req = self
            .req(reqwest::Method::POST, "/api/v1/exports")
            .json(request);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        Self::json(req.send().await?).await
    }

    /// One page of the audit chain (`_system` with `system`), after `cursor`.
    pub async fn audit_page(
        &self,
        system: bool,
        cursor: Option<&str>,
    ) -> anyhow::Result<AuditPage> {
        let mut query: Vec<(&str, &str)> = vec![("limit", "200")];
        if system {
            query.push(("chain", "_system"));
        }
        if let Some(c) = cursor {
            query.push(("cursor", c));
        }
        let req = self
            .req(reqwest::Method::GET, "/api/v1/audit")
            .query(&query);
        Self::json(req.send().await?).await
    }

    pub async fn get_export(&self, export_id: &str) -> anyhow::Result<Job> {
        Self::json(
            self.req(
                reqwest::Method::GET,
                &format!("/api/v1/exports/{export_id}"),
            )
            .send()
            .await?,
        )
        .await
    }

    /// Follows the download redirect to the presigned URL and returns the bytes.
    pub async fn download(&self, export_id: &str, artifact: &str) -> anyhow::Result<Bytes> {
        let resp = self
            .req(
                reqwest::Method::GET,
                &format!("/api/v1/exports/{export_id}/download?artifact={artifact}"),
            )
            .send()
            .await?;
        if resp.status() != reqwest::StatusCode::FOUND {
            let status = resp.status().as_u16();
            let body = resp.json().await.unwrap_or(Value::Null);
            return Err(ApiFailure { status, body }.into());
        }
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("302 without Location"))?
            .to_string();
        // The presigned URL carries its own authority: no token.
        let got = self.http.get(&location).send().await?;
        if !got.status().is_success() {
            bail!("GET presigned URL: HTTP {}", got.status());
        }
        Ok(got.bytes().await?)
    }

    /// Opens the readiness WebSocket with the same token and tenant (as headers).
    pub async fn events(&self) -> anyhow::Result<Events> {
        let url = format!("{}/ws", self.base.replacen("http", "ws", 1));
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert("Authorization", format!("Bearer {}", self.token).parse()?);
        req.headers_mut()
            .insert("X-Tenant-Id", self.tenant.parse()?);
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .context("WebSocket handshake")?;
        let mut events = Events { stream };
        // A round trip proves the connection is registered before exports are requested.
        events
            .stream
            .send(Message::Text(r#"{"action":"ping"}"#.into()))
            .await?;
        loop {
            let v = events.next(Duration::from_secs(10)).await?;
            if v["type"] == "pong" {
                return Ok(events);
            }
        }
    }
}

type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The stream of `export.*` messages of one connection.
pub struct Events {
    stream: WsStream,
}

impl Events {
    /// The next JSON message.
    pub async fn next(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        loop {
            let msg = tokio::time::timeout(timeout, self.stream.next())
                .await
                .map_err(|_| anyhow!("no WebSocket message within {timeout:?}"))?
                .ok_or_else(|| anyhow!("WebSocket closed"))??;
            if let Message::Text(t) = msg {
                return Ok(serde_json::from_str(&t)?);
            }
        }
    }

    /// Waits until every id in `ids` is `export.ready` (or failed, or cancelled), returning the final
    /// message of each. Progress messages are passed to `on_event`.
    pub async fn wait_all(
        &mut self,
        ids: &[String],
        timeout: Duration,
        mut on_event: impl FnMut(&Value),
    ) -> anyhow::Result<HashMap<String, Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut done = HashMap::new();
        while done.len() < ids.len() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = self.next(left).await?;
            on_event(&v);
            let id = v["export_id"].as_str().unwrap_or_default().to_string();
            let kind = v["type"].as_str().unwrap_or_default();
            if ids.contains(&id)
                && matches!(kind, "export.ready" | "export.failed" | "export.cancelled")
            {
                done.insert(id, v);
            }
        }
        Ok(done)
    }
}
