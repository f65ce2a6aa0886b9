//! API Gateway WebSocket routes of `export-notify`: `$connect` authenticates (headers or
//! `?token=&tenant=`) and registers the connection, `$disconnect` forgets it, `$default`
//! answers `{"action":"ping"}` with a pong and acknowledges anything else. Readiness pushes
//! go out from the pipeline through the Management API (see `ec_aws::apigw`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use ec_api::Auth;
use ec_api::audit::{RequestOrigin, connect_caller};
use ec_domain::ApiError;
use ec_domain::ports::{ConnectionPush, ConnectionRegistry};
use ec_pipeline::app::Audit;

pub struct WsRoutes {
    pub auth: Arc<Auth>,
    /// Where refused `$connect`s are recorded.
    pub audit: Audit,
    pub registry: Arc<dyn ConnectionRegistry>,
    pub push: Arc<dyn ConnectionPush>,
    /// API Gateway closes connections after 2 hours; the registration lives as long.
    pub ttl: Duration,
}

fn lookup<'a>(map: &'a Value, name: &str) -> Option<&'a str> {
    map.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn answer(status: u16, body: Value) -> Value {
    json!({ "statusCode": status, "body": body.to_string() })
}

fn refuse(e: ApiError, trace: &str) -> Value {
    answer(
        e.status(),
        serde_json::to_value(e.body(trace, ec_domain::time::now())).unwrap_or_default(),
    )
}

impl WsRoutes {
    /// Handles one WebSocket route event; the answer is an API Gateway proxy response.
    pub async fn handle(&self, event: &Value) -> Value {
        let ctx = &event["requestContext"];
        let route = ctx["routeKey"].as_str().unwrap_or("$default");
        let Some(conn) = ctx["connectionId"].as_str() else {
            return answer(400, json!({"message": "no connectionId"}));
        };
        let trace = ctx["requestId"].as_str().unwrap_or(conn);
        match route {
            "$connect" => {
                let headers = &event["headers"];
                let query = &event["queryStringParameters"];
                let token = lookup(headers, "authorization")
                    .and_then(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                    })
                    .or_else(|| lookup(query, "token"));
                let tenant = lookup(headers, "x-tenant-id").or_else(|| lookup(query, "tenant"));
                let origin = RequestOrigin {
                    resource: "$connect".into(),
                    trace_id: trace.to_string(),
                    source_ip: ctx["identity"]["sourceIp"].as_str().map(str::to_string),
                    user_agent: lookup(headers, "user-agent").map(str::to_string),
                };
                let caller =
                    match connect_caller(&self.auth, &self.audit, token, tenant, origin).await {
                        Ok(c) => c,
                        Err(e) => return refuse(e, trace),
                    };
                match self.registry.register(conn, &caller.tenant, self.ttl).await {
                    Ok(()) => answer(200, json!({"connected": conn})),
                    Err(e) => refuse(e.into(), trace),
                }
            }
            "$disconnect" => {
                if let Err(e) = self.registry.remove(conn).await {
                    tracing::warn!(connection = conn, error = %e, "could not forget connection");
                }
                answer(200, json!({}))
            }
            _ => {
                let body: Value = event["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or_default();
                let action = body["action"].as_str().unwrap_or_default();
                let reply = if action == "ping" {
                    json!({"type": "pong"})
                } else {
                    json!({"type": "ack", "action": action})
                };
                if let Err(e) = self
                    .push
                    .post(conn, bytes::Bytes::from(reply.to_string()))
                    .await
                {
                    tracing::warn!(connection = conn, error = %e, "could not answer");
                }
                answer(200, json!({}))
            }
        }
    }
}
