//! The routes' handlers: each translates HTTP into one typed call of an application
//! service (`ec_pipeline::app`) and its answer back into HTTP. Nothing else happens here.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use ec_domain::template::CustomTemplate;
use ec_domain::{ApiError, ExportId, ExportRequest, ScheduleId};
use ec_pipeline::app::inputs::{IdempotencyKey, ListExports, NewSchedule, artifact_kind};
use ec_pipeline::app::templates::own_name;

use crate::ApiState;
use crate::error::ApiFailure;
use crate::extract::{
    Authed, ExportRead, ExportWrite, Q, ScanWrite, TemplateWrite, header_str, json_body, json_value,
};

type ApiResult = Result<Response, ApiFailure>;

/// Sources of all formats of one custom template, with room for the JSON encoding.
const TEMPLATE_BODY_BYTES: usize = 4 * ec_domain::template::MAX_SOURCE_BYTES;

fn created_at(status: StatusCode, body: &impl serde::Serialize, location: String) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

/// An export id from the path; one that cannot exist is simply not found.
fn export_id(id: &str) -> Result<ExportId, ApiError> {
    ExportId::parse(id).map_err(|_| ApiError::not_found("export"))
}

/// A schedule id from the path; one that cannot exist is simply not found.
fn schedule_id(id: &str) -> Result<ScheduleId, ApiError> {
    ScheduleId::parse(id).map_err(|_| ApiError::not_found("schedule"))
}

fn items(items: &impl serde::Serialize) -> Response {
    Json(serde_json::json!({ "items": items })).into_response()
}

pub async fn create_export(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportWrite>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let value = json_value(&headers, body, st.limits.request_bytes).await?;
    let request = ExportRequest::from_json(&value, &caller.tenant)?;
    let key = header_str(&headers, "idempotency-key")
        .map(IdempotencyKey::parse)
        .transpose()?;
    let job = st
        .app
        .exports
        .create(&caller, request, key.as_ref())
        .await?;
    let location = format!("/api/v1/exports/{}", job.export_id);
    Ok(created_at(StatusCode::ACCEPTED, &job, location))
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

pub async fn list_exports(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportRead>,
    Q(q): Q<ListQuery>,
) -> ApiResult {
    let query = ListExports::parse(q.status.as_deref(), q.limit.as_deref(), q.cursor)?;
    let page = st.app.exports.list(&caller, &query).await?;
    let body = serde_json::json!({ "items": page.items, "next_cursor": page.next_cursor });
    Ok(Json(body).into_response())
}

pub async fn get_export(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportRead>,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(Json(st.app.exports.get(&caller, &export_id(&id)?).await?).into_response())
}

pub async fn cancel_export(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportWrite>,
    Path(id): Path<String>,
) -> ApiResult {
    let job = st.app.exports.cancel(&caller, &export_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

#[derive(Deserialize)]
pub struct DownloadQuery {
    artifact: Option<String>,
}

pub async fn download(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportRead>,
    Path(id): Path<String>,
    Q(q): Q<DownloadQuery>,
) -> ApiResult {
    let kind = artifact_kind(q.artifact.as_deref())?;
    let url = st
        .app
        .exports
        .download_url(&caller, &export_id(&id)?, kind)
        .await?;
    let location = HeaderValue::from_str(&url)
        .map_err(|_| ApiError::internal("presigned URL is not a valid header"))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

pub async fn ingest_scan(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ScanWrite>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let bytes = json_body(&headers, body, st.limits.scan_bytes).await?;
    let receipt = st.app.scans.ingest(&caller, &bytes).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

pub async fn templates(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportRead>,
) -> ApiResult {
    Ok(items(&st.app.templates.list(&caller).await?))
}

pub async fn put_template(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<TemplateWrite>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let value = json_value(&headers, body, TEMPLATE_BODY_BYTES).await?;
    own_name(&caller, &name)?;
    let template = CustomTemplate::from_upload(&caller.tenant, &value, ec_domain::time::now())?;
    let info = st.app.templates.put(&caller, &name, template).await?;
    Ok(Json(info).into_response())
}

pub async fn get_template(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportRead>,
    Path(name): Path<String>,
) -> ApiResult {
    Ok(Json(st.app.templates.get(&caller, &name).await?).into_response())
}

pub async fn create_schedule(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportWrite>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let value = json_value(&headers, body, st.limits.request_bytes).await?;
    let schedule = st
        .app
        .schedules
        .create(&caller, NewSchedule::parse(&value)?)
        .await?;
    let location = format!("/api/v1/schedules/{}", schedule.schedule_id);
    Ok(created_at(StatusCode::CREATED, &schedule, location))
}

pub async fn list_schedules(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportRead>,
) -> ApiResult {
    Ok(items(&st.app.schedules.list(&caller).await?))
}

pub async fn get_schedule(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportRead>,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(Json(st.app.schedules.get(&caller, &schedule_id(&id)?).await?).into_response())
}

/// `204 No Content`: the schedule is gone (exports it already started are kept).
pub async fn delete_schedule(
    State(st): State<ApiState>,
    Authed(caller, ..): Authed<ExportWrite>,
    Path(id): Path<String>,
) -> ApiResult {
    st.app.schedules.delete(&caller, &schedule_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
