//! The Console's routes on the embedded stack: its page at `/`, its files under
//! `/console/`, and `config.json` (same origin: empty base URLs; the identity provider
//! when `EXPORTCENTER_CONSOLE_OIDC_CLIENT_ID` is set). Every answer carries the
//! Console's Content-Security-Policy; nothing here is under `/api/`, so the API's JSON 404s
//! there stay as they are.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use bytes::Bytes;

/// What the Console's `config.json` and policy say.
#[derive(Clone)]
struct Site {
    config: Bytes,
    csp: HeaderValue,
}

/// The routes; merge before `ec_api::finish`. `oidc`: the identity provider the Console
/// signs in through (its origin joins the policy's `connect-src`).
pub fn routes(oidc: Option<&ec_console::Oidc>) -> Router {
    let config = ec_console::config_json("", "", oidc);
    let connect: Vec<String> = oidc
        .and_then(|o| ec_console::origin(&o.issuer))
        .into_iter()
        .collect();
    let refs: Vec<&str> = connect.iter().map(String::as_str).collect();
    let csp = HeaderValue::from_str(&ec_console::content_security_policy(&refs))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let site = Site {
        config: Bytes::from(config),
        csp,
    };
    Router::new()
        .route(
            "/",
            get(|State(site): State<Site>| async move {
                let index = ec_console::index();
                page(
                    &site,
                    Bytes::from_static(index.bytes),
                    index.media_type,
                    "no-cache",
                )
            }),
        )
        .route("/console/{*path}", get(file))
        .route(
            "/config.json",
            get(|State(site): State<Site>| async move {
                page(&site, site.config.clone(), "application/json", "no-cache")
            }),
        )
        .with_state(site)
}

async fn file(State(site): State<Site>, Path(path): Path<String>) -> Response {
    match ec_console::asset(&path) {
        Some(a) if path != "index.html" => page(
            &site,
            Bytes::from_static(a.bytes),
            a.media_type,
            "max-age=300",
        ),
        _ => ec_api::ApiFailure(ec_domain::ApiError::not_found("file")).into_response(),
    }
}

fn page(site: &Site, body: Bytes, media_type: &'static str, cache: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("content-security-policy", site.csp.clone());
    resp
}
