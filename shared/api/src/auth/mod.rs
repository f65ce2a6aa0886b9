//! Bearer tokens. In production a token is a JWT from the identity provider (RS256, ES256 or
//! EdDSA, verified against its key set, naming the configured issuer and audience); the
//! development stack verifies HS256 tokens minted with a shared secret. Either way the token's
//! tenant claim must cover the `X-Tenant-Id` header (or name the one tenant), and its scope
//! claim must grant the route's scope. Every refusal says why, never echoing the token.

mod claims;
mod config;
mod jwks;
mod mint;
#[cfg(test)]
mod tests;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use ec_domain::env::ConfigError;
use ec_domain::{ApiError, ErrorCode, TenantId};
use ec_pipeline::app::Caller;

pub use claims::ClaimNames;
pub use config::{AuthConfig, DEFAULT_LEEWAY_SECS, DEFAULT_MIN_REFETCH_SECS};
pub use jwks::{ACCEPTED, JwksSource};
pub use mint::{Claims, mint, sign};

/// A verified caller and what it may do.
#[derive(Debug, Clone)]
pub struct Principal {
    pub caller: Caller,
    scopes: Vec<String>,
}

impl Principal {
    pub fn require(&self, scope: &str) -> Result<&Caller, ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(&self.caller)
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the token lacks the {scope} scope"),
            )
            .with_detail("scope", format!("{scope} required")))
        }
    }
}

/// Reading the operators' `_system` audit chain (`GET /api/v1/audit?chain=_system`).
pub const AUDIT_SYSTEM_SCOPE: &str = "audit:system";

/// Every scope a token may grant (the contract's, and `audit:system`), for minting and for
/// help texts.
pub const KNOWN_SCOPES: [&str; 8] = [
    "export:read",
    "export:write",
    "export:admin",
    "scan:write",
    "template:write",
    "destination:write",
    "audit:read",
    AUDIT_SYSTEM_SCOPE,
];

enum Keys {
    Shared(DecodingKey),
    Provider(jwks::KeyCache),
}

/// Verifies tokens.
pub struct Auth {
    keys: Keys,
    config: AuthConfig,
}

fn unauthenticated(why: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, why)
}

impl Auth {
    /// The verifier `config` describes; `secret` is the shared HS256 secret, required (and
    /// only used) when no identity provider is configured. Logs which one it is.
    pub fn new(config: AuthConfig, secret: Option<&[u8]>) -> Result<Auth, ConfigError> {
        let keys = match &config.provider {
            Some(source) => {
                tracing::info!(
                    keys = ?source,
                    issuer = config.issuer.as_deref().unwrap_or_default(),
                    audience = config.audience.as_deref().unwrap_or_default(),
                    "tokens are verified against the identity provider's keys; HS256 is refused"
                );
                Keys::Provider(jwks::KeyCache::new(
                    source.clone(),
                    config.min_refetch,
                    config::KEYS_MAX_AGE,
                ))
            }
            None => {
                let secret = secret.ok_or(ConfigError {
                    var: "EXPORTCENTER_JWT_SECRET",
                    reason:
                        "required unless EXPORTCENTER_JWKS_URL or EXPORTCENTER_OIDC_ISSUER is set"
                            .into(),
                })?;
                tracing::warn!(
                    "tokens are HS256 with a shared secret: for development only; set \
                     EXPORTCENTER_OIDC_ISSUER or EXPORTCENTER_JWKS_URL in production"
                );
                Keys::Shared(DecodingKey::from_secret(secret))
            }
        };
        Ok(Auth { keys, config })
    }

    /// The development verifier: HS256 with `secret`, default claims and leeway.
    pub fn hs256(secret: &[u8]) -> Auth {
        Auth {
            keys: Keys::Shared(DecodingKey::from_secret(secret)),
            config: AuthConfig::default(),
        }
    }

    /// The clock skew allowed on `exp`, `nbf` and `iat` (`EXPORTCENTER_JWT_LEEWAY_SECS`).
    pub fn with_leeway(mut self, seconds: u64) -> Auth {
        self.config.leeway_secs = seconds;
        self
    }

    pub fn leeway(&self) -> u64 {
        self.config.leeway_secs
    }

    /// Checks `token` and that it speaks for `tenant` (or, without one, for a single tenant).
    pub async fn verify(
        &self,
        token: Option<&str>,
        tenant: Option<&str>,
    ) -> Result<Principal, ApiError> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("a Bearer token is required"))?;
        let claims = self.claims(token).await?;
        self.principal(&claims, tenant)
    }

    /// The claims of a token whose signature and registered claims check out.
    async fn claims(&self, token: &str) -> Result<Map<String, Value>, ApiError> {
        let alg = header_alg(token)?;
        let (key, alg) = match &self.keys {
            Keys::Shared(key) if alg == "HS256" => (key.clone(), Algorithm::HS256),
            Keys::Shared(_) => {
                return Err(unauthenticated(format!(
                    "this development stack accepts HS256 tokens only, not {}",
                    shown_alg(&alg)
                )));
            }
            Keys::Provider(cache) => {
                let Some(a) = ACCEPTED.into_iter().find(|a| format!("{a:?}") == alg) else {
                    return Err(unauthenticated(if alg.starts_with("HS") {
                        "HS256 tokens are refused: tokens must be signed by the identity \
                         provider (RS256, ES256 or EdDSA)"
                            .to_string()
                    } else {
                        format!(
                            "tokens signed with {} are refused (RS256, ES256 or EdDSA)",
                            shown_alg(&alg)
                        )
                    }));
                };
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|_| unauthenticated("the token's header is not a JWT header"))?;
                (cache.key(header.kid.as_deref(), a).await?, a)
            }
        };
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation(alg))
            .map_err(|e| unauthenticated(describe(&e)))?;
        let claims = data.claims;
        match claims.get("iat") {
            None => {}
            Some(Value::Number(n)) => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
                if n.as_f64()
                    .is_some_and(|iat| iat > now + self.config.leeway_secs as f64)
                {
                    return Err(unauthenticated("the token was issued in the future (iat)"));
                }
            }
            Some(_) => return Err(unauthenticated("the token's iat claim is not a number")),
        }
        Ok(claims)
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = self.config.leeway_secs;
        v.validate_exp = true;
        v.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(iss) = &self.config.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.config.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }

    fn principal(
        &self,
        claims: &Map<String, Value>,
        tenant: Option<&str>,
    ) -> Result<Principal, ApiError> {
        let tenants = self.config.claims.tenants(claims);
        let tenant = match tenant.filter(|t| !t.is_empty()) {
            Some(t) => t,
            // A token for one tenant names it; one for several must say which.
            None => match tenants.as_slice() {
                [one] => one.as_str(),
                [] => return Err(unauthenticated("the token names no tenant")),
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::BadRequest,
                        "the X-Tenant-Id header is required: the token covers several tenants",
                    ));
                }
            },
        };
        let tenant = TenantId::parse(tenant).map_err(|_| {
            unauthenticated("the tenant is not a valid tenant id ([A-Za-z0-9][A-Za-z0-9._-]{0,63})")
                .with_detail("X-Tenant-Id", "not a valid tenant id")
        })?;
        if !tenants.iter().any(|t| t == tenant.as_str()) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the token does not cover tenant {tenant}"),
            )
            .with_detail("X-Tenant-Id", "does not match the token's tenant claim"));
        }
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => "anonymous".into(),
        };
        Ok(Principal {
            scopes: self.config.claims.scopes(claims),
            caller: Caller { tenant, subject },
        })
    }
}

/// The `alg` of a token's header, read before anything else so `none` and unknown names get
/// a clear refusal.
fn header_alg(token: &str) -> Result<String, ApiError> {
    let not_jwt = || unauthenticated("the token is not a JWT");
    let head = token.split('.').next().ok_or_else(not_jwt)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .map_err(|_| not_jwt())?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| not_jwt())?;
    match header.get("alg") {
        Some(Value::String(a)) if a.eq_ignore_ascii_case("none") => {
            Err(unauthenticated("unsigned tokens (alg none) are refused"))
        }
        Some(Value::String(a)) => Ok(a.clone()),
        _ => Err(unauthenticated(
            "the token's header names no algorithm (alg)",
        )),
    }
}

/// An algorithm name fit for a message: a known one as it is, anything else not echoed.
fn shown_alg(alg: &str) -> &str {
    const KNOWN: [&str; 12] = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "EdDSA",
    ];
    KNOWN
        .into_iter()
        .find(|k| *k == alg)
        .unwrap_or("an unknown algorithm")
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidSignature => "the token's signature is invalid".into(),
        ErrorKind::MissingRequiredClaim(c) if c == "exp" => {
            "the token has no exp claim (an expiry is required)".into()
        }
        ErrorKind::MissingRequiredClaim(c) => format!("the token has no {c} claim"),
        ErrorKind::InvalidIssuer => "the token's issuer (iss) is not the configured issuer".into(),
        ErrorKind::InvalidAudience => {
            "the token's audience (aud) does not name this service".into()
        }
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        _ => "the token is not a valid JWT".into(),
    }
}
