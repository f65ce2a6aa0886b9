//! The Console: a web UI over the public API (sign in, exports live, new export, scans,
//! schedules, templates), as static files embedded in the binary so that `exportctl serve`
//! serves it at `/` with no build step. The same files deploy as a static site in front of
//! the AWS stack, with a `config.json` naming the API's and WebSocket's URLs.
//!
//! The files are ES modules with Preact and htm vendored (`assets/vendor`, with their
//! licences); `index.html`'s import map is the only inline script, allowed by its hash in
//! the Content-Security-Policy ([`content_security_policy`]), so no `unsafe-inline`.

pub mod site;

use base64::Engine;
use sha2::{Digest, Sha256};

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub media_type: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! assets {
    ($($path:literal => $media:expr,)+) => {
        /// Every file, by its path under `/console/` (`index.html` is served at `/`).
        pub const ASSETS: &[(&str, Asset)] = &[
            $(($path, Asset { bytes: include_bytes!(concat!("../assets/", $path)), media_type: $media }),)+
        ];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "app.js" => JS,
    "api.js" => JS,
    "pages/exports.js" => JS,
    "pages/new-export.js" => JS,
    "pages/scans.js" => JS,
    "pages/schedules.js" => JS,
    "pages/templates.js" => JS,
    "vendor/preact.module.js" => JS,
    "vendor/hooks.module.js" => JS,
    "vendor/htm.module.js" => JS,
    "vendor/LICENSE-preact" => "text/plain; charset=utf-8",
    "vendor/LICENSE-htm" => "text/plain; charset=utf-8",
}

/// The file at `path` (relative to `/console/`).
pub fn asset(path: &str) -> Option<Asset> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, a)| *a)
}

/// The Console's page.
pub fn index() -> Asset {
    ASSETS[0].1
}

/// The inline import map of `index.html`.
fn import_map() -> &'static str {
    let page = std::str::from_utf8(index().bytes).unwrap_or("");
    let open = r#"<script type="importmap">"#;
    page.find(open)
        .and_then(|at| {
            let rest = &page[at + open.len()..];
            rest.find("</script>").map(|end| &rest[..end])
        })
        .unwrap_or("")
}

/// Sign-in through an identity provider: authorization code with PKCE, in the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oidc {
    /// The issuer (discovery at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// The Console's client id at the provider (a public client: no secret).
    pub client_id: String,
    /// Scopes to ask for (space-separated).
    pub scope: String,
}

/// `scheme://host[:port]` of `url` (the CSP names origins), or `None`.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

/// `config.json`: the API's and WebSocket's base URLs (empty: the Console's own origin)
/// and the identity provider, if any.
pub fn config_json(api_url: &str, ws_url: &str, oidc: Option<&Oidc>) -> String {
    let oidc = match oidc {
        None => serde_json::Value::Null,
        Some(o) => {
            serde_json::json!({"issuer": o.issuer, "client_id": o.client_id, "scope": o.scope})
        }
    };
    let doc = serde_json::json!({"api_url": api_url, "ws_url": ws_url, "oidc": oidc});
    format!("{doc}\n")
}

/// The policy every Console response carries: scripts from the Console itself and the
/// import map by its hash, connections to the Console's origin and `connect` (the API and
/// WebSocket origins when they are elsewhere), no framing, no plug-ins.
pub fn content_security_policy(connect: &[&str]) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(import_map()));
    let mut connect_src = String::from("'self'");
    for c in connect {
        connect_src.push(' ');
        connect_src.push_str(c);
    }
    format!(
        "default-src 'none'; script-src 'self' 'sha256-{hash}'; style-src 'self'; \
         img-src 'self' data:; connect-src {connect_src}; font-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        assert!(import_map().contains("preact.module.js"));
        for (path, a) in ASSETS {
            let text = std::str::from_utf8(a.bytes).unwrap();
            if !path.ends_with(".js") || path.starts_with("vendor/") {
                continue;
            }
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(from) = line.split('"').nth(1) else {
                    continue;
                };
                if let Some(rel) = from.strip_prefix("./").or(from.strip_prefix("../")) {
                    let dir = std::path::Path::new(path).parent().unwrap();
                    let resolved = if from.starts_with("../") {
                        dir.parent().unwrap_or(dir).join(rel)
                    } else {
                        dir.join(rel)
                    };
                    let key = resolved.to_string_lossy().replace('\\', "/");
                    assert!(asset(&key).is_some(), "{path} imports {from} ({key})");
                } else {
                    assert!(
                        ["preact", "preact/hooks", "htm"].contains(&from),
                        "{path} imports {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_policy_allows_the_import_map_and_nothing_inline_else() {
        let csp = content_security_policy(&["wss://api.example"]);
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("'sha256-"));
        assert!(csp.contains("connect-src 'self' wss://api.example"));
    }
}
