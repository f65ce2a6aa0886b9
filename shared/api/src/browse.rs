//! The routes a client application (the Console) reads from so that it copies no rule of
//! the API: the type × format × template matrix, an export's manifest, a schedule's next
//! run times, one format of the tenant's template at a time, and the tenant's scans. Each handler translates
//! HTTP into one call of an application service, as in `handlers`.

use axum::body::Body;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::HeaderMap;
use serde::Deserialize;

use axum::response::IntoResponse;
use ec_domain::{ApiError, ExportId, ScanId};
use ec_pipeline::app::templates::own_name;

use crate::extract::{
    AnyScope, Authed, ExportRead, IdPath, Q, ScanWrite, TemplateWrite, text_body,
};
use crate::handlers::{ApiResult, ok};

/// `GET /api/v1/capabilities`.
pub async fn capabilities(a: Authed<AnyScope>) -> ApiResult {
    ok(&a.app.templates.capabilities(&a.caller).await?)
}

/// `GET /api/v1/exports/{id}/manifest`.
pub async fn manifest(a: Authed<ExportRead>, IdPath(id): IdPath<ExportId>) -> ApiResult {
    ok(&a.app.exports.manifest(&a.caller, &id).await?)
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    cron: Option<String>,
    timezone: Option<String>,
    count: Option<String>,
}

/// `GET /api/v1/schedules/preview?cron=&timezone=&count=`.
pub async fn schedule_preview(_a: Authed<ExportRead>, Q(q): Q<PreviewQuery>) -> ApiResult {
    let cron = q
        .cron
        .ok_or_else(|| ApiError::validation("cron", "is required"))?;
    let count = match q.count.as_deref() {
        None => 5,
        Some(c) => c
            .parse()
            .map_err(|_| ApiError::validation("count", "must be a whole number"))?,
    };
    let timezone = q.timezone.as_deref().unwrap_or("UTC");
    let next =
        ec_pipeline::app::schedules::preview(&cron, timezone, count, ec_domain::time::now())?;
    ok(&serde_json::json!({ "next": next }))
}

/// `PUT /api/v1/templates/custom-{tenant}/{format}` with the source as `text/plain`.
pub async fn put_template_format(
    a: Authed<TemplateWrite>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let Ok(Path((name, format))) = path else {
        return Err(ApiError::not_found("template").into());
    };
    own_name(&a.caller, &name)?;
    let source = text_body(&headers, body, ec_domain::template::MAX_SOURCE_BYTES).await?;
    ok(&a
        .app
        .templates
        .put_format(&a.caller, &name, &format, &source)
        .await?)
}

#[derive(Deserialize)]
pub struct ScanListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// `GET /api/v1/scans?limit=&cursor=`.
pub async fn list_scans(a: Authed<ExportRead>, Q(q): Q<ScanListQuery>) -> ApiResult {
    let limit = ec_pipeline::app::inputs::list_limit(q.limit.as_deref())?;
    let page = a
        .app
        .scans
        .list(&a.caller, limit, q.cursor.as_deref())
        .await?;
    ok(&serde_json::json!({ "items": page.items, "next_cursor": page.next_cursor }))
}

/// `GET /api/v1/scans/{id}`.
pub async fn get_scan(a: Authed<ExportRead>, IdPath(id): IdPath<ScanId>) -> ApiResult {
    ok(&a.app.scans.get(&a.caller, &id).await?)
}

/// `DELETE /api/v1/scans/{id}`: `204`.
pub async fn delete_scan(a: Authed<ScanWrite>, IdPath(id): IdPath<ScanId>) -> ApiResult {
    a.app.scans.delete(&a.caller, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}
