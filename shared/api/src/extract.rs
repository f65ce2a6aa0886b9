//! What a handler receives, already checked: the authenticated caller holding the route's
//! scope ([`Authed`]), a parsed query string ([`Q`]), and JSON bodies within their limit
//! ([`json_body`]). Each fails with the contract's error, never axum's plain text.

use std::marker::PhantomData;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use ec_domain::{ApiError, ErrorCode};
use ec_domain::{ExportId, ScheduleId};
use ec_pipeline::app::{App, Caller};

use crate::audit::AuditSlot;
use crate::auth::Principal;
use crate::error::ApiFailure;
use crate::{ApiState, Limits};

/// A scope a route requires.
pub trait Scope {
    const NAME: &'static str;
}

macro_rules! scopes {
    ($($(#[$m:meta])* $name:ident = $s:literal;)+) => {
        $($(#[$m])* pub struct $name; impl Scope for $name { const NAME: &'static str = $s; })+
    };
}

scopes! {
    /// Reading exports, templates and schedules.
    ExportRead = "export:read";
    /// Requesting and cancelling exports, managing schedules.
    ExportWrite = "export:write";
    /// Ingesting scanner documents.
    ScanWrite = "scan:write";
    /// Uploading the tenant's custom template.
    TemplateWrite = "template:write";
    /// Reading the tenant's audit trail.
    AuditRead = "audit:read";
    /// Creating, testing and deleting delivery destinations.
    DestinationWrite = "destination:write";
    /// Legal holds and purges of exports.
    ExportAdmin = "export:admin";
}

/// Any valid token, whatever its scopes (`GET /api/v1/keys`).
pub struct AnyScope;
impl Scope for AnyScope {
    const NAME: &'static str = "";
}

/// The verified caller, holding scope `S`, with the services and limits it may call on.
pub struct Authed<S> {
    pub caller: Caller,
    /// The verified token, for routes that need a second scope.
    pub principal: Principal,
    pub app: App,
    pub limits: Limits,
    scope: PhantomData<S>,
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = header_str(headers, "authorization")?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

impl<S: Scope + Send> FromRequestParts<ApiState> for Authed<S> {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, st: &ApiState) -> Result<Self, ApiFailure> {
        let principal = st
            .auth
            .verify(
                bearer(&parts.headers),
                header_str(&parts.headers, "x-tenant-id"),
            )
            .await?;
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.set_caller(&principal.caller);
        }
        Ok(Authed {
            caller: match S::NAME {
                "" => principal.caller.clone(),
                scope => principal.require(scope)?.clone(),
            },
            principal,
            app: st.app.clone(),
            limits: st.limits.clone(),
            scope: PhantomData,
        })
    }
}

/// An id in the path that parses as `T`; one that cannot exist is simply not found.
pub struct IdPath<T>(pub T);

/// What an id in the path names, for its 404.
pub trait PathId: std::str::FromStr {
    const WHAT: &'static str;
}

impl PathId for ExportId {
    const WHAT: &'static str = "export";
}

impl PathId for ec_domain::ScanId {
    const WHAT: &'static str = "scan";
}

impl PathId for ScheduleId {
    const WHAT: &'static str = "schedule";
}

impl PathId for ec_domain::DestinationId {
    const WHAT: &'static str = "destination";
}

/// A template's name in the path (`custom-{tenant}` or a built-in name); the template
/// service decides whether it is the caller's.
pub struct TemplatePathName(pub String);

impl std::str::FromStr for TemplatePathName {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(TemplatePathName(s.to_string()))
    }
}

impl PathId for TemplatePathName {
    const WHAT: &'static str = "template";
}

impl<T: PathId + Send, St: Send + Sync> FromRequestParts<St> for IdPath<T> {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, st: &St) -> Result<Self, ApiFailure> {
        let not_found = || ApiFailure(ApiError::not_found(T::WHAT));
        let Path(raw) = Path::<String>::from_request_parts(parts, st)
            .await
            .map_err(|_| not_found())?;
        raw.parse().map(IdPath).map_err(|_| not_found())
    }
}

/// A query string that parses into `T`, else `400 ERR_BAD_REQUEST` with the error body.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, St: Send + Sync> FromRequestParts<St> for Q<T> {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, st: &St) -> Result<Self, ApiFailure> {
        Query::<T>::from_request_parts(parts, st)
            .await
            .map(|Query(q)| Q(q))
            .map_err(|e| {
                ApiFailure(ApiError::new(
                    ErrorCode::BadRequest,
                    format!("bad query string: {}", e.body_text()),
                ))
            })
    }
}

/// Reads a body of at most `limit` bytes whose media type is JSON.
pub async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
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
    limited(headers, body, limit).await
}

/// The body, at most `limit` bytes (`413` above, by its declared length or as it streams).
async fn limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
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

/// A `text/plain` UTF-8 body of at most `limit` bytes (a template's source).
pub async fn text_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<String, ApiError> {
    let media = header_str(headers, "content-type")
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    if media.as_deref() != Some("text/plain") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "expected Content-Type text/plain, got {}",
                media.as_deref().unwrap_or("none")
            ),
        ));
    }
    let bytes = limited(headers, body, limit).await?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::new(ErrorCode::MalformedBody, "the body is not UTF-8 text"))
}

/// A JSON body of at most `limit` bytes, parsed.
pub async fn json_value(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<serde_json::Value, ApiError> {
    let bytes = json_body(headers, body, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedBody,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

/// The `filename` of an optional `Content-Disposition` on an upload (RFC 6266, `filename*`
/// preferred): its base name, without control characters, at most 255 characters. `None`
/// when the header is absent or names no usable file.
pub fn upload_file_name(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::CONTENT_DISPOSITION)?
        .to_str()
        .ok()?;
    // RFC 6266 §4.3: `filename*` wins over `filename`; the parser keeps whichever it read
    // last, so the plain one is dropped when both are given.
    let param = |p: &str, name: &str| p.trim_start().to_ascii_lowercase().starts_with(name);
    let value: String = if value.split(';').any(|p| param(p, "filename*=")) {
        value
            .split(';')
            .filter(|p| !param(p, "filename="))
            .collect::<Vec<_>>()
            .join(";")
    } else {
        value.to_string()
    };
    let name = content_disposition::parse_content_disposition(&value).filename_full()?;
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    (!clean.is_empty() && clean != "." && clean != "..").then_some(clean)
}

#[cfg(test)]
mod upload_name_tests {
    use super::*;

    fn name(v: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_DISPOSITION,
            axum::http::HeaderValue::from_str(v).ok()?,
        );
        upload_file_name(&h)
    }

    #[test]
    fn file_names_from_content_disposition() {
        assert_eq!(
            name("attachment; filename=\"scan.json\"").as_deref(),
            Some("scan.json")
        );
        assert_eq!(
            name("attachment; filename=\"x.json\"; filename*=UTF-8''%E2%82%AC%20rates.json")
                .as_deref(),
            Some("\u{20ac} rates.json")
        );
        assert_eq!(
            name("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(name("attachment").as_deref(), None);
        assert_eq!(name("attachment; filename=\"..\"").as_deref(), None);
        assert_eq!(upload_file_name(&HeaderMap::new()), None);
    }
}
