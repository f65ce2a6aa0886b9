//! The audit layer: after each routed request it appends one entry to the audit trail when
//! the request changed something (the contract's actions: export create/cancel/download,
//! scan ingest/delete, template upload, schedule changes) or was refused authentication or
//! authorisation (`auth.denied`). Refusals by a verified tenant's token (a missing scope) go
//! to that tenant's chain; refusals whose tenant cannot be trusted (no token, a bad token, a
//! tenant the token does not cover) go to `_system`. The entry names the caller, the
//! resource, the status, the trace id, the source address and the user agent; never a token,
//! a query string or a presigned URL.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use ec_domain::ApiError;
use ec_domain::audit::{AuditAction, AuditChain, AuditDraft, Outcome};
use ec_pipeline::app::{Audit, Caller};

use crate::auth::Auth;
use crate::error::TraceId;
use crate::extract::header_str;

/// What the request's extractors and handler learn for its entry: the verified caller.
#[derive(Clone, Default)]
pub(crate) struct AuditSlot(Arc<Mutex<Option<Caller>>>);

impl AuditSlot {
    pub(crate) fn set_caller(&self, caller: &Caller) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(caller.clone());
    }

    fn caller(&self) -> Option<Caller> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The resource a handler names for its entry when the path alone would not say it (a
/// download's artifact).
#[derive(Clone)]
pub(crate) struct AuditResource(pub String);

/// The action a route records, by method, route pattern and query (`?purge=true`).
fn action_of(method: &Method, route: &str, query: Option<&str>) -> Option<AuditAction> {
    use AuditAction::*;
    let purge = query.is_some_and(|q| q.split('&').any(|p| p == "purge=true"));
    Some(match (method.as_str(), route) {
        ("POST", "/api/v1/exports") => ExportCreate,
        ("DELETE", "/api/v1/exports/{export_id}") if purge => ExportPurge,
        ("DELETE", "/api/v1/exports/{export_id}") => ExportCancel,
        ("PUT", "/api/v1/exports/{export_id}/legal-hold") => ExportHold,
        ("GET", "/api/v1/exports/{export_id}/download") => ExportDownload,
        ("POST", "/api/v1/scans") => ScanIngest,
        ("DELETE", "/api/v1/scans/{scan_id}") => ScanDelete,
        ("PUT", "/api/v1/templates/{name}") => TemplatePut,
        ("PUT", "/api/v1/templates/{name}/{format}") => TemplatePut,
        ("POST", "/api/v1/schedules") => ScheduleCreate,
        ("PATCH", "/api/v1/schedules/{schedule_id}") => ScheduleUpdate,
        ("DELETE", "/api/v1/schedules/{schedule_id}") => ScheduleDelete,
        ("POST", "/api/v1/schedules/{schedule_id}/run") => ExportCreate,
        ("POST", "/api/v1/destinations") => DestinationCreate,
        ("DELETE", "/api/v1/destinations/{destination_id}") => DestinationDelete,
        _ => return None,
    })
}

/// The peer's address: the socket's on `exportctl serve`; behind API Gateway the last
/// `X-Forwarded-For` hop (the one API Gateway added, so a client cannot forge it).
fn source_ip(req: &Request) -> Option<String> {
    let socket = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    peer_address(socket, req.headers())
}

/// [`source_ip`] from its parts (the WebSocket handshakes use it too).
pub fn peer_address(socket: Option<SocketAddr>, headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(addr) = socket {
        return Some(addr.ip().to_string());
    }
    header_str(headers, "x-forwarded-for")
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_string())
}

/// Where a request came from, for a refusal's entry.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    /// What was asked for, e.g. `GET /ws` or `$connect`.
    pub resource: String,
    pub trace_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The entry of a refused authentication (`caller` unknown: the `_system` chain) or
/// authorisation (a verified caller lacking a scope: its tenant's chain).
fn denied(caller: Option<&Caller>, status: u16, origin: RequestOrigin) -> AuditDraft {
    AuditDraft {
        chain: caller.map_or(AuditChain::System, |c| AuditChain::Tenant(c.tenant.clone())),
        at: time::OffsetDateTime::now_utc(),
        subject: caller.map_or_else(|| "anonymous".to_string(), |c| c.subject.clone()),
        action: AuditAction::AuthDenied,
        resource: origin.resource,
        outcome: Outcome::Denied,
        status,
        trace_id: origin.trace_id,
        source_ip: origin.source_ip,
        user_agent: origin.user_agent,
    }
}

/// A WebSocket handshake's check (both stacks): the token, its tenant and `export:read`;
/// a refusal is recorded in the audit trail like any other.
pub async fn connect_caller(
    auth: &Auth,
    audit: &Audit,
    token: Option<&str>,
    tenant: Option<&str>,
    origin: RequestOrigin,
) -> Result<Caller, ApiError> {
    let refused = match auth.verify(token, tenant).await {
        Ok(p) => match p.require("export:read") {
            Ok(c) => return Ok(c.clone()),
            Err(e) => (e, Some(p.caller)),
        },
        Err(e) => (e, None),
    };
    let (error, caller) = refused;
    if matches!(error.status(), 401 | 403) {
        audit
            .record(denied(caller.as_ref(), error.status(), origin))
            .await;
    }
    Err(error)
}

/// The middleware (a route layer, so only routed requests are seen).
pub(crate) async fn audit_layer(
    State(audit): State<Audit>,
    mut req: Request,
    next: Next,
) -> Response {
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let trace_id = req
        .extensions()
        .get::<TraceId>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let source_ip = source_ip(&req);
    let user_agent = header_str(req.headers(), "user-agent").map(str::to_string);

    let resp = next.run(req).await;

    let status = resp
        .extensions()
        .get::<ApiError>()
        .map(ApiError::status)
        .unwrap_or_else(|| resp.status().as_u16());
    let caller = slot.caller();
    let (chain, subject, action, outcome, resource) = if matches!(status, 401 | 403) {
        let chain = caller
            .as_ref()
            .map_or(AuditChain::System, |c| AuditChain::Tenant(c.tenant.clone()));
        let subject = caller.map_or_else(|| "anonymous".to_string(), |c| c.subject);
        let resource = format!("{method} {path}");
        (
            chain,
            subject,
            AuditAction::AuthDenied,
            Outcome::Denied,
            resource,
        )
    } else {
        let (Some(action), Some(caller)) = (
            route.and_then(|r| action_of(&method, &r, query.as_deref())),
            caller,
        ) else {
            return resp;
        };
        let resource = resp
            .extensions()
            .get::<AuditResource>()
            .map(|r| r.0.clone())
            .or_else(|| {
                let location = resp.headers().get(header::LOCATION)?.to_str().ok()?;
                location.starts_with("/api/").then(|| location.to_string())
            })
            .unwrap_or(path);
        let outcome = if status < 400 {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        (
            AuditChain::Tenant(caller.tenant),
            caller.subject,
            action,
            outcome,
            resource,
        )
    };
    audit
        .record(AuditDraft {
            chain,
            at: time::OffsetDateTime::now_utc(),
            subject,
            action,
            resource,
            outcome,
            status,
            trace_id,
            source_ip,
            user_agent,
        })
        .await;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_changing_route_has_an_action() {
        let m = |s: &str| Method::from_bytes(s.as_bytes()).unwrap();
        assert_eq!(
            action_of(&m("POST"), "/api/v1/exports", None),
            Some(AuditAction::ExportCreate)
        );
        assert_eq!(action_of(&m("GET"), "/api/v1/exports", None), None);
        assert_eq!(
            action_of(&m("GET"), "/api/v1/exports/{export_id}/download", None),
            Some(AuditAction::ExportDownload)
        );
    }
}
