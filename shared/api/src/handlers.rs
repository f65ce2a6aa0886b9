//! The routes' handlers: each translates HTTP into one typed call of an application
//! service (`ec_pipeline::app`) and its answer back into HTTP. Nothing else happens here.

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use ec_domain::audit::{AuditChain, SYSTEM_CHAIN};
use ec_domain::template::CustomTemplate;
use ec_domain::{ApiError, DestinationId, ExportId, ExportRequest, ScheduleId};
use ec_pipeline::app::QuotaStatus;
use ec_pipeline::app::audit::parse_query;
use ec_pipeline::app::destination_input::NewDestination;
use ec_pipeline::app::inputs::{
    IdempotencyKey, ListExports, ListExportsQuery, NewSchedule, SchedulePatch, artifact_kind,
};
use ec_pipeline::app::templates::own_name;

use crate::audit::AuditResource;
use crate::auth::AUDIT_SYSTEM_SCOPE;
use crate::error::ApiFailure;
use crate::extract::{
    AnyScope, AuditRead, Authed, DestinationWrite, ExportAdmin, ExportRead, ExportWrite, IdPath, Q,
    ScanWrite, TemplatePathName, TemplateWrite, header_str, json_body, json_value,
};

pub(crate) type ApiResult = Result<Response, ApiFailure>;

/// Sources of all formats of one custom template, with room for the JSON encoding.
const TEMPLATE_BODY_BYTES: usize = 4 * ec_domain::template::MAX_SOURCE_BYTES;

fn created_at(status: StatusCode, body: &impl serde::Serialize, location: String) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

pub(crate) fn ok(body: &impl serde::Serialize) -> ApiResult {
    Ok(Json(body).into_response())
}

fn items(items: &impl serde::Serialize) -> ApiResult {
    ok(&serde_json::json!({ "items": items }))
}

pub async fn create_export(a: Authed<ExportWrite>, headers: HeaderMap, body: Body) -> ApiResult {
    let value = json_value(&headers, body, a.limits.request_bytes).await?;
    let request = ExportRequest::from_json(&value, &a.caller.tenant)?;
    let key = header_str(&headers, "idempotency-key")
        .map(IdempotencyKey::parse)
        .transpose()?;
    match a.app.exports.create(&a.caller, request, key.as_ref()).await {
        Ok(accepted) => {
            let location = format!("/api/v1/exports/{}", accepted.job.export_id);
            let mut resp = created_at(StatusCode::ACCEPTED, &accepted.job, location);
            quota_headers(&mut resp, accepted.quota.as_ref(), None);
            Ok(resp)
        }
        Err(refused) => {
            // The trace layer gives the error its body and keeps these headers.
            let mut resp = ApiFailure(refused.error).into_response();
            quota_headers(&mut resp, refused.quota.as_ref(), refused.retry_after_secs);
            Ok(resp)
        }
    }
}

/// `X-Quota-Limit`, `X-Quota-Remaining`, `X-Quota-Reset` (the per-minute limit, seconds to
/// its window's end), `X-Quota-Concurrent-Limit`, `X-Quota-Concurrent-Remaining`, and
/// `Retry-After` on a refusal.
fn quota_headers(resp: &mut Response, quota: Option<&QuotaStatus>, retry_after: Option<u64>) {
    let h = resp.headers_mut();
    if let Some(q) = quota {
        for (name, value) in [
            ("x-quota-limit", u64::from(q.limit)),
            ("x-quota-remaining", u64::from(q.remaining)),
            ("x-quota-reset", q.reset_secs),
            ("x-quota-concurrent-limit", u64::from(q.concurrent_limit)),
            (
                "x-quota-concurrent-remaining",
                u64::from(q.concurrent_remaining),
            ),
        ] {
            h.insert(name, HeaderValue::from(value));
        }
    }
    if let Some(secs) = retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    format: Option<String>,
    #[serde(rename = "type")]
    export_type: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

pub async fn list_exports(a: Authed<ExportRead>, Q(q): Q<ListQuery>) -> ApiResult {
    let raw = ListExportsQuery {
        status: q.status.as_deref(),
        format: q.format.as_deref(),
        export_type: q.export_type.as_deref(),
        limit: q.limit.as_deref(),
    };
    let query = ListExports::parse(raw, q.cursor)?;
    let page = a.app.exports.list(&a.caller, &query).await?;
    ok(&serde_json::json!({ "items": page.items, "next_cursor": page.next_cursor }))
}

pub async fn get_export(a: Authed<ExportRead>, IdPath(id): IdPath<ExportId>) -> ApiResult {
    ok(&a.app.exports.get(&a.caller, &id).await?)
}

#[derive(Deserialize)]
pub struct DeleteQuery {
    purge: Option<String>,
}

/// `DELETE /api/v1/exports/{id}`: cancels (`export:write`), or with `?purge=true` removes a
/// finished export's artifacts (`export:admin`).
pub async fn cancel_export(
    a: Authed<AnyScope>,
    IdPath(id): IdPath<ExportId>,
    Q(q): Q<DeleteQuery>,
) -> ApiResult {
    use crate::extract::Scope;
    let job = match q.purge.as_deref() {
        None | Some("false") => {
            a.principal.require(ExportWrite::NAME)?;
            a.app.exports.cancel(&a.caller, &id).await?
        }
        Some("true") => {
            a.principal.require(ExportAdmin::NAME)?;
            a.app.exports.purge(&a.caller, &id).await?
        }
        Some(_) => return Err(ApiError::validation("purge", "must be true or false").into()),
    };
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

/// `PUT /api/v1/exports/{id}/legal-hold` (`export:admin`): `{"hold": bool, "reason"}`.
pub async fn put_legal_hold(
    a: Authed<ExportAdmin>,
    IdPath(id): IdPath<ExportId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let v = json_value(&headers, body, 16 * 1024).await?;
    let Some(obj) = v.as_object() else {
        return Err(ApiError::validation("body", "must be a JSON object").into());
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "hold" | "reason"))
    {
        return Err(
            ApiError::validation(k.as_str(), "unknown field; expected hold, reason").into(),
        );
    }
    let Some(hold) = obj.get("hold").and_then(serde_json::Value::as_bool) else {
        return Err(ApiError::validation("hold", "is required: true or false").into());
    };
    let reason = match obj.get("reason") {
        None | Some(serde_json::Value::Null) => "",
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::validation("reason", "must be a string").into()),
    };
    ok(&a
        .app
        .exports
        .set_legal_hold(&a.caller, &id, hold, reason)
        .await?)
}

#[derive(Deserialize)]
pub struct DownloadQuery {
    artifact: Option<String>,
    redirect: Option<String>,
}

pub async fn download(
    a: Authed<ExportRead>,
    IdPath(id): IdPath<ExportId>,
    Q(q): Q<DownloadQuery>,
) -> ApiResult {
    let kind = artifact_kind(q.artifact.as_deref())?;
    let redirect = match q.redirect.as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(ApiError::validation("redirect", "expected true or false").into()),
    };
    let url = a.app.exports.download_url(&a.caller, &id, kind).await?;
    let mut resp = if redirect {
        let location = HeaderValue::from_str(&url)
            .map_err(|_| ApiError::internal("presigned URL is not a valid header"))?;
        (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
    } else {
        // Browsers cannot read a redirect's Location: the link and when it stops working.
        let expires_at = ec_domain::time::now()
            + time::Duration::seconds(a.app.exports.download_ttl.as_secs() as i64);
        Json(serde_json::json!({
            "url": url,
            "expires_at": ec_domain::time::rfc3339(expires_at),
        }))
        .into_response()
    };
    resp.extensions_mut().insert(AuditResource(format!(
        "/api/v1/exports/{id}/download?artifact={}",
        kind.as_str()
    )));
    Ok(resp)
}

pub async fn ingest_scan(a: Authed<ScanWrite>, headers: HeaderMap, body: Body) -> ApiResult {
    // The limit holds for the decompressed document; a compressed body is no larger either.
    let encoding = crate::encoding::Encoding::of(&headers)?;
    let raw = json_body(&headers, body, a.limits.scan_bytes).await?;
    let limit = a.limits.scan_bytes;
    let bytes = tokio::task::spawn_blocking(move || crate::encoding::decode(encoding, raw, limit))
        .await
        .map_err(|e| ApiError::internal(format!("decompression stopped: {e}")))??;
    let name = crate::extract::upload_file_name(&headers);
    let receipt = a.app.scans.ingest(&a.caller, &bytes, name).await?;
    let location = format!("/api/v1/scans/{}", receipt.scan_id);
    Ok(created_at(StatusCode::CREATED, &receipt, location))
}

/// `GET /api/v1/keys`: the seal signing keys (any valid token).
pub async fn keys(a: Authed<AnyScope>) -> ApiResult {
    ok(a.app.keys.jwks()?)
}

pub async fn templates(a: Authed<ExportRead>) -> ApiResult {
    items(&a.app.templates.list(&a.caller).await?)
}

pub async fn put_template(
    a: Authed<TemplateWrite>,
    IdPath(TemplatePathName(name)): IdPath<TemplatePathName>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let value = json_value(&headers, body, TEMPLATE_BODY_BYTES).await?;
    own_name(&a.caller, &name)?;
    let now = ec_domain::time::now();
    let template = CustomTemplate::from_upload(&a.caller.tenant, &value, now)?;
    ok(&a.app.templates.put(&a.caller, &name, template).await?)
}

pub async fn get_template(
    a: Authed<ExportRead>,
    IdPath(TemplatePathName(name)): IdPath<TemplatePathName>,
) -> ApiResult {
    ok(&a.app.templates.get(&a.caller, &name).await?)
}

pub async fn create_schedule(a: Authed<ExportWrite>, headers: HeaderMap, body: Body) -> ApiResult {
    let value = json_value(&headers, body, a.limits.request_bytes).await?;
    let new = NewSchedule::parse(&value)?;
    let schedule = a.app.schedules.create(&a.caller, new).await?;
    let location = format!("/api/v1/schedules/{}", schedule.schedule_id);
    Ok(created_at(StatusCode::CREATED, &schedule, location))
}

pub async fn list_schedules(a: Authed<ExportRead>) -> ApiResult {
    items(&a.app.schedules.list(&a.caller).await?)
}

pub async fn get_schedule(a: Authed<ExportRead>, IdPath(id): IdPath<ScheduleId>) -> ApiResult {
    ok(&a.app.schedules.get(&a.caller, &id).await?)
}

pub async fn patch_schedule(
    a: Authed<ExportWrite>,
    IdPath(id): IdPath<ScheduleId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let value = json_value(&headers, body, a.limits.request_bytes).await?;
    let patch = SchedulePatch::parse(&value)?;
    ok(&a.app.schedules.patch(&a.caller, &id, patch).await?)
}

/// `202 Accepted` with the run's job.
pub async fn run_schedule(a: Authed<ExportWrite>, IdPath(id): IdPath<ScheduleId>) -> ApiResult {
    let job = a.app.schedules.run_now(&a.caller, &id).await?;
    let location = format!("/api/v1/exports/{}", job.export_id);
    Ok(created_at(StatusCode::ACCEPTED, &job, location))
}

/// `204 No Content`: the schedule is gone (exports it already started are kept).
pub async fn delete_schedule(a: Authed<ExportWrite>, IdPath(id): IdPath<ScheduleId>) -> ApiResult {
    a.app.schedules.delete(&a.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn create_destination(
    a: Authed<DestinationWrite>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let value = json_value(&headers, body, a.limits.request_bytes).await?;
    let new = NewDestination::parse(&value)?;
    let created = a.app.destinations.create(&a.caller, new).await?;
    let location = format!(
        "/api/v1/destinations/{}",
        created.destination.destination_id
    );
    let mut resp = created_at(StatusCode::CREATED, &created, location);
    // The answer may carry the webhook secret: never cached anywhere.
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub async fn list_destinations(a: Authed<ExportRead>) -> ApiResult {
    items(&a.app.destinations.list(&a.caller).await?)
}

pub async fn get_destination(
    a: Authed<ExportRead>,
    IdPath(id): IdPath<DestinationId>,
) -> ApiResult {
    ok(&a.app.destinations.get(&a.caller, &id).await?)
}

/// `200` with `{destination_id, delivered, error?, message_id}`: one test message, now.
pub async fn test_destination(
    a: Authed<DestinationWrite>,
    IdPath(id): IdPath<DestinationId>,
) -> ApiResult {
    ok(&a.app.destinations.test(&a.caller, &id).await?)
}

/// `204 No Content`: the destination and its secret are gone.
pub async fn delete_destination(
    a: Authed<DestinationWrite>,
    IdPath(id): IdPath<DestinationId>,
) -> ApiResult {
    a.app.destinations.delete(&a.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct AuditQueryString {
    from: Option<String>,
    to: Option<String>,
    action: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    /// `oldest` (default) or `newest` first.
    order: Option<String>,
    /// `_system`: the operators' chain (scope `audit:system`); else the caller's tenant.
    chain: Option<String>,
}

/// `GET /api/v1/audit`: one page of the caller's chain, oldest first.
pub async fn list_audit(a: Authed<AuditRead>, Q(q): Q<AuditQueryString>) -> ApiResult {
    let chain = match q.chain.as_deref() {
        None => AuditChain::Tenant(a.caller.tenant.clone()),
        Some(SYSTEM_CHAIN) => {
            a.principal.require(AUDIT_SYSTEM_SCOPE)?;
            AuditChain::System
        }
        Some(_) => {
            return Err(ApiError::validation(
                "chain",
                "omit it for the tenant's own chain, or _system",
            )
            .into());
        }
    };
    let query = parse_query(
        q.from.as_deref(),
        q.to.as_deref(),
        q.action.as_deref(),
        q.limit.as_deref(),
        q.cursor.as_deref(),
        q.order.as_deref(),
    )?;
    let page = a.app.audit.list(&chain, &query).await?;
    ok(&serde_json::json!({ "items": page.items, "next_cursor": page.next_cursor }))
}
