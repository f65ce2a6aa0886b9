//! The Console as a static site for another host (an S3 bucket behind CloudFront in front
//! of the AWS stack): every file, `config.json` naming the API's and WebSocket's URLs, and
//! the Content-Security-Policy as a `<meta>` element of `index.html` (a bucket sets no
//! headers), allowing connections to those origins.

use std::path::Path;

use crate::{ASSETS, content_security_policy};

/// Where the site's Console talks to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteConfig {
    /// The HTTP API's base URL (`https://…/`, no trailing path needed).
    pub api_url: String,
    /// The WebSocket URL (`wss://…/live`).
    pub ws_url: String,
    /// Sign-in through an identity provider, when one is configured.
    pub oidc: Option<crate::Oidc>,
}

use crate::origin;

/// Writes the site under `out` (created if needed): `index.html`, `config.json` and
/// `console/…`. Fails when a URL is not `http(s)://` or `ws(s)://`.
pub fn write_site(out: &Path, cfg: &SiteConfig) -> Result<Vec<String>, String> {
    let api = origin(&cfg.api_url)
        .filter(|o| o.starts_with("http://") || o.starts_with("https://"))
        .ok_or_else(|| format!("--api-url {:?} is not an http(s) URL", cfg.api_url))?;
    let ws = origin(&cfg.ws_url)
        .filter(|o| o.starts_with("ws://") || o.starts_with("wss://"))
        .ok_or_else(|| format!("--ws-url {:?} is not a ws(s) URL", cfg.ws_url))?;
    let mut connect = vec![api, ws];
    connect.extend(cfg.oidc.as_ref().and_then(|o| origin(&o.issuer)));
    let refs: Vec<&str> = connect.iter().map(String::as_str).collect();
    let csp = content_security_policy(&refs).replace("; frame-ancestors 'none'", "");
    let mut written = Vec::new();
    let mut write = |rel: &str, bytes: &[u8]| -> Result<(), String> {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(rel.to_string());
        Ok(())
    };
    for (rel, asset) in ASSETS {
        if *rel == "index.html" {
            let page = std::str::from_utf8(asset.bytes).map_err(|e| e.to_string())?;
            let meta =
                format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n<title>");
            write("index.html", page.replacen("<title>", &meta, 1).as_bytes())?;
        } else {
            write(&format!("console/{rel}"), asset.bytes)?;
        }
    }
    let config = crate::config_json(
        cfg.api_url.trim_end_matches('/'),
        &cfg.ws_url,
        cfg.oidc.as_ref(),
    );
    write("config.json", config.as_bytes())?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_names_its_endpoints_and_allows_only_them() {
        let dir = std::env::temp_dir().join(format!("ec-console-site-{}", std::process::id()));
        let cfg = SiteConfig {
            api_url: "https://abc.execute-api.eu-west-1.amazonaws.com/".into(),
            ws_url: "wss://def.execute-api.eu-west-1.amazonaws.com/live".into(),
            oidc: None,
        };
        let files = write_site(&dir, &cfg).unwrap();
        assert!(files.contains(&"console/app.js".to_string()));
        let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(index.contains(
            "connect-src 'self' https://abc.execute-api.eu-west-1.amazonaws.com wss://def.execute-api.eu-west-1.amazonaws.com"
        ));
        let config: String = std::fs::read_to_string(dir.join("config.json")).unwrap();
        assert_eq!(
            config,
            "{\"api_url\":\"https://abc.execute-api.eu-west-1.amazonaws.com\",\"oidc\":null,\"ws_url\":\"wss://def.execute-api.eu-west-1.amazonaws.com/live\"}\n"
        );
        let bad = SiteConfig {
            api_url: "ftp://x".into(),
            ..cfg
        };
        assert!(write_site(&dir, &bad).unwrap_err().contains("--api-url"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
