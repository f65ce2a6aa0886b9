//! The API's HTTP settings, read once through `Env` by both runtimes: body limits and the
//! browser origins allowed to call it (CORS, for a Console served from another origin).

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use ec_domain::env::{ConfigError, Env, parse_var};

/// The variable listing the allowed origins (comma-separated, or `*`).
pub const ENV_CORS_ORIGINS: &str = "EXPORTCENTER_CORS_ORIGINS";

/// Body size limits.
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

impl Limits {
    /// `EXPORTCENTER_MAX_REQUEST_BYTES`, `EXPORTCENTER_MAX_SCAN_BYTES`.
    pub fn from_env(env: &dyn Env) -> Result<Limits, ConfigError> {
        let d = Limits::default();
        Ok(Limits {
            request_bytes: parse_var(env, "EXPORTCENTER_MAX_REQUEST_BYTES", d.request_bytes)?,
            scan_bytes: parse_var(env, "EXPORTCENTER_MAX_SCAN_BYTES", d.scan_bytes)?,
        })
    }
}

/// Which browser origins may call the API: none (the default: same origin only), any, or a
/// list of `scheme://host[:port]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    #[default]
    None,
    Any,
    List(Vec<String>),
}

impl CorsOrigins {
    pub fn from_env(env: &dyn Env) -> Result<CorsOrigins, ConfigError> {
        let Some(raw) = env.var(ENV_CORS_ORIGINS) else {
            return Ok(CorsOrigins::None);
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(CorsOrigins::None);
        }
        if raw == "*" {
            return Ok(CorsOrigins::Any);
        }
        let mut list = Vec::new();
        for o in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let ok = url::Url::parse(o).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && !o.ends_with('/')
            });
            if !ok {
                return Err(ConfigError {
                    var: ENV_CORS_ORIGINS,
                    reason: format!(
                        "{o:?} is not an origin (scheme://host[:port], no path), nor *"
                    ),
                });
            }
            list.push(o.to_string());
        }
        Ok(CorsOrigins::List(list))
    }

    /// The layer answering preflights and adding CORS headers; `None` when no origin is
    /// allowed (cross-origin calls then fail in the browser, and `OPTIONS` is `405`).
    pub fn layer(&self) -> Option<CorsLayer> {
        let origins = match self {
            CorsOrigins::None => return None,
            CorsOrigins::Any => AllowOrigin::any(),
            CorsOrigins::List(l) => {
                AllowOrigin::list(l.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
            }
        };
        let names = |list: &[&'static str]| -> Vec<HeaderName> {
            list.iter().map(|h| HeaderName::from_static(h)).collect()
        };
        Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers(names(&[
                    "authorization",
                    "content-type",
                    "content-encoding",
                    "content-disposition",
                    "idempotency-key",
                    "x-tenant-id",
                ]))
                .expose_headers(names(&[
                    "location",
                    "retry-after",
                    "x-request-id",
                    "x-quota-limit",
                    "x-quota-remaining",
                    "x-quota-reset",
                    "x-quota-concurrent-limit",
                    "x-quota-concurrent-remaining",
                ]))
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_or_name_the_variable() {
        let none: [(&str, &str); 0] = [];
        assert_eq!(CorsOrigins::from_env(&none).unwrap(), CorsOrigins::None);
        assert_eq!(
            CorsOrigins::from_env(&[(ENV_CORS_ORIGINS, "*")]).unwrap(),
            CorsOrigins::Any
        );
        assert_eq!(
            CorsOrigins::from_env(&[(
                ENV_CORS_ORIGINS,
                "https://console.example, http://127.0.0.1:5173"
            )])
            .unwrap(),
            CorsOrigins::List(vec![
                "https://console.example".into(),
                "http://127.0.0.1:5173".into()
            ])
        );
        for bad in [
            "console.example",
            "https://x.example/app",
            "ftp://x",
            "https://x/",
        ] {
            let e = CorsOrigins::from_env(&[(ENV_CORS_ORIGINS, bad)]).unwrap_err();
            assert_eq!(e.var, ENV_CORS_ORIGINS, "{bad}");
        }
    }
}
