//! The public keys a bundle may be signed with — ed25519 (the embedded stack's key file)
//! and ECDSA P-256 with SHA-256 (AWS KMS `ECC_NIST_P256`, DER signatures as KMS returns
//! them) — read from SPKI PEM or DER, named by the hex sha256 of their SPKI DER (the
//! manifest's key id), checked against a signature, and written as a JWK for the published
//! key set.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64_URL;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::{DecodePublicKey, EncodePublicKey};
use serde_json::{Value, json};

/// `manifest.json`'s algorithm for ed25519 signatures.
pub const ALGORITHM_ED25519: &str = "ed25519";
/// `manifest.json`'s algorithm for ECDSA P-256 signatures over SHA-256 (DER-encoded).
pub const ALGORITHM_ECDSA_P256: &str = "ecdsa-p256-sha256";

/// A public key that can have sealed a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// From an SPKI PEM (`-----BEGIN PUBLIC KEY-----`) of either kind.
    pub fn from_pem(pem: &str) -> Result<PublicKey, String> {
        let pem = pem.trim();
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::Ed25519(k));
        }
        p256::ecdsa::VerifyingKey::from_public_key_pem(pem)
            .map(PublicKey::P256)
            .map_err(|e| format!("not an ed25519 or P-256 SPKI public key: {e}"))
    }

    /// From SPKI DER (what KMS `GetPublicKey` returns).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, String> {
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::Ed25519(k));
        }
        p256::ecdsa::VerifyingKey::from_public_key_der(der)
            .map(PublicKey::P256)
            .map_err(|e| format!("not an ed25519 or P-256 SPKI public key: {e}"))
    }

    /// The manifest's name of the signatures this key makes.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => ALGORITHM_ED25519,
            PublicKey::P256(_) => ALGORITHM_ECDSA_P256,
        }
    }

    /// SPKI DER.
    pub fn spki_der(&self) -> Result<Vec<u8>, String> {
        let der = match self {
            PublicKey::Ed25519(k) => k.to_public_key_der(),
            PublicKey::P256(k) => k.to_public_key_der(),
        };
        der.map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }

    /// SPKI PEM, LF line ends.
    pub fn to_pem(&self) -> Result<String, String> {
        let pem = match self {
            PublicKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            PublicKey::P256(k) => k.to_public_key_pem(LineEnding::LF),
        };
        pem.map_err(|e| e.to_string())
    }

    /// Lowercase hex sha256 of the SPKI DER.
    pub fn key_id(&self) -> Result<String, String> {
        Ok(crate::sha256_hex(&self.spki_der()?))
    }

    /// Whether `signature` is this key's over `message`: ed25519 strictly (64 bytes);
    /// ECDSA P-256 over SHA-256 of `message`, the signature DER-encoded.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
            PublicKey::P256(k) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|s| k.verify(message, &s).is_ok())
            }
        }
    }

    /// The key as a JWK (RFC 8037 `OKP`/`Ed25519`, RFC 7518 `EC`/`P-256`), with `kid` and
    /// `use: sig`.
    pub fn jwk(&self) -> Result<Value, String> {
        let kid = self.key_id()?;
        Ok(match self {
            PublicKey::Ed25519(k) => json!({
                "kty": "OKP", "crv": "Ed25519", "x": B64_URL.encode(k.as_bytes()),
                "kid": kid, "use": "sig", "alg": "EdDSA",
            }),
            PublicKey::P256(k) => {
                let point = k.to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err("the P-256 point has no coordinates".into());
                };
                json!({
                    "kty": "EC", "crv": "P-256", "x": B64_URL.encode(x), "y": B64_URL.encode(y),
                    "kid": kid, "use": "sig", "alg": "ES256",
                })
            }
        })
    }

    /// From a JWK of either kind (as [`PublicKey::jwk`] writes them).
    pub fn from_jwk(jwk: &Value) -> Result<PublicKey, String> {
        let field = |k: &str| {
            jwk[k]
                .as_str()
                .and_then(|s| B64_URL.decode(s).ok())
                .ok_or_else(|| format!("the JWK's {k} is missing or not base64url"))
        };
        match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
            (Some("OKP"), Some("Ed25519")) => {
                let x: [u8; 32] = field("x")?
                    .try_into()
                    .map_err(|_| "an Ed25519 x has 32 bytes".to_string())?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map(PublicKey::Ed25519)
                    .map_err(|e| e.to_string())
            }
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates have 32 bytes".into());
                }
                let point = p256::EncodedPoint::from_affine_coordinates(
                    x.as_slice().into(),
                    y.as_slice().into(),
                    false,
                );
                p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map(PublicKey::P256)
                    .map_err(|e| e.to_string())
            }
            (kty, crv) => Err(format!(
                "unsupported JWK: kty {kty:?}, crv {crv:?} (Ed25519 or P-256)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use sha2::{Digest, Sha256};

    #[test]
    fn both_kinds_round_trip_and_verify() {
        let ed = crate::Ed25519Signer::generate();
        let ed_key = PublicKey::from_pem(&ec_domain::ports::Signer::public_key_pem(&ed)).unwrap();
        assert_eq!(ed_key.algorithm(), ALGORITHM_ED25519);
        let sk = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let p = PublicKey::P256(*sk.verifying_key());
        for key in [ed_key, p.clone()] {
            let pem = key.to_pem().unwrap();
            assert_eq!(PublicKey::from_pem(&pem).unwrap(), key);
            assert_eq!(
                PublicKey::from_spki_der(&key.spki_der().unwrap()).unwrap(),
                key
            );
            assert_eq!(PublicKey::from_jwk(&key.jwk().unwrap()).unwrap(), key);
            assert_eq!(key.key_id().unwrap().len(), 64);
        }
        // A DER signature over the SHA-256 digest (KMS's DIGEST semantics) verifies.
        let msg = b"DSSEv1 4 type 4 body";
        let sig: p256::ecdsa::Signature = sk.sign_prehash(&Sha256::digest(msg)).unwrap();
        let der = sig.to_der();
        assert!(p.verify(msg, der.as_bytes()));
        assert!(!p.verify(b"another message", der.as_bytes()));
        assert!(!p.verify(msg, &sig.to_bytes()), "raw r||s is not DER");
        assert!(PublicKey::from_pem("not a key").is_err());
        assert!(PublicKey::from_jwk(&json!({"kty": "RSA"})).is_err());
    }
}
