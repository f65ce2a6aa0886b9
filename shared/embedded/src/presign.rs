//! Presigned download URLs: an HMAC-SHA256 over the key and the expiry time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PresignError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature is not valid")]
    BadSignature,
}

fn mac(secret: &[u8], key: &str, expires: i64) -> HmacSha256 {
    #[allow(clippy::expect_used)]
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(key.as_bytes());
    m.update(b"\n");
    m.update(expires.to_string().as_bytes());
    m
}

/// Lowercase hex HMAC-SHA256 of `key + "\n" + expires` under `secret`.
pub fn sign_presigned(secret: &[u8], key: &str, expires: i64) -> String {
    hex::encode(mac(secret, key, expires).finalize().into_bytes())
}

/// Checks a presigned link's `sig` for `key` and `expires` (unix seconds). The signature
/// is compared in constant time and checked before the expiry, so a forged link never
/// learns more than "bad signature". The link is valid up to and including `expires`.
pub fn verify_presigned(
    secret: &[u8],
    key: &str,
    expires: i64,
    sig: &str,
    now_unix: i64,
) -> Result<(), PresignError> {
    let sig = hex::decode(sig).map_err(|_| PresignError::BadSignature)?;
    mac(secret, key, expires)
        .verify_slice(&sig)
        .map_err(|_| PresignError::BadSignature)?;
    if now_unix > expires {
        return Err(PresignError::Expired);
    }
    Ok(())
}
