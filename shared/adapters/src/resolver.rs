//! The system's name resolution (getaddrinfo, through tokio) behind the
//! [`AddressResolver`] port: both stacks check tenant-given destination hosts with it.

use std::net::IpAddr;

use async_trait::async_trait;
use ec_domain::PortError;
use ec_domain::ports::{AddressResolver, PortResult};

/// [`AddressResolver`] over the operating system's resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl AddressResolver for SystemResolver {
    async fn resolve(&self, host: &str) -> PortResult<Vec<IpAddr>> {
        // A literal address resolves to itself without asking anyone.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let addrs = tokio::net::lookup_host((host, 0)).await.map_err(|e| {
            // getaddrinfo's answers reach us only as text: a name that does not exist
            // (EAI_NONAME, EAI_NODATA) is not found; anything else (EAI_AGAIN: no answer
            // from DNS now) is worth retrying.
            let text = e.to_string();
            let unknown = [
                "not known",
                "No address associated",
                "nodename nor servname",
            ]
            .iter()
            .any(|m| text.contains(m));
            if unknown {
                PortError::NotFound(format!("{host} does not resolve"))
            } else {
                PortError::Unavailable(format!("resolving {host}: {text}"))
            }
        })?;
        let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
        ips.sort();
        ips.dedup();
        if ips.is_empty() {
            return Err(PortError::NotFound(format!("{host} does not resolve")));
        }
        Ok(ips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_and_localhost_resolve() {
        let r = SystemResolver;
        assert_eq!(
            r.resolve("127.0.0.1").await.unwrap(),
            ["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            r.resolve("[::1]").await.unwrap(),
            ["::1".parse::<IpAddr>().unwrap()]
        );
        let local = r.resolve("localhost").await.unwrap();
        assert!(local.iter().all(|ip| ip.is_loopback()), "{local:?}");
        // Not found where DNS answers; unavailable where there is none (this sandbox).
        assert!(matches!(
            r.resolve("no-such-host.invalid").await,
            Err(PortError::NotFound(_) | PortError::Unavailable(_))
        ));
    }
}
