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
            // "failed to lookup address information": the name does not resolve.
            if e.kind() == std::io::ErrorKind::Other || e.kind() == std::io::ErrorKind::NotFound {
                PortError::NotFound(format!("{host} does not resolve"))
            } else {
                PortError::Unavailable(format!("resolving {host}: {e}"))
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
        assert!(matches!(
            r.resolve("no-such-host.invalid").await,
            Err(PortError::NotFound(_))
        ));
    }
}
