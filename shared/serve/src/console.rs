//! The Console's routes on the embedded stack: its page at `/`, its files under
//! `/console/`, and `config.json` (same origin: empty base URLs). Every answer carries the
//! Console's Content-Security-Policy; nothing here is under `/api/`, so the API's JSON 404s
//! there stay as they are.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use ec_console::Asset;

/// The routes; merge before `ec_api::finish`.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { page(ec_console::index(), "no-cache") }))
        .route("/console/{*path}", get(file))
        .route(
            "/config.json",
            get(|| async {
                let body = br#"{"api_url":"","ws_url":""}"#.as_slice();
                page(
                    Asset {
                        bytes: body,
                        media_type: "application/json",
                    },
                    "no-cache",
                )
            }),
        )
}

async fn file(Path(path): Path<String>) -> Response {
    match ec_console::asset(&path) {
        Some(a) if path != "index.html" => page(a, "max-age=300"),
        _ => ec_api::ApiFailure(ec_domain::ApiError::not_found("file")).into_response(),
    }
}

fn page(asset: Asset, cache: &'static str) -> Response {
    let mut resp = (StatusCode::OK, asset.bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.media_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if let Ok(csp) = HeaderValue::from_str(&ec_console::content_security_policy(&[])) {
        h.insert("content-security-policy", csp);
    }
    resp
}
