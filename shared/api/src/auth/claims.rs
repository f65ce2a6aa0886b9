//! Which claims name a token's tenants and scopes. Identity providers disagree (Keycloak and
//! Auth0 put custom claims where a mapper says, Entra ID and Okta use `scp`), so the names are
//! configuration (`EXPORTCENTER_TENANT_CLAIM`, `EXPORTCENTER_SCOPE_CLAIM`); each claim may be a
//! string (space-separated for scopes) or an array of strings.

use serde_json::{Map, Value};

use ec_domain::env::{ConfigError, Env, parse_var};

/// The claim names read from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// `EXPORTCENTER_TENANT_CLAIM`: `None` means the defaults, `tenant` or the `tenants` array.
    pub tenant: Option<String>,
    /// `EXPORTCENTER_SCOPE_CLAIM`: `None` means the defaults, `scope` and `scp`.
    pub scope: Option<String>,
}

impl ClaimNames {
    pub fn from_env(env: &dyn Env) -> Result<ClaimNames, ConfigError> {
        let name = |var: &'static str| -> Result<Option<String>, ConfigError> {
            match parse_var::<String>(env, var, String::new())? {
                v if v.is_empty() => Ok(None),
                v if v.trim() != v => Err(ConfigError {
                    var,
                    reason: format!("{v:?}: a claim name has no surrounding spaces"),
                }),
                v => Ok(Some(v)),
            }
        };
        Ok(ClaimNames {
            tenant: name("EXPORTCENTER_TENANT_CLAIM")?,
            scope: name("EXPORTCENTER_SCOPE_CLAIM")?,
        })
    }

    /// The tenants the token names, in order, without repeats.
    pub fn tenants(&self, claims: &Map<String, Value>) -> Vec<String> {
        let names: &[&str] = match &self.tenant {
            Some(n) => &[n.as_str()],
            None => &["tenant", "tenants"],
        };
        dedup(names.iter().flat_map(|n| strings(claims.get(*n), false)))
    }

    /// The scopes the token grants.
    pub fn scopes(&self, claims: &Map<String, Value>) -> Vec<String> {
        let names: &[&str] = match &self.scope {
            Some(n) => &[n.as_str()],
            None => &["scope", "scp"],
        };
        dedup(names.iter().flat_map(|n| strings(claims.get(*n), true)))
    }
}

/// A string claim (split on whitespace when `split`) or an array of strings; anything else
/// names nothing.
fn strings(value: Option<&Value>, split: bool) -> Vec<String> {
    match value {
        Some(Value::String(s)) if split => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|s| {
                if split {
                    s.split_whitespace().map(str::to_string).collect()
                } else {
                    vec![s.to_string()]
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !i.is_empty() && !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_read_tenant_tenants_scope_and_scp() {
        let names = ClaimNames::from_env(&[("X", "1")]).unwrap();
        let c = map(
            json!({"tenant": "a", "tenants": ["b", "a"], "scope": "export:read x", "scp": ["audit:read"]}),
        );
        assert_eq!(names.tenants(&c), ["a", "b"]);
        assert_eq!(names.scopes(&c), ["export:read", "x", "audit:read"]);
        // Entra ID: scp as a space-separated string.
        assert_eq!(names.scopes(&map(json!({"scp": "a b"}))), ["a", "b"]);
        assert!(names.tenants(&map(json!({"tenant": 5}))).is_empty());
    }

    #[test]
    fn configured_names_replace_the_defaults() {
        let env = [
            (
                "EXPORTCENTER_TENANT_CLAIM",
                "https://exportcenter.example/tenants",
            ),
            ("EXPORTCENTER_SCOPE_CLAIM", "permissions"),
        ];
        let names = ClaimNames::from_env(&env).unwrap();
        let c = map(json!({
            "tenant": "ignored", "scope": "ignored",
            "https://exportcenter.example/tenants": ["acme"],
            "permissions": ["export:read", "export:write"]
        }));
        assert_eq!(names.tenants(&c), ["acme"]);
        assert_eq!(names.scopes(&c), ["export:read", "export:write"]);
        let bad = ClaimNames::from_env(&[("EXPORTCENTER_SCOPE_CLAIM", " scp")]);
        assert!(bad.is_err());
    }
}
