//! Per-tenant settings: the one mechanism for every value that may differ between tenants
//! (the export quotas and the artifacts' retention). Each value comes from, in order of
//! precedence: the tenant's entry of the settings document, the document's `default`, the
//! environment variable of that value, the built-in default. The document is JSON,
//! `{ "default": { … }, "tenants": { "acme-corp": { … } } }`, read once at start-up from
//! the file `EXPORTCENTER_TENANT_SETTINGS` names; unknown keys, invalid tenant ids and
//! out-of-range values refuse to start, naming the variable and the problem.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::env::{ConfigError, Env, parse_var};
use crate::id_types::TenantId;

/// The variable naming the settings document (a file path).
pub const ENV_TENANT_SETTINGS: &str = "EXPORTCENTER_TENANT_SETTINGS";
/// Default of `quota.exports_per_minute` for every tenant.
pub const ENV_QUOTA_EXPORTS_PER_MINUTE: &str = "EXPORTCENTER_QUOTA_EXPORTS_PER_MINUTE";
/// Default of `quota.concurrent_exports` for every tenant.
pub const ENV_QUOTA_CONCURRENT_EXPORTS: &str = "EXPORTCENTER_QUOTA_CONCURRENT_EXPORTS";

/// Default of `retention.default_days`: how long a ready export's artifacts are kept
/// when its request names no `options.retention_days`.
pub const ENV_RETENTION_DAYS: &str = "EXPORTCENTER_RETENTION_DAYS";
/// Default of `retention.max_days`: the most `options.retention_days` may ask.
pub const ENV_RETENTION_MAX_DAYS: &str = "EXPORTCENTER_RETENTION_MAX_DAYS";

/// Built-in default of `retention.default_days`.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Built-in default of `retention.max_days` (ten years).
pub const DEFAULT_RETENTION_MAX_DAYS: u32 = 3650;

/// Built-in default of `quota.exports_per_minute`.
pub const DEFAULT_EXPORTS_PER_MINUTE: u32 = 60;
/// Built-in default of `quota.concurrent_exports`.
pub const DEFAULT_CONCURRENT_EXPORTS: u32 = 10;

/// A tenant's export quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSettings {
    /// Exports a client may request in one fixed, one-minute window (scheduled runs do not
    /// count here).
    pub exports_per_minute: u32,
    /// Exports queued or running at once (scheduled runs included).
    pub concurrent_exports: u32,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            exports_per_minute: DEFAULT_EXPORTS_PER_MINUTE,
            concurrent_exports: DEFAULT_CONCURRENT_EXPORTS,
        }
    }
}

/// How long a tenant's ready exports keep their artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Days kept when the request asks nothing.
    pub default_days: u32,
    /// The most `options.retention_days` may ask.
    pub max_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            default_days: DEFAULT_RETENTION_DAYS,
            max_days: DEFAULT_RETENTION_MAX_DAYS,
        }
    }
}

impl RetentionSettings {
    /// The days an export keeps its artifacts: what it `asked`, else the default.
    pub fn days_for(&self, asked: Option<u32>) -> u32 {
        asked.unwrap_or(self.default_days)
    }
}

/// Everything that may differ between tenants, resolved for one tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantSettings {
    pub quota: QuotaSettings,
    pub retention: RetentionSettings,
}

/// One level of the document (`default`, or a tenant's entry): every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    #[serde(default)]
    quota: QuotaLayer,
    #[serde(default)]
    retention: RetentionLayer,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionLayer {
    default_days: Option<u32>,
    max_days: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaLayer {
    exports_per_minute: Option<u32>,
    concurrent_exports: Option<u32>,
}

/// The settings document as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    default: Layer,
    #[serde(default)]
    tenants: BTreeMap<TenantId, Layer>,
}

impl Layer {
    fn apply(&self, base: TenantSettings) -> TenantSettings {
        TenantSettings {
            quota: QuotaSettings {
                exports_per_minute: self
                    .quota
                    .exports_per_minute
                    .unwrap_or(base.quota.exports_per_minute),
                concurrent_exports: self
                    .quota
                    .concurrent_exports
                    .unwrap_or(base.quota.concurrent_exports),
            },
            retention: RetentionSettings {
                default_days: self
                    .retention
                    .default_days
                    .unwrap_or(base.retention.default_days),
                max_days: self.retention.max_days.unwrap_or(base.retention.max_days),
            },
        }
    }
}

/// Every tenant's settings: the resolved default and the tenants that override it.
/// Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct TenantSettingsBook {
    default: TenantSettings,
    tenants: Arc<BTreeMap<TenantId, TenantSettings>>,
}

impl TenantSettingsBook {
    /// Every tenant with `default`.
    pub fn uniform(default: TenantSettings) -> TenantSettingsBook {
        TenantSettingsBook {
            default,
            tenants: Arc::default(),
        }
    }

    /// The settings of a tenant the document does not name.
    pub fn default_settings(&self) -> TenantSettings {
        self.default
    }

    /// The settings of `tenant`.
    pub fn for_tenant(&self, tenant: &TenantId) -> TenantSettings {
        self.tenants.get(tenant).copied().unwrap_or(self.default)
    }

    /// Reads the environment defaults and the document `EXPORTCENTER_TENANT_SETTINGS`
    /// names (if any).
    pub fn from_env(env: &dyn Env) -> Result<TenantSettingsBook, ConfigError> {
        let base = TenantSettings {
            quota: QuotaSettings {
                exports_per_minute: parse_var(
                    env,
                    ENV_QUOTA_EXPORTS_PER_MINUTE,
                    DEFAULT_EXPORTS_PER_MINUTE,
                )?,
                concurrent_exports: parse_var(
                    env,
                    ENV_QUOTA_CONCURRENT_EXPORTS,
                    DEFAULT_CONCURRENT_EXPORTS,
                )?,
            },
            retention: RetentionSettings {
                default_days: parse_var(env, ENV_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)?,
                max_days: parse_var(env, ENV_RETENTION_MAX_DAYS, DEFAULT_RETENTION_MAX_DAYS)?,
            },
        };
        check(&base, ENV_QUOTA_EXPORTS_PER_MINUTE, "")
            .map_err(|(var, reason)| ConfigError { var, reason })?;
        let Some(path) = env.var(ENV_TENANT_SETTINGS) else {
            return Ok(TenantSettingsBook::uniform(base));
        };
        // The document itself (what the AWS runtime passes on after reading an SSM
        // parameter), or the path of a file that holds it.
        if path.trim_start().starts_with('{') {
            return TenantSettingsBook::parse(&path, base).map_err(|reason| ConfigError {
                var: ENV_TENANT_SETTINGS,
                reason,
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError {
            var: ENV_TENANT_SETTINGS,
            reason: format!("cannot read {path}: {e}"),
        })?;
        TenantSettingsBook::parse(&text, base).map_err(|reason| ConfigError {
            var: ENV_TENANT_SETTINGS,
            reason: format!("{path}: {reason}"),
        })
    }

    /// Resolves the document `text` over `base` (the environment's defaults).
    pub fn parse(text: &str, base: TenantSettings) -> Result<TenantSettingsBook, String> {
        let doc: Document = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let default = doc.default.apply(base);
        check(&default, ENV_TENANT_SETTINGS, "default.").map_err(|(_, r)| r)?;
        let mut tenants = BTreeMap::new();
        for (tenant, layer) in doc.tenants {
            let resolved = layer.apply(default);
            let at = format!("tenants.{tenant}.");
            check(&resolved, ENV_TENANT_SETTINGS, &at).map_err(|(_, r)| r)?;
            tenants.insert(tenant, resolved);
        }
        Ok(TenantSettingsBook {
            default,
            tenants: Arc::new(tenants),
        })
    }
}

/// Limits of 0 would refuse every export (a tenant to be stopped needs another switch);
/// a retention of 0 days would delete what was just made, and a default above the
/// maximum would refuse every request that asks nothing. `at` is empty for the
/// environment's values (the error then names the value's own variable).
fn check(s: &TenantSettings, var: &'static str, at: &str) -> Result<(), (&'static str, String)> {
    let name = |own: &'static str| if at.is_empty() { own } else { var };
    if s.quota.exports_per_minute == 0 {
        return Err((
            name(ENV_QUOTA_EXPORTS_PER_MINUTE),
            format!("{at}quota.exports_per_minute must be at least 1"),
        ));
    }
    if s.quota.concurrent_exports == 0 {
        return Err((
            name(ENV_QUOTA_CONCURRENT_EXPORTS),
            format!("{at}quota.concurrent_exports must be at least 1"),
        ));
    }
    if s.retention.default_days == 0 {
        return Err((
            name(ENV_RETENTION_DAYS),
            format!("{at}retention.default_days must be at least 1"),
        ));
    }
    if s.retention.default_days > s.retention.max_days {
        return Err((
            name(ENV_RETENTION_MAX_DAYS),
            format!(
                "{at}retention.default_days ({}) is above {at}retention.max_days ({})",
                s.retention.default_days, s.retention.max_days
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        s.parse().unwrap()
    }

    #[test]
    fn env_then_document_default_then_tenant() {
        let base = TenantSettingsBook::from_env(&[
            (ENV_QUOTA_EXPORTS_PER_MINUTE, "30"),
            (ENV_QUOTA_CONCURRENT_EXPORTS, "4"),
        ])
        .unwrap();
        let q = base.for_tenant(&t("acme")).quota;
        assert_eq!((q.exports_per_minute, q.concurrent_exports), (30, 4));
        let doc = r#"{ "default": { "quota": { "concurrent_exports": 5 } },
                       "tenants": { "acme-corp": { "quota": { "exports_per_minute": 7 } },
                                    "globex": {} } }"#;
        let book = TenantSettingsBook::parse(doc, base.default).unwrap();
        let q = book.for_tenant(&t("acme-corp")).quota;
        assert_eq!((q.exports_per_minute, q.concurrent_exports), (7, 5));
        let q = book.for_tenant(&t("globex")).quota;
        assert_eq!((q.exports_per_minute, q.concurrent_exports), (30, 5));
        let q = book.for_tenant(&t("other")).quota;
        assert_eq!((q.exports_per_minute, q.concurrent_exports), (30, 5));
        // No variables at all: the built-in defaults.
        let env: [(&str, &str); 0] = [];
        let q = TenantSettingsBook::from_env(&env)
            .unwrap()
            .for_tenant(&t("x"))
            .quota;
        assert_eq!((q.exports_per_minute, q.concurrent_exports), (60, 10));
    }

    #[test]
    fn retention_resolves_like_the_quotas() {
        let base = TenantSettingsBook::from_env(&[(ENV_RETENTION_DAYS, "14")]).unwrap();
        let r = base.for_tenant(&t("acme")).retention;
        assert_eq!(
            (r.default_days, r.max_days),
            (14, DEFAULT_RETENTION_MAX_DAYS)
        );
        let doc = r#"{ "default": { "retention": { "max_days": 400 } },
                       "tenants": { "acme-corp": { "retention": { "default_days": 90 } } } }"#;
        let book = TenantSettingsBook::parse(doc, base.default).unwrap();
        let r = book.for_tenant(&t("acme-corp")).retention;
        assert_eq!((r.default_days, r.max_days), (90, 400));
        assert_eq!((r.days_for(None), r.days_for(Some(3))), (90, 3));
        let r = book.for_tenant(&t("other")).retention;
        assert_eq!((r.default_days, r.max_days), (14, 400));
        assert_eq!(book.default_settings().retention, r);
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        let base = TenantSettings::default();
        for (doc, says) in [
            (r#"{"defaults": {}}"#, "unknown field `defaults`"),
            (r#"{"default": {"quotas": {}}}"#, "unknown field `quotas`"),
            (
                r#"{"tenants": {"acme": {"quota": {"per_minute": 1}}}}"#,
                "unknown field `per_minute`",
            ),
            (r#"{"tenants": {"a/b": {}}}"#, "is not a valid id"),
            (
                r#"{"default": {"quota": {"concurrent_exports": -1}}}"#,
                "invalid value",
            ),
            (
                r#"{"tenants": {"acme": {"quota": {"concurrent_exports": 0}}}}"#,
                "tenants.acme.quota.concurrent_exports must be at least 1",
            ),
            (
                r#"{"default": {"retention": {"default_days": 0}}}"#,
                "default.retention.default_days must be at least 1",
            ),
            (
                r#"{"tenants": {"acme": {"retention": {"max_days": 7}}}}"#,
                "tenants.acme.retention.default_days (30) is above tenants.acme.retention.max_days (7)",
            ),
            (
                r#"{"default": {"retention": {"days": 7}}}"#,
                "unknown field `days`",
            ),
            ("{", "EOF"),
        ] {
            let e = TenantSettingsBook::parse(doc, base).unwrap_err();
            assert!(e.contains(says), "{doc}: {e}");
        }
    }

    #[test]
    fn bad_variables_and_files_name_the_variable() {
        let e =
            TenantSettingsBook::from_env(&[(ENV_QUOTA_CONCURRENT_EXPORTS, "many")]).unwrap_err();
        assert_eq!(e.var, ENV_QUOTA_CONCURRENT_EXPORTS);
        let e = TenantSettingsBook::from_env(&[(ENV_QUOTA_EXPORTS_PER_MINUTE, "0")]).unwrap_err();
        assert_eq!(e.var, ENV_QUOTA_EXPORTS_PER_MINUTE);
        let e = TenantSettingsBook::from_env(&[(ENV_RETENTION_MAX_DAYS, "10")]).unwrap_err();
        assert_eq!(e.var, ENV_RETENTION_MAX_DAYS);
        assert!(e.reason.contains("above"), "{e}");
        let e = TenantSettingsBook::from_env(&[(ENV_RETENTION_DAYS, "0")]).unwrap_err();
        assert_eq!(e.var, ENV_RETENTION_DAYS);
        let e = TenantSettingsBook::from_env(&[(ENV_TENANT_SETTINGS, "/nonexistent/ts.json")])
            .unwrap_err();
        assert_eq!(e.var, ENV_TENANT_SETTINGS);
        assert!(e.reason.contains("/nonexistent/ts.json"), "{e}");
    }
}
