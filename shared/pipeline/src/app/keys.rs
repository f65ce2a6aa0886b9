//! `GET /api/v1/keys`: the seal signing keys as a JWKS with each key's validity — the
//! current key, a next key announced ahead of its instant, the retired keys — for anyone
//! holding a valid token, so that an auditor can pin bundles to the service. Made once from
//! the deployment's keys (they change only with its configuration).

use ec_domain::signing_keys::SigningKeys;
use ec_domain::{ApiError, ErrorCode};
use serde_json::Value;

/// The published key set.
#[derive(Clone)]
pub struct Keys {
    jwks: Result<Value, String>,
}

impl Keys {
    pub fn new(keys: &SigningKeys) -> Keys {
        let jwks = ec_seal::KeySet::published(keys).and_then(|set| set.to_jwks());
        if let Err(e) = &jwks {
            tracing::error!(error = %e, "the signing keys cannot be published");
        }
        Keys { jwks }
    }

    /// The JWKS, or why it cannot be given (no sealing key configured on this function, or
    /// a configured key that is not an ed25519 or P-256 public key).
    pub fn jwks(&self) -> Result<&Value, ApiError> {
        self.jwks.as_ref().map_err(|_| {
            ApiError::new(
                ErrorCode::Unavailable,
                "the signing keys cannot be published; see the service's log",
            )
        })
    }
}
