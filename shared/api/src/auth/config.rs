//! How tokens are verified, read once from the environment: against an identity provider's
//! keys (`EXPORTCENTER_JWKS_URL` or `EXPORTCENTER_OIDC_ISSUER`, with the issuer and audience
//! every token must name), or — with neither — with the shared HS256 secret of the
//! development stack.

use std::time::Duration;

use ec_domain::env::{ConfigError, Env, parse_var};

use super::claims::ClaimNames;
use super::jwks::JwksSource;

/// Default of `EXPORTCENTER_JWT_LEEWAY_SECS`: clock skew allowed on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;
/// Default of `EXPORTCENTER_JWKS_MIN_REFETCH_SECS`: an unknown key id refetches the key set at
/// most this often.
pub const DEFAULT_MIN_REFETCH_SECS: u64 = 60;
/// Keys older than this are refetched on the next token (keys the provider rotated out stop
/// verifying within the hour even when no unknown key id comes along).
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);

/// Everything that decides whether a token is accepted.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The provider's key set; `None`: the shared HS256 secret (development only).
    pub provider: Option<JwksSource>,
    /// `EXPORTCENTER_JWT_ISSUER` (default: `EXPORTCENTER_OIDC_ISSUER`): the required `iss`.
    pub issuer: Option<String>,
    /// `EXPORTCENTER_JWT_AUDIENCE`: a value the token's `aud` must hold.
    pub audience: Option<String>,
    /// `EXPORTCENTER_JWT_LEEWAY_SECS`.
    pub leeway_secs: u64,
    /// `EXPORTCENTER_JWKS_MIN_REFETCH_SECS`.
    pub min_refetch: Duration,
    /// `EXPORTCENTER_TENANT_CLAIM`, `EXPORTCENTER_SCOPE_CLAIM`.
    pub claims: ClaimNames,
}

impl Default for AuthConfig {
    /// The development default: the shared secret, no issuer or audience.
    fn default() -> Self {
        AuthConfig {
            provider: None,
            issuer: None,
            audience: None,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            min_refetch: Duration::from_secs(DEFAULT_MIN_REFETCH_SECS),
            claims: ClaimNames {
                tenant: None,
                scope: None,
            },
        }
    }
}

fn url_var(env: &dyn Env, var: &'static str) -> Result<Option<String>, ConfigError> {
    let Some(v) = env.var(var) else {
        return Ok(None);
    };
    match reqwest::Url::parse(&v) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(Some(v)),
        _ => Err(ConfigError {
            var,
            reason: format!("{v:?} is not an http(s) URL"),
        }),
    }
}

impl AuthConfig {
    pub fn from_env(env: &dyn Env) -> Result<AuthConfig, ConfigError> {
        let jwks_url = url_var(env, "EXPORTCENTER_JWKS_URL")?;
        let oidc = url_var(env, "EXPORTCENTER_OIDC_ISSUER")?;
        let issuer = env.var("EXPORTCENTER_JWT_ISSUER").or_else(|| oidc.clone());
        let audience = env.var("EXPORTCENTER_JWT_AUDIENCE");
        let provider = match (jwks_url, oidc) {
            (Some(url), _) => Some(JwksSource::Url(url)),
            (None, Some(issuer)) => Some(JwksSource::Discovery { issuer }),
            (None, None) => None,
        };
        if provider.is_some() {
            if issuer.is_none() {
                return Err(ConfigError {
                    var: "EXPORTCENTER_JWT_ISSUER",
                    reason: "required with EXPORTCENTER_JWKS_URL: the issuer every token must name (iss)".into(),
                });
            }
            if audience.is_none() {
                return Err(ConfigError {
                    var: "EXPORTCENTER_JWT_AUDIENCE",
                    reason: "required with an identity provider: the audience every token must name (aud)".into(),
                });
            }
        }
        Ok(AuthConfig {
            provider,
            issuer,
            audience,
            leeway_secs: parse_var(env, "EXPORTCENTER_JWT_LEEWAY_SECS", DEFAULT_LEEWAY_SECS)?,
            min_refetch: Duration::from_secs(parse_var(
                env,
                "EXPORTCENTER_JWKS_MIN_REFETCH_SECS",
                DEFAULT_MIN_REFETCH_SECS,
            )?),
            claims: ClaimNames::from_env(env)?,
        })
    }

    /// Whether tokens are HS256 with the shared secret (the development stack).
    pub fn uses_shared_secret(&self) -> bool {
        self.provider.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_needs_issuer_and_audience() {
        let none = AuthConfig::from_env(&[("X", "")]).unwrap();
        assert!(none.uses_shared_secret());
        let e = AuthConfig::from_env(&[("EXPORTCENTER_JWKS_URL", "https://idp/jwks")]).unwrap_err();
        assert_eq!(e.var, "EXPORTCENTER_JWT_ISSUER");
        let e = AuthConfig::from_env(&[("EXPORTCENTER_OIDC_ISSUER", "https://idp/realms/x")])
            .unwrap_err();
        assert_eq!(e.var, "EXPORTCENTER_JWT_AUDIENCE");
        let ok = AuthConfig::from_env(&[
            ("EXPORTCENTER_OIDC_ISSUER", "https://idp/realms/x"),
            ("EXPORTCENTER_JWT_AUDIENCE", "exportcenter"),
        ])
        .unwrap();
        assert_eq!(ok.issuer.as_deref(), Some("https://idp/realms/x"));
        assert!(!ok.uses_shared_secret());
        let e = AuthConfig::from_env(&[("EXPORTCENTER_JWKS_URL", "file:///etc/keys")]).unwrap_err();
        assert_eq!(e.var, "EXPORTCENTER_JWKS_URL");
    }
}
