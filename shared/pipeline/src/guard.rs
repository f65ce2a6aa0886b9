//! The SSRF guard for tenant-given URLs (webhooks, Slack and Teams channels): only `https`
//! (`http` too when private destinations are allowed), a host, no user name or password,
//! and every address the host resolves to public — unless
//! `EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS=true`. Checked when a destination is made and
//! again, on the resolved addresses, each time something is sent (a name may resolve
//! elsewhere later); the sender then connects only to the addresses checked here. The
//! operator's own endpoints (SMTP relay, GitHub API base) are configuration and do not pass
//! through here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ec_domain::PortError;
use ec_domain::destination::is_internal_address;
use ec_domain::ports::AddressResolver;
use url::Url;

/// Why a URL may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("is not a URL: {0}")]
    NotUrl(String),
    #[error("must use https")]
    Scheme,
    #[error("must name a host")]
    NoHost,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error(
        "{host} resolves to {ip}, an internal address (loopback, private, link-local or metadata); such destinations are refused"
    )]
    Internal { host: String, ip: IpAddr },
    #[error("{0} does not resolve")]
    Unresolvable(String),
    #[error("could not resolve {0} now; retry later")]
    ResolverUnavailable(String),
}

/// A URL that passed the guard, and the addresses its host resolved to (connect to these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub url: Url,
    pub addrs: Vec<SocketAddr>,
}

/// The guard: a resolver and whether internal addresses are allowed.
#[derive(Clone)]
pub struct UrlGuard {
    pub resolver: Arc<dyn AddressResolver>,
    pub allow_private: bool,
}

impl UrlGuard {
    /// Parses and checks `raw`, resolving its host.
    pub async fn check(&self, raw: &str) -> Result<Checked, Refused> {
        let url = Url::parse(raw).map_err(|e| Refused::NotUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(Refused::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Credentials);
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(Refused::NoHost)?;
        let port = url.port_or_known_default().unwrap_or(443);
        let ips = self.resolver.resolve(host).await.map_err(|e| match e {
            PortError::NotFound(_) | PortError::Invalid(_) => {
                Refused::Unresolvable(host.to_string())
            }
            _ => Refused::ResolverUnavailable(host.to_string()),
        })?;
        if !self.allow_private
            && let Some(ip) = ips.iter().copied().find(|ip| is_internal_address(*ip))
        {
            return Err(Refused::Internal {
                host: host.to_string(),
                ip,
            });
        }
        let addrs = ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        Ok(Checked { url, addrs })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use async_trait::async_trait;
    use ec_domain::ports::PortResult;

    use super::*;

    /// Names resolved from a table, as the tests of the whole stack do.
    struct Table(HashMap<&'static str, Vec<IpAddr>>);

    #[async_trait]
    impl AddressResolver for Table {
        async fn resolve(&self, host: &str) -> PortResult<Vec<IpAddr>> {
            if let Ok(ip) = host.trim_matches(['[', ']']).parse() {
                return Ok(vec![ip]);
            }
            self.0
                .get(host)
                .cloned()
                .ok_or_else(|| PortError::NotFound(host.into()))
        }
    }

    fn guard(allow_private: bool) -> UrlGuard {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        UrlGuard {
            resolver: Arc::new(Table(HashMap::from([
                ("siem.example", vec![ip("93.184.216.34")]),
                ("sneaky.example", vec![ip("93.184.216.35"), ip("10.0.0.7")]),
                ("metadata.example", vec![ip("169.254.169.254")]),
            ]))),
            allow_private,
        }
    }

    #[tokio::test]
    async fn internal_destinations_are_refused_by_default() {
        let g = guard(false);
        let ok = g.check("https://siem.example/hook").await.unwrap();
        assert_eq!(ok.addrs, ["93.184.216.34:443".parse().unwrap()]);
        for (url, why) in [
            ("https://127.0.0.1/x", "internal"),
            ("https://[::1]:8443/x", "internal"),
            ("https://169.254.169.254/latest/meta-data/", "internal"),
            ("https://10.1.2.3/x", "internal"),
            ("https://metadata.example/x", "internal"),
            ("https://sneaky.example/x", "internal"),
            ("http://siem.example/x", "https"),
            ("https://user:pw@siem.example/x", "user name"),
            ("https://unknown.example/x", "does not resolve"),
            ("file:///etc/passwd", "https"),
            ("not a url", "not a URL"),
        ] {
            let e = g.check(url).await.unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }

    #[tokio::test]
    async fn private_destinations_are_allowed_when_configured() {
        let g = guard(true);
        let ok = g.check("http://127.0.0.1:8080/hook").await.unwrap();
        assert_eq!(ok.addrs, ["127.0.0.1:8080".parse().unwrap()]);
        assert!(g.check("https://metadata.example/").await.is_ok());
        assert!(g.check("ftp://siem.example/").await.is_err());
    }
}
