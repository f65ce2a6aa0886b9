//! Configuration from environment variables, read once at start-up by every runtime
//! (Lambda functions and `exportctl serve` alike). Each variable is documented in the
//! README and declared in `infra/template.yaml`.

use std::sync::Arc;
use std::time::Duration;

use ec_domain::Stage;
use ec_domain::policy::PolicyConfig;
use ec_domain::ports::{
    ObjectStore, SbomSource, ScanCatalog, ScanSource, VerdictSource, VexSource,
};
use ec_domain::scan::Severity;

use crate::Settings;
use crate::http_sources::{HttpSboms, HttpScans, HttpVerdicts, HttpVex, Service};
use crate::local_sources::{BuiltinPolicy, DerivedSbom, StoredScans, StoredVex};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// A view of the environment; tests pass a map instead of the process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// Reads `name` and parses it, or returns `default` when unset.
pub fn parse_var<T: std::str::FromStr>(
    env: &dyn Env,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match env.var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| ConfigError {
            var: name,
            reason: format!("{v:?}: {e}"),
        }),
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
        let crash_at = match env.var("EXPORTCENTER_CRASH_AT").as_deref() {
            None => None,
            Some("gathering") => Some(Stage::Gathering),
            Some("rendering") => Some(Stage::Rendering),
            Some("storing") => Some(Stage::Storing),
            Some("sealing") => Some(Stage::Sealing),
            Some(other) => {
                return Err(ConfigError {
                    var: "EXPORTCENTER_CRASH_AT",
                    reason: format!("{other:?} is not gathering, rendering, storing or sealing"),
                });
            }
        };
        Ok(Settings {
            retention: time::Duration::days(parse_var(env, "EXPORTCENTER_RETENTION_DAYS", 30i64)?),
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
            template_limits: crate::sandbox::SandboxLimits {
                program: None,
                timeout: Duration::from_secs(parse_var(
                    env,
                    "EXPORTCENTER_TEMPLATE_TIMEOUT_SECS",
                    d.template_limits.timeout.as_secs(),
                )?),
                memory_bytes: parse_var(
                    env,
                    "EXPORTCENTER_TEMPLATE_MEMORY_MB",
                    d.template_limits.memory_bytes / (1024 * 1024),
                )? * 1024
                    * 1024,
            },
        })
    }
}

/// The four data sources: a StellaOps service where its URL is configured
/// (`EXPORTCENTER_SCANNER_URL`, `_POLICY_URL`, `_VEX_URL`, `_SBOM_URL`), else the local one.
pub struct Sources {
    pub scans: Arc<dyn ScanSource>,
    pub verdicts: Arc<dyn VerdictSource>,
    pub vex: Arc<dyn VexSource>,
    pub sboms: Arc<dyn SbomSource>,
}

impl Sources {
    pub fn from_env(
        env: &dyn Env,
        settings: &Settings,
        objects: Arc<dyn ObjectStore>,
        catalog: Arc<dyn ScanCatalog>,
    ) -> Result<Sources, ConfigError> {
        let token = env.var("EXPORTCENTER_INTERNAL_TOKEN");
        let timeout =
            Duration::from_secs(parse_var(env, "EXPORTCENTER_INTERNAL_TIMEOUT_SECS", 30u64)?);
        let service = |var: &'static str| -> Result<Option<Service>, ConfigError> {
            env.var(var)
                .map(|url| {
                    Service::new(&url, token.clone(), timeout).map_err(|e| ConfigError {
                        var,
                        reason: e.to_string(),
                    })
                })
                .transpose()
        };
        Ok(Sources {
            scans: match service("EXPORTCENTER_SCANNER_URL")? {
                Some(s) => Arc::new(HttpScans(s)),
                None => Arc::new(StoredScans {
                    objects: objects.clone(),
                    catalog,
                }),
            },
            verdicts: match service("EXPORTCENTER_POLICY_URL")? {
                Some(s) => Arc::new(HttpVerdicts(s)),
                None => Arc::new(BuiltinPolicy(settings.policy.clone())),
            },
            vex: match service("EXPORTCENTER_VEX_URL")? {
                Some(s) => Arc::new(HttpVex(s)),
                None => Arc::new(StoredVex { objects }),
            },
            sboms: match service("EXPORTCENTER_SBOM_URL")? {
                Some(s) => Arc::new(HttpSboms(s)),
                None => Arc::new(DerivedSbom),
            },
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
    }
}
