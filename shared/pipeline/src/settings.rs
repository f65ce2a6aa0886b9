//! Tunables of the pipeline, read once at start-up through [`Env`] by every runtime (Lambda
//! functions and `exportctl serve` alike). Each variable is documented in the README and
//! declared in `infra/template.yaml`.

use std::time::Duration;

use ec_domain::Stage;
pub use ec_domain::env::{ConfigError, Env, ProcessEnv, parse_var, required_var};
use ec_domain::policy::PolicyConfig;
use ec_domain::scan::Severity;
use ec_domain::tenant_settings::TenantSettingsBook;

/// Tunables, read once at start-up from the environment (see the README).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long artifacts stay downloadable for a job made before jobs recorded their own
    /// retention: the tenant settings' default `retention.default_days`
    /// (`EXPORTCENTER_RETENTION_DAYS`).
    pub retention: time::Duration,
    /// Lifetime of presigned download URLs (`EXPORTCENTER_DOWNLOAD_URL_TTL_SECS`).
    pub download_ttl: Duration,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// How long a WebSocket connection stays registered without a ping.
    pub connection_ttl: Duration,
    /// Receives after which a retryable failure becomes final (SQS maxReceiveCount).
    pub max_attempts: u32,
    pub policy: PolicyConfig,
    /// Fault injection for recovery tests (`EXPORTCENTER_CRASH_AT`): the process aborts
    /// right after a job enters this stage.
    pub crash_at: Option<Stage>,
    /// A replayed request (same `Idempotency-Key`, or a scheduled time triggered again)
    /// whose job is still `queued` this long after it was made gets its gather message sent
    /// again: the first attempt may have died before sending it. Sooner, the message is
    /// simply waiting to be picked up and a duplicate would only be noise.
    pub resend_queued_after: Duration,
    /// Per-tenant values (quotas, retention): `EXPORTCENTER_QUOTA_*` and
    /// `EXPORTCENTER_RETENTION_*` defaults, overridden by the
    /// document `EXPORTCENTER_TENANT_SETTINGS` names.
    pub tenants: TenantSettingsBook,
    /// Whether tenant-given destination URLs may reach loopback, private and link-local
    /// addresses, and use `http` (`EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS`; tests and local
    /// set-ups only).
    pub allow_private_destinations: bool,
    /// The API's public base URL (`EXPORTCENTER_PUBLIC_URL`): deliveries link to its
    /// routes (`/api/v1/exports/{id}/download?artifact=report`); relative without it.
    pub public_url: Option<String>,
    /// Delivery retries: the first wait, the longest, and how long after the export became
    /// ready or failed a delivery is given up (`EXPORTCENTER_DELIVERY_RETRY_BASE_SECS`,
    /// `_RETRY_CAP_SECS`, `_MAX_AGE_SECS`: 30 s, 1 h, 24 h).
    pub delivery_retry_base: Duration,
    pub delivery_retry_cap: Duration,
    pub delivery_max_age: Duration,
    /// Reports up to this size are attached to emails that ask for it
    /// (`EXPORTCENTER_EMAIL_ATTACH_MAX_BYTES`, 10 MiB); larger ones are linked.
    pub email_attach_max_bytes: u64,
    /// GitHub's REST API base for code scanning uploads (`EXPORTCENTER_GITHUB_API_URL`,
    /// `https://api.github.com`; a GitHub Enterprise Server's `https://HOST/api/v3`).
    pub github_api_url: String,
    /// Whether an `s3` destination without a `role_arn` may be written with the service's
    /// own credentials (`EXPORTCENTER_S3_DESTINATION_OWN_CREDENTIALS`, off): for a
    /// one-person embedded stack writing to its owner's bucket. Off, every bucket delivery
    /// assumes the role its tenant grants, so no tenant can make the service write where
    /// only the service may.
    pub s3_destination_own_credentials: bool,
    /// With a TSA (`EXPORTCENTER_TSA_URL`): fail the seal (retried, then failed) when no
    /// timestamp can be had, instead of sealing without one (`EXPORTCENTER_TSA_REQUIRED`,
    /// off).
    pub tsa_required: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retention: time::Duration::days(30),
            download_ttl: Duration::from_secs(900),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            connection_ttl: Duration::from_secs(2 * 3600),
            max_attempts: 5,
            policy: PolicyConfig::default(),
            crash_at: None,
            resend_queued_after: Duration::from_secs(60),
            tenants: TenantSettingsBook::default(),
            allow_private_destinations: false,
            public_url: None,
            delivery_retry_base: Duration::from_secs(30),
            delivery_retry_cap: Duration::from_secs(3600),
            delivery_max_age: Duration::from_secs(24 * 3600),
            email_attach_max_bytes: 10 * 1024 * 1024,
            github_api_url: "https://api.github.com".into(),
            s3_destination_own_credentials: false,
            tsa_required: false,
        }
    }
}

fn severity_var(
    env: &dyn Env,
    name: &'static str,
    default: Severity,
) -> Result<Severity, ConfigError> {
    match env.var(name) {
        None => Ok(default),
        Some(v) => match Severity::parse_lenient(&v) {
            Severity::Unknown => Err(ConfigError {
                var: name,
                reason: format!("{v:?} is not critical, high, medium, low or negligible"),
            }),
            s => Ok(s),
        },
    }
}

impl Settings {
    pub fn from_env(env: &dyn Env) -> Result<Settings, ConfigError> {
        let d = Settings::default();
        let crash_at = match env.var("EXPORTCENTER_CRASH_AT") {
            None => None,
            Some(v) => Some(Stage::parse(&v).ok_or_else(|| ConfigError {
                var: "EXPORTCENTER_CRASH_AT",
                reason: format!("{v:?} is not gathering, rendering, storing or sealing"),
            })?),
        };
        let tenants = TenantSettingsBook::from_env(env)?;
        Ok(Settings {
            retention: time::Duration::days(
                tenants.default_settings().retention.default_days.into(),
            ),
            download_ttl: Duration::from_secs(parse_var(
                env,
                "EXPORTCENTER_DOWNLOAD_URL_TTL_SECS",
                900u64,
            )?),
            idempotency_ttl: d.idempotency_ttl,
            resend_queued_after: d.resend_queued_after,
            connection_ttl: Duration::from_secs(parse_var(
                env,
                "EXPORTCENTER_CONNECTION_TTL_SECS",
                7200u64,
            )?),
            max_attempts: parse_var(env, "EXPORTCENTER_MAX_ATTEMPTS", d.max_attempts)?,
            policy: PolicyConfig {
                fail_at: severity_var(env, "EXPORTCENTER_POLICY_FAIL_AT", d.policy.fail_at)?,
                warn_at: severity_var(env, "EXPORTCENTER_POLICY_WARN_AT", d.policy.warn_at)?,
                fail_only_if_fixable: parse_var(
                    env,
                    "EXPORTCENTER_POLICY_FAIL_ONLY_IF_FIXABLE",
                    d.policy.fail_only_if_fixable,
                )?,
            },
            crash_at,
            tenants,
            allow_private_destinations: parse_var(
                env,
                "EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS",
                false,
            )?,
            public_url: env
                .var("EXPORTCENTER_PUBLIC_URL")
                .map(|u| u.trim_end_matches('/').to_string()),
            delivery_retry_base: Duration::from_secs(parse_var(
                env,
                "EXPORTCENTER_DELIVERY_RETRY_BASE_SECS",
                30u64,
            )?),
            delivery_retry_cap: Duration::from_secs(parse_var(
                env,
                "EXPORTCENTER_DELIVERY_RETRY_CAP_SECS",
                3600u64,
            )?),
            delivery_max_age: Duration::from_secs(parse_var(
                env,
                "EXPORTCENTER_DELIVERY_MAX_AGE_SECS",
                86_400u64,
            )?),
            email_attach_max_bytes: parse_var(
                env,
                "EXPORTCENTER_EMAIL_ATTACH_MAX_BYTES",
                d.email_attach_max_bytes,
            )?,
            github_api_url: env
                .var("EXPORTCENTER_GITHUB_API_URL")
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or(d.github_api_url),
            s3_destination_own_credentials: parse_var(
                env,
                "EXPORTCENTER_S3_DESTINATION_OWN_CREDENTIALS",
                false,
            )?,
            tsa_required: parse_var(env, "EXPORTCENTER_TSA_REQUIRED", false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_reject() {
        let s = Settings::from_env(&[
            ("EXPORTCENTER_RETENTION_DAYS", "7"),
            ("EXPORTCENTER_CRASH_AT", "sealing"),
        ])
        .unwrap();
        assert_eq!(s.retention, time::Duration::days(7));
        assert_eq!(s.crash_at, Some(Stage::Sealing));
        let e = Settings::from_env(&[("EXPORTCENTER_MAX_ATTEMPTS", "many")]).unwrap_err();
        assert_eq!(e.var, "EXPORTCENTER_MAX_ATTEMPTS");
        let e = Settings::from_env(&[("EXPORTCENTER_POLICY_FAIL_AT", "severe")]).unwrap_err();
        assert_eq!(e.var, "EXPORTCENTER_POLICY_FAIL_AT");
        let e = Settings::from_env(&[("EXPORTCENTER_CRASH_AT", "later")]).unwrap_err();
        assert_eq!(e.var, "EXPORTCENTER_CRASH_AT");
    }
}
