//! The embedded stack's WebSocket endpoint (`/ws`): the local stand-in for API Gateway
//! WebSocket. Its connections are held by [`ec_embedded::Hub`], the push side.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;

use ec_api::audit::{RequestOrigin, connect_caller, peer_address};
use ec_api::{Auth, HttpError, TraceId};
use ec_domain::TenantId;
use ec_domain::ports::ConnectionRegistry;
use ec_domain::{ApiError, ErrorCode};
use ec_embedded::Hub;
use ec_pipeline::app::Audit;

#[derive(Clone)]
pub struct WsState {
    pub hub: Arc<Hub>,
    pub registry: Arc<dyn ConnectionRegistry>,
    pub auth: Arc<Auth>,
    /// Where refused handshakes are recorded.
    pub audit: Audit,
    pub ttl: std::time::Duration,
}

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
    tenant: Option<String>,
}

/// `GET /ws`: authenticates at the handshake (headers, or `?token=&tenant=` for browsers).
pub async fn handler(
    State(st): State<WsState>,
    axum::Extension(trace): axum::Extension<TraceId>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Query(q): Query<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let token = header("authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or(q.token.as_deref());
    let tenant = header("x-tenant-id").or(q.tenant.as_deref());
    let socket = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let origin = RequestOrigin {
        resource: "GET /ws".into(),
        trace_id: trace.0.clone(),
        source_ip: peer_address(socket, &headers),
        user_agent: header("user-agent").map(str::to_string),
    };
    let caller = match connect_caller(&st.auth, &st.audit, token, tenant, origin).await {
        Ok(c) => c,
        Err(error) => {
            return HttpError {
                error,
                trace_id: trace.0,
            }
            .into_response();
        }
    };
    match upgrade {
        Ok(upgrade) => {
            upgrade.on_upgrade(move |socket| serve_connection(st, caller.tenant, socket))
        }
        Err(rejection) => HttpError {
            error: ApiError::new(
                ErrorCode::BadRequest,
                format!("not a WebSocket handshake: {rejection}"),
            ),
            trace_id: trace.0,
        }
        .into_response(),
    }
}

async fn serve_connection(st: WsState, tenant: TenantId, socket: WebSocket) {
    let id = format!("conn-{}", ulid::Ulid::new().to_string().to_lowercase());
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    st.hub.insert(&id, tx);
    if let Err(e) = st.registry.register(&id, &tenant, st.ttl).await {
        tracing::warn!(connection = %id, error = %e, "could not register connection");
    }
    tracing::debug!(connection = %id, tenant = %tenant, "websocket connected");
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(payload) = out else { break };
                let text = String::from_utf8_lossy(&payload).into_owned();
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = stream.next() => {
                match incoming {
                    Some(Ok(Message::Text(t))) => {
                        // `{"action":"ping"}` keeps the registration alive; anything else
                        // (e.g. subscribe) is acknowledged: a client sees all its tenant's exports.
                        let action = serde_json::from_str::<serde_json::Value>(&t)
                            .ok()
                            .and_then(|v| v.get("action").and_then(|a| a.as_str()).map(str::to_string))
                            .unwrap_or_default();
                        let reply = if action == "ping" {
                            let _ = st.registry.register(&id, &tenant, st.ttl).await;
                            serde_json::json!({"type": "pong"})
                        } else {
                            serde_json::json!({"type": "ack", "action": action})
                        };
                        if sink.send(Message::Text(reply.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            }
        }
    }
    st.hub.remove(&id);
    if let Err(e) = st.registry.remove(&id).await {
        tracing::warn!(connection = %id, error = %e, "could not unregister connection");
    }
    tracing::debug!(connection = %id, "websocket closed");
}
