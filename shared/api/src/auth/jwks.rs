//! The identity provider's signing keys: fetched from `EXPORTCENTER_JWKS_URL` (or the
//! `jwks_uri` of `EXPORTCENTER_OIDC_ISSUER`'s discovery document), cached, and refetched when
//! they grow old or a token names a key id the cache does not hold — at most once per
//! `min_refetch` (a minute by default), so a flood of tokens with made-up key ids never
//! becomes a flood of requests to the provider. Only signature keys of the accepted
//! algorithms are kept: symmetric (`oct`) keys are never used, which closes HS/RS confusion.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use tokio::sync::Mutex;

use ec_domain::{ApiError, ErrorCode};

/// The algorithms a provider's token may use.
pub const ACCEPTED: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// A response larger than this is not a key set.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Where the keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// `EXPORTCENTER_JWKS_URL`.
    Url(String),
    /// `EXPORTCENTER_OIDC_ISSUER`: its `/.well-known/openid-configuration` names the key set.
    Discovery { issuer: String },
}

struct Key {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct State {
    keys: Vec<Key>,
    jwks_url: Option<String>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl State {
    fn may_fetch(&self, min_refetch: Duration) -> bool {
        self.attempted_at.is_none_or(|t| t.elapsed() >= min_refetch)
    }

    /// The key for a token's `kid` and `alg`, or why there is none.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, Miss> {
        let matching: Vec<&Key> = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None => self.keys.iter().filter(|k| k.alg == alg).collect(),
        };
        match matching.as_slice() {
            [] => Err(Miss::Unknown),
            [k] if k.alg == alg => Ok(k.key.clone()),
            [k] => Err(Miss::WrongAlgorithm(k.alg)),
            _ if kid.is_none() => Err(Miss::Ambiguous),
            many => many
                .iter()
                .find(|k| k.alg == alg)
                .map(|k| k.key.clone())
                .ok_or(Miss::WrongAlgorithm(many[0].alg)),
        }
    }
}

enum Miss {
    Unknown,
    WrongAlgorithm(Algorithm),
    Ambiguous,
}

/// The cached key set of one provider.
pub struct KeyCache {
    source: JwksSource,
    http: reqwest::Client,
    min_refetch: Duration,
    max_age: Duration,
    state: Mutex<State>,
}

impl KeyCache {
    pub fn new(source: JwksSource, min_refetch: Duration, max_age: Duration) -> KeyCache {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_default();
        KeyCache {
            source,
            http,
            min_refetch,
            max_age,
            state: Mutex::new(State::default()),
        }
    }

    /// The key that verifies a token with this `kid` and `alg`.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, ApiError> {
        let mut st = self.state.lock().await;
        let old = st.fetched_at.is_none_or(|t| t.elapsed() >= self.max_age);
        if old && st.may_fetch(self.min_refetch) {
            self.refresh(&mut st).await;
        }
        let miss = match st.find(kid, alg) {
            Ok(k) => return Ok(k),
            Err(Miss::Unknown) if st.may_fetch(self.min_refetch) => {
                self.refresh(&mut st).await;
                match st.find(kid, alg) {
                    Ok(k) => return Ok(k),
                    Err(m) => m,
                }
            }
            Err(m) => m,
        };
        if st.fetched_at.is_none() {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "the identity provider's signing keys could not be fetched; try again shortly",
            ));
        }
        let why = match (miss, kid) {
            (Miss::Unknown, Some(_)) => {
                "the token's key id (kid) is not in the identity provider's key set".to_string()
            }
            (Miss::Unknown, None) => {
                format!("the token has no key id (kid) and the key set has no {alg:?} key")
            }
            (Miss::Ambiguous, _) => {
                "the token has no key id (kid) and the key set has several keys".to_string()
            }
            (Miss::WrongAlgorithm(has), _) => {
                format!("the token says {alg:?} but its key (kid) is a {has:?} key")
            }
        };
        Err(ApiError::new(ErrorCode::Unauthenticated, why))
    }

    /// Fetches the key set; on failure keeps the keys it had (and logs why).
    async fn refresh(&self, st: &mut State) {
        st.attempted_at = Some(Instant::now());
        match self.fetch(st).await {
            Ok(keys) => {
                tracing::info!(
                    keys = keys.len(),
                    "fetched the identity provider's signing keys"
                );
                st.keys = keys;
                st.fetched_at = Some(Instant::now());
            }
            Err(why) => {
                tracing::warn!(error = %why, "could not fetch the identity provider's signing keys")
            }
        }
    }

    async fn fetch(&self, st: &mut State) -> Result<Vec<Key>, String> {
        let url = match (&self.source, &st.jwks_url) {
            (JwksSource::Url(u), _) => u.clone(),
            (JwksSource::Discovery { .. }, Some(u)) => u.clone(),
            (JwksSource::Discovery { issuer }, None) => {
                let u = self.discover(issuer).await?;
                st.jwks_url = Some(u.clone());
                u
            }
        };
        let doc: KeySetDocument = self.get_json(&url).await?;
        Ok(doc.keys.iter().filter_map(usable_key).collect())
    }

    async fn discover(&self, issuer: &str) -> Result<String, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc: Discovery = self.get_json(&url).await?;
        if doc.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(format!(
                "the discovery document names issuer {:?}, not {issuer:?}",
                doc.issuer
            ));
        }
        Ok(doc.jwks_uri)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let mut resp = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: status {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("GET {url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not the expected JSON: {e}"))
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct KeySetDocument {
    keys: Vec<serde_json::Value>,
}

/// A key this service may verify with: a signature key of an accepted algorithm. Keys it
/// cannot use (encryption keys, symmetric keys, other curves, unparseable entries) are
/// skipped, so one odd entry never hides the others.
fn usable_key(value: &serde_json::Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    let declared = match alg {
        Algorithm::RS256 => KeyAlgorithm::RS256,
        Algorithm::ES256 => KeyAlgorithm::ES256,
        _ => KeyAlgorithm::EdDSA,
    };
    if jwk.common.key_algorithm.is_some_and(|a| a != declared) {
        return None;
    }
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key: DecodingKey::from_jwk(&jwk).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_signature_keys_of_accepted_algorithms_are_kept() {
        let rsa = json!({"kty": "RSA", "kid": "r", "n": "sXchAQAB", "e": "AQAB"});
        let oct = json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"});
        let enc = json!({"kty": "RSA", "kid": "e", "use": "enc", "n": "sXchAQAB", "e": "AQAB"});
        let ps = json!({"kty": "RSA", "kid": "p", "alg": "PS256", "n": "sXchAQAB", "e": "AQAB"});
        let p384 = json!({"kty": "EC", "kid": "c", "crv": "P-384", "x": "AA", "y": "AA"});
        let odd = json!({"kty": "nope"});
        assert!(usable_key(&rsa).is_some_and(|k| k.alg == Algorithm::RS256));
        for k in [oct, enc, ps, p384, odd] {
            assert!(usable_key(&k).is_none(), "{k}");
        }
    }
}
