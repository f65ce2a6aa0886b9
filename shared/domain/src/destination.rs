//! Delivery destinations: where a tenant's exports go once sealed (a signed webhook, an
//! email list, a Slack or Teams channel, GitHub code scanning, a bucket). A destination is a
//! tenant resource like a schedule. Its secret — a webhook's signing secret, a chat
//! channel's incoming-webhook URL (whose path is the credential), a GitHub token — is
//! write-only: kept apart from the record, encrypted in the stack's secret store
//! ([`crate::ports::DestinationSecrets`]), never returned and never logged ([`Secret`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id_types::{DestinationId, TenantId};
use crate::wire::string_enum;

string_enum!(
    /// How a destination is reached.
    DestinationType {
        Webhook = "webhook",
        Email = "email",
        Slack = "slack",
        Teams = "teams",
        GithubCodeScanning = "github_code_scanning",
        S3 = "s3",
    }
);

string_enum!(
    /// What a destination can be told about: an export that became ready or failed.
    DeliveryEvent {
        ExportReady = "export.ready",
        ExportFailed = "export.failed",
    }
);

/// A destination's settings by type, without its secret. What the API returns as `config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "config", rename_all = "snake_case")]
pub enum DestinationConfig {
    /// POSTs events signed per Standard Webhooks to `url`.
    Webhook { url: String },
    /// Mails the summary (and the report, when `attach` and small enough) to `to`.
    Email { to: Vec<String>, attach: bool },
    /// Posts to a Slack incoming webhook; `url` is shown without its secret path.
    Slack { url: String },
    /// Posts to a Teams incoming webhook; `url` is shown without its secret path.
    Teams { url: String },
    /// Uploads SARIF reports to a repository's code scanning.
    GithubCodeScanning {
        repository: String,
        #[serde(rename = "ref")]
        git_ref: String,
        commit_sha: String,
    },
    /// Copies the report and the sealed bundle to a bucket.
    S3 {
        bucket: String,
        prefix: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role_arn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
    },
}

impl DestinationConfig {
    pub fn kind(&self) -> DestinationType {
        match self {
            DestinationConfig::Webhook { .. } => DestinationType::Webhook,
            DestinationConfig::Email { .. } => DestinationType::Email,
            DestinationConfig::Slack { .. } => DestinationType::Slack,
            DestinationConfig::Teams { .. } => DestinationType::Teams,
            DestinationConfig::GithubCodeScanning { .. } => DestinationType::GithubCodeScanning,
            DestinationConfig::S3 { .. } => DestinationType::S3,
        }
    }
}

/// A stored destination. Serialised as the API shows it: `destination_id`, `name`, `type`,
/// `config`, `events`, and who made it when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub destination_id: DestinationId,
    pub tenant_id: TenantId,
    pub name: String,
    #[serde(flatten)]
    pub config: DestinationConfig,
    pub events: Vec<DeliveryEvent>,
    /// Whether a secret is kept for it (the secret itself never is here).
    pub has_secret: bool,
    pub created_by: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub created_at: OffsetDateTime,
    pub version: u64,
}

impl Destination {
    pub fn wants(&self, event: DeliveryEvent) -> bool {
        self.events.contains(&event)
    }
}

/// Most destinations one export may name.
pub const MAX_DESTINATIONS_PER_EXPORT: usize = 10;

/// `options.destinations`: absent or a list of 1 to [`MAX_DESTINATIONS_PER_EXPORT`]
/// distinct destination ids (whether the tenant has them is the export service's check).
pub fn parse_destination_ids(
    v: Option<&serde_json::Value>,
    errors: &mut crate::ApiError,
) -> Vec<DestinationId> {
    let mut push = |field: String, reason: String| {
        errors
            .details
            .push(crate::error::ErrorDetail::new(field, reason))
    };
    let list = match v {
        None | Some(serde_json::Value::Null) => return Vec::new(),
        Some(serde_json::Value::Array(l)) if l.len() <= MAX_DESTINATIONS_PER_EXPORT => l,
        Some(_) => {
            push(
                "options.destinations".into(),
                format!("must be a list of at most {MAX_DESTINATIONS_PER_EXPORT} destination ids"),
            );
            return Vec::new();
        }
    };
    let mut out: Vec<DestinationId> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        match item.as_str().map(DestinationId::parse) {
            Some(Ok(id)) if !out.contains(&id) => out.push(id),
            Some(Ok(id)) => push(
                format!("options.destinations[{i}]"),
                format!("{id} is named twice"),
            ),
            _ => push(
                format!("options.destinations[{i}]"),
                "must be a destination id (dst-…)".into(),
            ),
        }
    }
    out
}

/// A secret value: readable only through [`Secret::expose`], and shown as `***` by `Debug`
/// so that no log line or error can carry it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Whether a tenant-given destination may not reach `ip`: loopback, private, link-local
/// (the cloud metadata service at 169.254.169.254 and fd00:ec2::254 included), carrier-grade
/// NAT, unique-local, multicast, unspecified and broadcast addresses, and IPv4 addresses
/// written as IPv6.
pub fn is_internal_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT.
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24, IETF protocol assignments.
        || ip.octets()[..3] == [192, 0, 0]
        // 198.18.0.0/15, benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7, unique local (fd00:ec2::254, the EC2 metadata service, among them).
        || (first & 0xfe00) == 0xfc00
        // fe80::/10, link-local.
        || (first & 0xffc0) == 0xfe80
        // ::ffff:0:0/96 handled by the caller; 64:ff9b::/96 (NAT64) can reach IPv4 inside.
        || ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = internal.parse().unwrap();
            assert!(is_internal_address(ip), "{internal} is internal");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(!is_internal_address(ip), "{public} is public");
        }
    }

    #[test]
    fn a_destination_serialises_as_the_api_shows_it() {
        let d = Destination {
            destination_id: DestinationId::parse("dst-01").unwrap(),
            tenant_id: TenantId::parse("acme").unwrap(),
            name: "SIEM".into(),
            config: DestinationConfig::GithubCodeScanning {
                repository: "acme/app".into(),
                git_ref: "refs/heads/main".into(),
                commit_sha: "a".repeat(40),
            },
            events: vec![DeliveryEvent::ExportReady],
            has_secret: true,
            created_by: "alice".into(),
            created_at: time::macros::datetime!(2026-12-06 00:00 UTC),
            version: 1,
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["type"], "github_code_scanning");
        assert_eq!(v["config"]["ref"], "refs/heads/main");
        assert_eq!(v["events"], serde_json::json!(["export.ready"]));
        let back: Destination = serde_json::from_value(v).unwrap();
        assert_eq!(back, d);
        assert_eq!(format!("{:?}", Secret::new("whsec_x")), "Secret(***)");
    }
}
