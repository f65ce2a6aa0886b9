//! Per-tenant settings: the one mechanism for every value that may differ between tenants
//! (today the export quotas; retention later). Each value comes from, in order of
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

/// Everything that may differ between tenants, resolved for one tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantSettings {
    pub quota: QuotaSettings,
}

/// One level of the document (`default`, or a tenant's entry): every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Layer {
    #[serde(default)]
    quota: QuotaLayer,
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

/// Limits of 0 would refuse every export: a tenant to be stopped needs another switch.
fn check(s: &TenantSettings, var: &'static str, at: &str) -> Result<(), (&'static str, String)> {
    if s.quota.exports_per_minute == 0 {
        let var = if at.is_empty() {
            ENV_QUOTA_EXPORTS_PER_MINUTE
        } else {
            var
        };
        return Err((
            var,
            format!("{at}quota.exports_per_minute must be at least 1"),
        ));
    }
    if s.quota.concurrent_exports == 0 {
        let var = if at.is_empty() {
            ENV_QUOTA_CONCURRENT_EXPORTS
        } else {
            var
        };
        return Err((
            var,
            format!("{at}quota.concurrent_exports must be at least 1"),
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
        let e = TenantSettingsBook::from_env(&[(ENV_TENANT_SETTINGS, "/nonexistent/ts.json")])
            .unwrap_err();
        assert_eq!(e.var, ENV_TENANT_SETTINGS);
        assert!(e.reason.contains("/nonexistent/ts.json"), "{e}");
    }
}
