//! Bearer tokens: HS256 JWTs whose `tenant`/`tenants` claim must cover the `X-Tenant-Id`
//! header and whose `scope` (space-separated) or `scp` (array) grants the route's scope.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use ec_domain::{ApiError, ErrorCode, TenantId};
use ec_pipeline::app::Caller;

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
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
}

impl Claims {
    fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .iter()
            .flat_map(|s| s.split_whitespace())
            .chain(self.scp.iter().map(String::as_str))
    }

    fn covers_tenant(&self, tenant: &str) -> bool {
        self.tenant.as_deref() == Some(tenant) || self.tenants.iter().any(|t| t == tenant)
    }
}

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

/// Verifies tokens with one HS256 secret.
pub struct Auth {
    decoding: DecodingKey,
    validation: Validation,
}

impl Auth {
    pub fn hs256(secret: &[u8]) -> Auth {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp"]);
        Auth {
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Checks `token` and that it speaks for `tenant`.
    pub fn verify(&self, token: Option<&str>, tenant: Option<&str>) -> Result<Principal, ApiError> {
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthenticated, "a Bearer token is required")
        })?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                let why = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the token has expired",
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        "the token's signature is invalid"
                    }
                    _ => "the token is not a valid HS256 JWT",
                };
                ApiError::new(ErrorCode::Unauthenticated, why)
            })?;
        let claims = data.claims;
        let tenant = tenant.filter(|t| !t.is_empty()).ok_or_else(|| {
            ApiError::new(ErrorCode::BadRequest, "the X-Tenant-Id header is required")
        })?;
        if !claims.covers_tenant(tenant) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the token does not cover tenant {tenant}"),
            )
            .with_detail("X-Tenant-Id", "does not match the token's tenant claim"));
        }
        let tenant = TenantId::parse(tenant).map_err(|_| {
            ApiError::new(ErrorCode::Forbidden, "X-Tenant-Id is not a valid tenant id")
                .with_detail("X-Tenant-Id", "not a valid tenant id")
        })?;
        Ok(Principal {
            scopes: claims.scopes().map(str::to_string).collect(),
            caller: Caller {
                tenant,
                subject: claims.sub.unwrap_or_else(|| "anonymous".into()),
            },
        })
    }
}

/// Mints an HS256 token (`exportctl token`, tests, the demo).
pub fn mint(
    secret: &[u8],
    subject: &str,
    tenant: &str,
    scopes: &str,
    ttl_secs: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub: Some(subject.to_string()),
        tenant: Some(tenant.to_string()),
        scope: Some(scopes.to_string()),
        exp: now + ttl_secs,
        iat: now,
        ..Claims::default()
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret";

    #[test]
    fn tokens_are_checked() {
        let auth = Auth::hs256(SECRET);
        let t = mint(SECRET, "alice", "acme", "export:read export:write", 60).unwrap();
        let p = auth.verify(Some(&t), Some("acme")).unwrap();
        assert_eq!(p.caller.subject, "alice");
        assert!(p.require("export:write").is_ok());
        assert_eq!(
            p.require("scan:write").unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            auth.verify(Some(&t), Some("globex")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert_eq!(
            auth.verify(None, Some("acme")).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
        let other = mint(b"other", "alice", "acme", "export:read", 60).unwrap();
        assert_eq!(
            auth.verify(Some(&other), Some("acme")).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
        let expired = mint(SECRET, "alice", "acme", "export:read", -120).unwrap();
        let e = auth.verify(Some(&expired), Some("acme")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated);
        assert!(e.message.contains("expired"));
    }

    #[test]
    fn tenants_array_and_scp_array_count() {
        let auth = Auth::hs256(SECRET);
        let claims = Claims {
            tenants: vec!["a".into(), "b".into()],
            scp: vec!["export:read".into()],
            exp: time::OffsetDateTime::now_utc().unix_timestamp() + 60,
            ..Claims::default()
        };
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        let p = auth.verify(Some(&t), Some("b")).unwrap();
        assert!(p.require("export:read").is_ok());
    }
}
