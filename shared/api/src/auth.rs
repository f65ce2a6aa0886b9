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
    /// Required: a token without it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
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

    /// The one tenant a token names, when it names exactly one.
    fn single_tenant(&self) -> Option<&str> {
        match (self.tenant.as_deref(), self.tenants.as_slice()) {
            (Some(t), []) => Some(t),
            (None, [t]) => Some(t.as_str()),
            (Some(t), [u]) if t == u => Some(t),
            _ => None,
        }
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

/// Every scope a token may grant (the contract's), for minting and for help texts.
pub const KNOWN_SCOPES: [&str; 7] = [
    "export:read",
    "export:write",
    "export:admin",
    "scan:write",
    "template:write",
    "destination:write",
    "audit:read",
];

/// Default of `EXPORTCENTER_JWT_LEEWAY_SECS`: clock skew allowed on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Verifies tokens with one HS256 secret.
pub struct Auth {
    decoding: DecodingKey,
    validation: Validation,
}

impl Auth {
    pub fn hs256(secret: &[u8]) -> Auth {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = DEFAULT_LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        Auth {
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// The clock skew allowed on `exp` and `nbf` (`EXPORTCENTER_JWT_LEEWAY_SECS`).
    pub fn with_leeway(mut self, seconds: u64) -> Auth {
        self.validation.leeway = seconds;
        self
    }

    pub fn leeway(&self) -> u64 {
        self.validation.leeway
    }

    /// Checks `token` and that it speaks for `tenant`.
    pub fn verify(&self, token: Option<&str>, tenant: Option<&str>) -> Result<Principal, ApiError> {
        let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthenticated, "a Bearer token is required")
        })?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
                    ErrorKind::InvalidSignature => "the token's signature is invalid",
                    ErrorKind::MissingRequiredClaim(c) if c == "exp" => {
                        "the token has no exp claim (an expiry is required)"
                    }
                    _ => "the token is not a valid HS256 JWT",
                };
                ApiError::new(ErrorCode::Unauthenticated, why)
            })?;
        let claims = data.claims;
        let tenant = match tenant.filter(|t| !t.is_empty()) {
            Some(t) => t,
            // A token for one tenant names it; one for several must say which.
            None => claims.single_tenant().ok_or_else(|| {
                ApiError::new(
                    ErrorCode::BadRequest,
                    "the X-Tenant-Id header is required: the token covers several tenants",
                )
            })?,
        };
        let tenant = TenantId::parse(tenant).map_err(|_| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the tenant is not a valid tenant id ([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
            )
            .with_detail("X-Tenant-Id", "not a valid tenant id")
        })?;
        if !claims.covers_tenant(&tenant) {
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
        exp: Some(now + ttl_secs),
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

    fn sign(claims: &Claims) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn tenant_ids_follow_the_contract() {
        let auth = Auth::hs256(SECRET);
        for bad in ["a/b", "a b", "../../x", "-x", ".x", &"t".repeat(65)] {
            let t = mint(SECRET, "alice", bad, "export:read", 60).unwrap();
            let e = auth.verify(Some(&t), Some(bad)).unwrap_err();
            assert_eq!(e.code, ErrorCode::Unauthenticated, "{bad}");
            assert!(e.message.contains("tenant"), "{bad}: {}", e.message);
            assert!(!e.message.contains(bad) || bad.len() < 20, "{bad}");
        }
        for good in ["acme-corp", "A1.b_c-d", &"t".repeat(64)] {
            let t = mint(SECRET, "alice", good, "export:read", 60).unwrap();
            assert!(auth.verify(Some(&t), Some(good)).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_single_tenant_token_names_the_tenant() {
        let auth = Auth::hs256(SECRET);
        let t = mint(SECRET, "alice", "acme", "export:read", 60).unwrap();
        assert_eq!(auth.verify(Some(&t), None).unwrap().caller.tenant, "acme");
        let many = sign(&Claims {
            tenants: vec!["a".into(), "b".into()],
            scope: Some("export:read".into()),
            exp: Some(now() + 60),
            ..Claims::default()
        });
        let e = auth.verify(Some(&many), None).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("X-Tenant-Id"), "{}", e.message);
    }

    #[test]
    fn exp_is_required_nbf_is_checked_and_the_leeway_is_configured() {
        let auth = Auth::hs256(SECRET).with_leeway(0);
        let no_exp = sign(&Claims {
            tenant: Some("acme".into()),
            ..Claims::default()
        });
        let e = auth.verify(Some(&no_exp), Some("acme")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated);
        assert!(e.message.contains("exp"), "{}", e.message);
        let later = sign(&Claims {
            tenant: Some("acme".into()),
            exp: Some(now() + 600),
            nbf: Some(now() + 300),
            ..Claims::default()
        });
        let e = auth.verify(Some(&later), Some("acme")).unwrap_err();
        assert!(e.message.contains("not valid yet"), "{}", e.message);
        // Just expired: refused with no leeway, accepted within a minute's.
        let just = mint(SECRET, "alice", "acme", "export:read", -5).unwrap();
        assert!(auth.verify(Some(&just), Some("acme")).is_err());
        let lenient = Auth::hs256(SECRET).with_leeway(60);
        assert!(lenient.verify(Some(&just), Some("acme")).is_ok());
        assert_eq!(Auth::hs256(SECRET).leeway(), DEFAULT_LEEWAY_SECS);
        assert_eq!(DEFAULT_LEEWAY_SECS, 60);
    }

    #[test]
    fn tenants_array_and_scp_array_count() {
        let auth = Auth::hs256(SECRET);
        let claims = Claims {
            tenants: vec!["a".into(), "b".into()],
            scp: vec!["export:read".into()],
            exp: Some(time::OffsetDateTime::now_utc().unix_timestamp() + 60),
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
