//! The HTTP API of the contract as one axum [`Router`]. `export-api` serves it through
//! `lambda_http::run`, `exportctl serve` through hyper; both get identical behaviour.

pub mod auth;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use tracing::Instrument;

use ec_domain::{ApiError, ErrorCode};
use ec_pipeline::Pipeline;
use ec_pipeline::request::Caller;

pub use auth::{Auth, Principal};

/// The OpenAPI 3 description served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Body size limits (`EXPORTCENTER_MAX_REQUEST_BYTES`, `EXPORTCENTER_MAX_SCAN_BYTES`).
#[derive(Debug, Clone)]
pub struct Limits {
    pub request_bytes: usize,
    pub scan_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_bytes: 256 * 1024,
            scan_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub pipeline: Pipeline,
    pub auth: Arc<Auth>,
    pub limits: Limits,
}

/// Per-request id, echoed as `X-Request-Id` and in every error body.
#[derive(Debug, Clone)]
pub struct TraceId(pub String);

/// An error on its way out: the contract's error body with the request's trace id.
pub struct HttpError {
    pub error: ApiError,
    pub trace_id: String,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(trace_id = %self.trace_id, code = self.error.code.as_str(), message = %self.error.message, "request failed");
        }
        let body = self.error.body(&self.trace_id, ec_domain::time::now());
        let mut resp = (status, Json(body)).into_response();
        if self.error.code == ErrorCode::Quota {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        resp
    }
}

type ApiResult = Result<Response, HttpError>;

trait WithTrace<T> {
    fn traced(self, trace: &TraceId) -> Result<T, HttpError>;
}

impl<T, E: Into<ApiError>> WithTrace<T> for Result<T, E> {
    fn traced(self, trace: &TraceId) -> Result<T, HttpError> {
        self.map_err(|e| HttpError {
            error: e.into(),
            trace_id: trace.0.clone(),
        })
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = header_str(headers, "authorization")?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

impl ApiState {
    /// Authenticates the request and checks `scope`.
    fn caller(&self, headers: &HeaderMap, scope: &str) -> Result<Caller, ApiError> {
        let principal = self
            .auth
            .verify(bearer(headers), header_str(headers, "x-tenant-id"))?;
        principal.require(scope).cloned()
    }
}

/// Reads a body of at most `limit` bytes whose media type is JSON.
async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let media = header_str(headers, "content-type")
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    let is_json = media.as_deref().is_some_and(|m| {
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    });
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "expected Content-Type application/json, got {}",
                media.as_deref().unwrap_or("none")
            ),
        ));
    }
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body exceeds {limit} bytes"),
        )
    };
    let declared = header_str(headers, "content-length").and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// Query strings that do not parse get the contract's error body, not axum's plain text.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("bad query string: {}", e.body_text()),
        )
    })
}

fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedBody,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    (status, Json(value)).into_response()
}

async fn create_export(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = st.caller(&headers, "export:write").traced(&trace)?;
    let bytes = json_body(&headers, body, st.limits.request_bytes)
        .await
        .traced(&trace)?;
    let value = parse_json(&bytes).traced(&trace)?;
    let key = header_str(&headers, "idempotency-key");
    let job = st
        .pipeline
        .create_export(&caller, &value, key)
        .await
        .traced(&trace)?;
    let mut resp = json_response(StatusCode::ACCEPTED, &job);
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/exports/{}", job.export_id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

async fn list_exports(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let caller = st.caller(&headers, "export:read").traced(&trace)?;
    let q = query(q).traced(&trace)?;
    let page = st
        .pipeline
        .list_exports(
            &caller,
            q.status.as_deref(),
            q.limit.as_deref(),
            q.cursor.as_deref(),
        )
        .await
        .traced(&trace)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "items": page.items, "next_cursor": page.next_cursor }),
    ))
}

async fn get_export(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let caller = st.caller(&headers, "export:read").traced(&trace)?;
    let job = st.pipeline.get_export(&caller, &id).await.traced(&trace)?;
    Ok(json_response(StatusCode::OK, &job))
}

async fn cancel_export(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let caller = st.caller(&headers, "export:write").traced(&trace)?;
    let job = st
        .pipeline
        .cancel_export(&caller, &id)
        .await
        .traced(&trace)?;
    Ok(json_response(StatusCode::ACCEPTED, &job))
}

#[derive(Deserialize)]
struct DownloadQuery {
    artifact: Option<String>,
}

async fn download(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<DownloadQuery>, QueryRejection>,
) -> ApiResult {
    let caller = st.caller(&headers, "export:read").traced(&trace)?;
    let q = query(q).traced(&trace)?;
    let url = st
        .pipeline
        .download_url(&caller, &id, q.artifact.as_deref())
        .await
        .traced(&trace)?;
    let location = HeaderValue::from_str(&url)
        .map_err(|_| ApiError::internal("presigned URL is not a valid header"))
        .traced(&trace)?;
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

async fn ingest_scan(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = st.caller(&headers, "scan:write").traced(&trace)?;
    let bytes = json_body(&headers, body, st.limits.scan_bytes)
        .await
        .traced(&trace)?;
    let receipt = st
        .pipeline
        .ingest_scan(&caller, &bytes)
        .await
        .traced(&trace)?;
    Ok(json_response(StatusCode::CREATED, &receipt))
}

async fn templates(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = st.caller(&headers, "export:read").traced(&trace)?;
    let items = st.pipeline.templates(&caller).await.traced(&trace)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "items": items }),
    ))
}

/// Sources of all formats of one custom template, with room for the JSON encoding.
const TEMPLATE_BODY_BYTES: usize = 4 * ec_domain::template::MAX_SOURCE_BYTES;

async fn put_template(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = st.caller(&headers, "template:write").traced(&trace)?;
    let bytes = json_body(&headers, body, TEMPLATE_BODY_BYTES)
        .await
        .traced(&trace)?;
    let value = parse_json(&bytes).traced(&trace)?;
    let info = st
        .pipeline
        .put_custom_template(&caller, &name, &value)
        .await
        .traced(&trace)?;
    Ok(json_response(StatusCode::OK, &info))
}

async fn get_template(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = st.caller(&headers, "export:read").traced(&trace)?;
    let template = st
        .pipeline
        .get_custom_template(&caller, &name)
        .await
        .traced(&trace)?;
    Ok(json_response(StatusCode::OK, &template))
}

async fn create_schedule(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let caller = st.caller(&headers, "export:write").traced(&trace)?;
    let bytes = json_body(&headers, body, st.limits.request_bytes)
        .await
        .traced(&trace)?;
    let value = parse_json(&bytes).traced(&trace)?;
    let schedule = st
        .pipeline
        .create_schedule(&caller, &value)
        .await
        .traced(&trace)?;
    let mut resp = json_response(StatusCode::CREATED, &schedule);
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/schedules/{}", schedule.schedule_id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

async fn list_schedules(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = st.caller(&headers, "export:read").traced(&trace)?;
    let items = st.pipeline.list_schedules(&caller).await.traced(&trace)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "items": items }),
    ))
}

async fn get_schedule(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let caller = st.caller(&headers, "export:read").traced(&trace)?;
    let schedule = st
        .pipeline
        .get_schedule(&caller, &id)
        .await
        .traced(&trace)?;
    Ok(json_response(StatusCode::OK, &schedule))
}

/// `204 No Content`: the schedule is gone (exports it already started are kept).
async fn delete_schedule(
    State(st): State<ApiState>,
    Extension(trace): Extension<TraceId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let caller = st.caller(&headers, "export:write").traced(&trace)?;
    st.pipeline
        .delete_schedule(&caller, &id)
        .await
        .traced(&trace)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found(Extension(trace): Extension<TraceId>) -> HttpError {
    HttpError {
        error: ApiError::new(ErrorCode::NotFound, "no such route"),
        trace_id: trace.0,
    }
}

async fn method_not_allowed(Extension(trace): Extension<TraceId>) -> HttpError {
    HttpError {
        error: ApiError::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this route",
        ),
        trace_id: trace.0,
    }
}

/// Gives every request a trace id (the caller's `X-Request-Id` when sane) and echoes it.
async fn trace_middleware(mut req: Request, next: Next) -> Response {
    let id = header_str(req.headers(), "x-request-id")
        .filter(|v| ec_domain::ids::is_safe_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| ulid::Ulid::new().to_string().to_lowercase());
    req.extensions_mut().insert(TraceId(id.clone()));
    let span = tracing::info_span!("request", trace_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// The contract's routes, without the fallbacks and layers (see [`finish`]).
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/api/v1/exports", get(list_exports).post(create_export))
        .route(
            "/api/v1/exports/{export_id}",
            get(get_export).delete(cancel_export),
        )
        .route("/api/v1/exports/{export_id}/download", get(download))
        .route("/api/v1/scans", axum::routing::post(ingest_scan))
        .route("/api/v1/templates", get(templates))
        .route(
            "/api/v1/templates/{name}",
            get(get_template).put(put_template),
        )
        .route(
            "/api/v1/schedules",
            get(list_schedules).post(create_schedule),
        )
        .route(
            "/api/v1/schedules/{schedule_id}",
            get(get_schedule).delete(delete_schedule),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Adds the contract's error bodies for unknown routes and the trace id layer. Call once,
/// after merging any runtime-specific routes.
pub fn finish(router: Router) -> Router {
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(trace_middleware))
}

/// The complete API router.
pub fn router(state: ApiState) -> Router {
    finish(routes(state))
}
