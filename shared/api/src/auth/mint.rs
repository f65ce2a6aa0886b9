//! Minting HS256 tokens with the shared secret: `exportctl token`, the demo and the tests.
//! Production tokens come from an identity provider (see [`super::AuthConfig`]).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// The claims this service mints (and the defaults it reads).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scp: Vec<String>,
    /// Required: a token without it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub iat: i64,
}

/// Signs `claims` with HS256.
pub fn sign(secret: &[u8], claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// Mints an HS256 token for one tenant, valid for `ttl_secs` seconds.
pub fn mint(
    secret: &[u8],
    subject: &str,
    tenant: &str,
    scopes: &str,
    ttl_secs: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    sign(
        secret,
        &Claims {
            sub: Some(subject.to_string()),
            tenant: Some(tenant.to_string()),
            scope: Some(scopes.to_string()),
            exp: Some(now + ttl_secs),
            iat: now,
            ..Claims::default()
        },
    )
}
