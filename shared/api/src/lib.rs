//! The HTTP API of the contract as one axum [`Router`]. `export-api` serves it through
//! `lambda_http::run`, `exportctl serve` through hyper; both get identical behaviour.
//! Handlers ([`handlers`]) only translate: the caller and inputs arrive checked
//! ([`extract`]), the work is one call of an application service (`ec_pipeline::app`), and
//! failures get the contract's error body in one place ([`error`]).

pub mod audit;
pub mod auth;
mod browse;
pub mod encoding;
pub mod error;
pub mod extract;
mod handlers;
pub mod http_config;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use tracing::Instrument;

use ec_domain::{ApiError, ErrorCode};
use ec_pipeline::app::App;

pub use auth::{Auth, Principal};
pub use error::{ApiFailure, HttpError, TraceId};
use extract::header_str;
use handlers::*;
pub use http_config::{CorsOrigins, Limits};

/// The OpenAPI 3 description served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

#[derive(Clone)]
pub struct ApiState {
    pub app: App,
    pub auth: Arc<Auth>,
    pub limits: Limits,
    /// Browser origins allowed to call the API (`EXPORTCENTER_CORS_ORIGINS`).
    pub cors: CorsOrigins,
}

async fn healthz() -> Response {
    (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))).into_response()
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

/// Gives every request a trace id (the caller's `X-Request-Id` when sane), echoes it, and
/// gives an [`ApiFailure`] its error body with that id.
async fn trace_middleware(mut req: Request, next: Next) -> Response {
    let id = header_str(req.headers(), "x-request-id")
        .filter(|v| ec_domain::ids::is_safe_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| ulid::Ulid::new().to_string().to_lowercase());
    req.extensions_mut().insert(TraceId(id.clone()));
    let span = tracing::info_span!("request", trace_id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = next.run(req).instrument(span).await;
    if let Some(error) = resp.extensions_mut().remove::<ApiError>() {
        // Headers the handler set on its failure (quota headers, `Retry-After`) stay.
        let kept = std::mem::take(resp.headers_mut());
        resp = HttpError {
            error,
            trace_id: id.clone(),
        }
        .into_response();
        for (name, value) in &kept {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                resp.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// The contract's routes, without the fallbacks and layers (see [`finish`]).
pub fn routes(state: ApiState) -> Router {
    let cors = state.cors.layer();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/api/v1/exports", get(list_exports).post(create_export))
        .route(
            "/api/v1/exports/{export_id}",
            get(get_export).delete(cancel_export),
        )
        .route("/api/v1/exports/{export_id}/download", get(download))
        .route(
            "/api/v1/exports/{export_id}/manifest",
            get(browse::manifest),
        )
        .route("/api/v1/capabilities", get(browse::capabilities))
        .route(
            "/api/v1/exports/{export_id}/legal-hold",
            axum::routing::put(put_legal_hold),
        )
        .route("/api/v1/scans", get(browse::list_scans).post(ingest_scan))
        .route(
            "/api/v1/scans/{scan_id}",
            get(browse::get_scan).delete(browse::delete_scan),
        )
        .route("/api/v1/templates", get(templates))
        .route(
            "/api/v1/templates/{name}",
            get(get_template).put(put_template),
        )
        .route(
            "/api/v1/templates/{name}/{format}",
            axum::routing::put(browse::put_template_format),
        )
        .route(
            "/api/v1/schedules",
            get(list_schedules).post(create_schedule),
        )
        .route("/api/v1/schedules/preview", get(browse::schedule_preview))
        .route(
            "/api/v1/schedules/{schedule_id}",
            get(get_schedule)
                .patch(patch_schedule)
                .delete(delete_schedule),
        )
        .route(
            "/api/v1/schedules/{schedule_id}/run",
            axum::routing::post(run_schedule),
        )
        .route(
            "/api/v1/destinations",
            get(list_destinations).post(create_destination),
        )
        .route(
            "/api/v1/destinations/{destination_id}",
            get(get_destination).delete(delete_destination),
        )
        .route(
            "/api/v1/destinations/{destination_id}/test",
            axum::routing::post(test_destination),
        )
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/keys", get(keys))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn_with_state(
            state.app.audit.clone(),
            audit::audit_layer,
        ))
        .with_state(state);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
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
