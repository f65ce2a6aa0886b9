//! Key sets: the JWKS a deployment publishes (`GET /api/v1/keys`, `keys.json`) with each
//! key's validity period, what an auditor trusts (`exportctl verify --trusted-keys`: that
//! JWKS, or PEM public keys), and the rotation settings that make one
//! (`EXPORTCENTER_SIGNING_KEY_NOT_BEFORE`, `EXPORTCENTER_SIGNING_NEXT_NOT_BEFORE`,
//! `EXPORTCENTER_SIGNING_KEYS_RETIRED`). A bundle verifies against a set when it verifies,
//! its key is in the set, and the key was valid when the bundle was sealed.

use ec_domain::env::Env;
use ec_domain::signing_keys::{RetiredKey, SigningKeys};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::{PublicKey, Verified, VerifyError};

pub const ENV_KEY_NOT_BEFORE: &str = "EXPORTCENTER_SIGNING_KEY_NOT_BEFORE";
pub const ENV_NEXT_NOT_BEFORE: &str = "EXPORTCENTER_SIGNING_NEXT_NOT_BEFORE";
pub const ENV_NEXT_KEY_PEM: &str = "EXPORTCENTER_SIGNING_NEXT_KEY_PEM";
pub const ENV_KEYS_RETIRED: &str = "EXPORTCENTER_SIGNING_KEYS_RETIRED";

/// What a published key says of itself when no start is configured: valid since the epoch.
const SINCE_EVER: &str = "1970-01-01T00:00:00Z";

/// One key of a set, with the period it may have signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    pub key: PublicKey,
    pub kid: String,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
}

impl PublishedKey {
    /// Whether the key could sign at `at`: from `not_before` (inclusive) to `not_after`
    /// (exclusive).
    pub fn valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before.is_none_or(|t| t <= at) && self.not_after.is_none_or(|t| at < t)
    }
}

/// A set of keys: published, or trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeySet {
    pub keys: Vec<PublishedKey>,
}

fn rfc3339_field(jwk: &Map<String, Value>, field: &str) -> Result<Option<OffsetDateTime>, String> {
    match jwk.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => ec_domain::time::parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| format!("{field} {s:?} is not an RFC 3339 time")),
        Some(_) => Err(format!("{field} must be an RFC 3339 string")),
    }
}

impl KeySet {
    /// The set a deployment publishes: the current key (until the next key's instant), the
    /// next key (from its instant), and the retired keys.
    pub fn published(keys: &SigningKeys) -> Result<KeySet, String> {
        if keys.ephemeral {
            return Err("no sealing key is configured (this process made its own)".into());
        }
        let mut out = Vec::new();
        let current = PublicKey::from_pem(&keys.current.public_key_pem())?;
        out.push(PublishedKey {
            kid: current.key_id()?,
            key: current,
            not_before: keys.current_since,
            not_after: keys.current_until(),
        });
        if let Some(next) = &keys.next {
            let key = PublicKey::from_pem(&next.signer.public_key_pem())?;
            out.push(PublishedKey {
                kid: key.key_id()?,
                key,
                not_before: Some(next.from),
                not_after: None,
            });
        }
        for r in &keys.retired {
            let key = PublicKey::from_jwk(&Value::Object(r.jwk.clone()))?;
            out.push(PublishedKey {
                kid: key.key_id()?,
                key,
                not_before: r.not_before,
                not_after: Some(r.not_after),
            });
        }
        Ok(KeySet { keys: out })
    }

    /// The JWKS: `{"keys": [{kid, kty, crv, x, y?, use, alg, not_before, not_after?}]}`.
    pub fn to_jwks(&self) -> Result<Value, String> {
        let mut keys = Vec::new();
        for k in &self.keys {
            let mut jwk = k.key.jwk()?;
            jwk["not_before"] = Value::String(
                k.not_before
                    .map(ec_domain::time::rfc3339)
                    .unwrap_or_else(|| SINCE_EVER.into()),
            );
            if let Some(t) = k.not_after {
                jwk["not_after"] = Value::String(ec_domain::time::rfc3339(t));
            }
            keys.push(jwk);
        }
        Ok(json!({ "keys": keys }))
    }

    /// A trusted set from a file's text: a JWKS (each key's `kid` must be its key id), or
    /// one or more SPKI PEM public keys (trusted for any time).
    pub fn parse(text: &str) -> Result<KeySet, String> {
        if text.trim_start().starts_with('{') {
            let doc: Value = serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))?;
            let Some(items) = doc["keys"].as_array() else {
                return Err("not a JWKS: no \"keys\" array".into());
            };
            let mut keys = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let Value::Object(jwk) = item else {
                    return Err(format!("keys[{i}] is not an object"));
                };
                let key = PublicKey::from_jwk(item).map_err(|e| format!("keys[{i}]: {e}"))?;
                let kid = key.key_id()?;
                if let Some(given) = jwk.get("kid").and_then(Value::as_str)
                    && given != kid
                {
                    return Err(format!(
                        "keys[{i}]: kid {given} is not the key's id ({kid})"
                    ));
                }
                keys.push(PublishedKey {
                    kid,
                    key,
                    not_before: rfc3339_field(jwk, "not_before")
                        .map_err(|e| format!("keys[{i}]: {e}"))?,
                    not_after: rfc3339_field(jwk, "not_after")
                        .map_err(|e| format!("keys[{i}]: {e}"))?,
                });
            }
            return Ok(KeySet { keys });
        }
        let mut keys = Vec::new();
        let end = "-----END PUBLIC KEY-----";
        for block in text.split_inclusive(end).filter(|b| b.contains(end)) {
            let key = PublicKey::from_pem(block)?;
            keys.push(PublishedKey {
                kid: key.key_id()?,
                key,
                not_before: None,
                not_after: None,
            });
        }
        if keys.is_empty() {
            return Err("neither a JWKS nor PEM public keys".into());
        }
        Ok(KeySet { keys })
    }
}

/// The ids of every key of `keys`, the current one even when it is ephemeral: which
/// bundles this deployment may have sealed.
pub fn key_ids(keys: &SigningKeys) -> Vec<String> {
    let mut ids = vec![keys.current.key_id()];
    ids.extend(keys.next.iter().map(|n| n.signer.key_id()));
    for r in &keys.retired {
        if let Ok(k) = PublicKey::from_jwk(&Value::Object(r.jwk.clone()))
            && let Ok(id) = k.key_id()
        {
            ids.push(id);
        }
    }
    ids
}

/// What a verification against a trusted set established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedVerified {
    pub verified: Verified,
    /// The trusted key that signed.
    pub key: PublishedKey,
    /// The sealing time its validity was checked at.
    pub sealed_at: OffsetDateTime,
}

/// [`crate::verify`], and the bundle's key must be in `trusted` and valid at the sealing
/// time: the timestamp's when the bundle has one (its TSA checked against `tsa_cas` when
/// given), else the manifest's `created_at`.
pub fn verify_trusted(
    bundle: &[u8],
    trusted: &KeySet,
    tsa_cas: &[String],
) -> Result<TrustedVerified, VerifyError> {
    let verified = crate::verify(bundle)?;
    let Some(key) = trusted.keys.iter().find(|k| k.kid == verified.key_id) else {
        return Err(VerifyError::UntrustedKey {
            expected: format!("one of {} trusted keys", trusted.keys.len()),
            actual: verified.key_id,
        });
    };
    let (sealed_at, sealed_at_text) = match &verified.timestamp {
        Some(t) => {
            let stamped = if tsa_cas.is_empty() {
                t.stamped.clone()
            } else {
                t.trusted_by(tsa_cas)?
            };
            let at = OffsetDateTime::from_unix_timestamp(stamped.unix).map_err(|e| {
                VerifyError::BadTimestamp {
                    reason: e.to_string(),
                }
            })?;
            (at, stamped.time)
        }
        None => {
            let at = ec_domain::time::parse_rfc3339(&verified.created_at).ok_or_else(|| {
                VerifyError::Malformed {
                    path: crate::MANIFEST_PATH.into(),
                    reason: format!(
                        "created_at {:?} is not an RFC 3339 time",
                        verified.created_at
                    ),
                }
            })?;
            (at, verified.created_at.clone())
        }
    };
    if !key.valid_at(sealed_at) {
        let at = |t: Option<OffsetDateTime>| t.map(ec_domain::time::rfc3339);
        return Err(VerifyError::KeyNotValid {
            key_id: key.kid.clone(),
            sealed_at: sealed_at_text,
            not_before: at(key.not_before),
            not_after: at(key.not_after),
        });
    }
    Ok(TrustedVerified {
        key: key.clone(),
        verified,
        sealed_at,
    })
}

/// The rotation settings of a deployment, read through `env`.
#[derive(Debug, Default)]
pub struct Rotation {
    pub current_since: Option<OffsetDateTime>,
    /// The next key's instant and PEM (`EXPORTCENTER_SIGNING_NEXT_KEY_PEM`; on AWS a KMS
    /// key may be named instead, which the AWS wiring reads).
    pub next_from: Option<OffsetDateTime>,
    pub next_pem: Option<String>,
    pub retired: Vec<RetiredKey>,
}

impl Rotation {
    /// The deployment's keys: `current`, and `next` (read by the stack's wiring from
    /// [`ENV_NEXT_KEY_PEM`] or a KMS key) signing from [`ENV_NEXT_NOT_BEFORE`] — both or
    /// neither.
    pub fn keys(
        self,
        current: std::sync::Arc<dyn ec_domain::ports::Signer>,
        next: Option<std::sync::Arc<dyn ec_domain::ports::Signer>>,
    ) -> Result<SigningKeys, String> {
        let next = match (next, self.next_from) {
            (Some(signer), Some(from)) => {
                if self.current_since.is_some_and(|since| since >= from) {
                    return Err(format!(
                        "{ENV_NEXT_NOT_BEFORE} must be after {ENV_KEY_NOT_BEFORE}"
                    ));
                }
                Some(ec_domain::signing_keys::NextKey { from, signer })
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(format!("a next signing key needs {ENV_NEXT_NOT_BEFORE}"));
            }
            (None, Some(_)) => {
                return Err(format!(
                    "{ENV_NEXT_NOT_BEFORE} is set but no next signing key is configured"
                ));
            }
        };
        Ok(SigningKeys {
            current,
            current_since: self.current_since,
            next,
            retired: self.retired,
            ephemeral: false,
        })
    }

    pub fn from_env(env: &dyn Env) -> Result<Rotation, String> {
        let var = |name: &str| env.var(name).filter(|v| !v.trim().is_empty());
        let time_var = |name: &str| -> Result<Option<OffsetDateTime>, String> {
            var(name)
                .map(|v| {
                    ec_domain::time::parse_rfc3339(v.trim())
                        .ok_or_else(|| format!("{name}: {v:?} is not an RFC 3339 time"))
                })
                .transpose()
        };
        let mut retired = Vec::new();
        if let Some(v) = var(ENV_KEYS_RETIRED) {
            // The JWKS itself, or a file holding it.
            let text = if v.trim_start().starts_with('{') {
                v
            } else {
                std::fs::read_to_string(v.trim())
                    .map_err(|e| format!("{ENV_KEYS_RETIRED}: reading {v}: {e}"))?
            };
            let set = KeySet::parse(&text).map_err(|e| format!("{ENV_KEYS_RETIRED}: {e}"))?;
            for k in set.keys {
                let Some(not_after) = k.not_after else {
                    return Err(format!(
                        "{ENV_KEYS_RETIRED}: key {} has no not_after (when it stopped signing)",
                        k.kid
                    ));
                };
                let Value::Object(jwk) = k.key.jwk()? else {
                    return Err("a JWK is an object".into());
                };
                retired.push(RetiredKey {
                    jwk,
                    not_before: k.not_before,
                    not_after,
                });
            }
        }
        Ok(Rotation {
            current_since: time_var(ENV_KEY_NOT_BEFORE)?,
            next_from: time_var(ENV_NEXT_NOT_BEFORE)?,
            next_pem: var(ENV_NEXT_KEY_PEM),
            retired,
        })
    }
}
