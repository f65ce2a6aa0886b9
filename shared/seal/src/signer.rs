//! The in-process signers — ed25519 (the embedded stack's key file) and ECDSA P-256 with
//! KMS's `DIGEST` semantics (what the KMS signer does remotely, for tests and for a PEM
//! key on AWS) — and public-key helpers.

use std::io::Write;
use std::path::Path;

use async_trait::async_trait;
use ec_domain::error::PortError;
use ec_domain::ports::{PortResult, Signer};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::spki::{DecodePublicKey, EncodePublicKey};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::SealError;

/// Parses an SPKI PEM (`-----BEGIN PUBLIC KEY-----`) ed25519 public key.
pub fn parse_public_key_pem(pem: &str) -> Result<VerifyingKey, String> {
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| e.to_string())
}

/// Key id: lowercase hex sha256 of the SPKI DER encoding of the public key.
pub(crate) fn key_id(key: &VerifyingKey) -> Result<String, String> {
    let der = key.to_public_key_der().map_err(|e| e.to_string())?;
    Ok(crate::sha256_hex(der.as_bytes()))
}

/// Key id of an SPKI PEM public key, ed25519 or P-256 (the hex sha256 of its SPKI DER).
pub fn key_id_of_pem(pem: &str) -> Result<String, String> {
    crate::PublicKey::from_pem(pem)?.key_id()
}

/// A signer from a PKCS#8 PEM private key, ed25519 or P-256.
pub fn signer_from_pem(pem: &str) -> Result<std::sync::Arc<dyn Signer>, SealError> {
    if let Ok(s) = Ed25519Signer::from_pkcs8_pem(pem) {
        return Ok(std::sync::Arc::new(s));
    }
    EcdsaP256Signer::from_pkcs8_pem(pem)
        .map(|s| std::sync::Arc::new(s) as std::sync::Arc<dyn Signer>)
        .map_err(|_| SealError::Key("not a PKCS#8 ed25519 or P-256 private key".into()))
}

/// An in-process ECDSA P-256 key that signs as AWS KMS does with `MessageType: DIGEST` and
/// `ECDSA_SHA_256`: the message's SHA-256 is computed here and signed as given (no second
/// hash), the signature DER-encoded. Verifiers hash the message with SHA-256 and check.
pub struct EcdsaP256Signer {
    key: p256::ecdsa::SigningKey,
    key_id: String,
    public_pem: String,
}

impl std::fmt::Debug for EcdsaP256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaP256Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl EcdsaP256Signer {
    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) P-256 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SealError> {
        let key = p256::ecdsa::SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| SealError::Key(format!("not a PKCS#8 P-256 private key: {e}")))?;
        Self::from_key(key)
    }

    /// A fresh key (tests).
    pub fn generate() -> Result<Self, SealError> {
        Self::from_key(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
    }

    fn from_key(key: p256::ecdsa::SigningKey) -> Result<Self, SealError> {
        let public = crate::PublicKey::P256(*key.verifying_key());
        Ok(EcdsaP256Signer {
            key_id: public.key_id().map_err(SealError::Key)?,
            public_pem: public.to_pem().map_err(SealError::Key)?,
            key,
        })
    }

    /// The private key as PKCS#8 PEM (zeroised on drop).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, SealError> {
        use p256::pkcs8::EncodePrivateKey as _;
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| SealError::Key(e.to_string()))
    }
}

#[async_trait]
impl Signer for EcdsaP256Signer {
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn algorithm(&self) -> &'static str {
        crate::ALGORITHM_ECDSA_P256
    }

    fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    async fn sign(&self, message: &[u8]) -> PortResult<Vec<u8>> {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(message);
        let signature: p256::ecdsa::Signature = self
            .key
            .sign_prehash(&digest)
            .map_err(|e| PortError::Invalid(format!("signing the digest: {e}")))?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// An in-process ed25519 key. `key_id` is the hex sha256 of the SPKI DER public key.
pub struct Ed25519Signer {
    key: SigningKey,
    key_id: String,
    public_pem: String,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Ed25519Signer {
    fn from_key(key: SigningKey) -> Result<Self, SealError> {
        let public = key.verifying_key();
        let key_id = key_id(&public).map_err(SealError::Key)?;
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SealError::Key(e.to_string()))?;
        Ok(Ed25519Signer {
            key,
            key_id,
            public_pem,
        })
    }

    /// A fresh key from the OS random number generator.
    pub fn generate() -> Self {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let public = key.verifying_key();
        // Encoding a valid in-memory ed25519 key cannot fail; fall back to empty strings
        // rather than panic (sealing would then refuse the key).
        let key_id = key_id(&public).unwrap_or_default();
        let public_pem = public.to_public_key_pem(LineEnding::LF).unwrap_or_default();
        Ed25519Signer {
            key,
            key_id,
            public_pem,
        }
    }

    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SealError> {
        let key = SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| SealError::Key(format!("not a PKCS#8 ed25519 private key: {e}")))?;
        Self::from_key(key)
    }

    /// The private key as PKCS#8 PEM (zeroised on drop).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, SealError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| SealError::Key(e.to_string()))
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Loads the PKCS#8 PEM key at `path`, or creates it (mode 0600, parent directories
    /// created) when the file does not exist. Creation is atomic: a temporary file is
    /// written and linked into place without overwriting, so concurrent callers end up with
    /// the same key.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        match std::fs::read_to_string(path) {
            Ok(pem) => return Self::from_pkcs8_pem(&pem),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(SealError::io(format!("reading {}", path.display()), e)),
        }
        let signer = Self::generate();
        let pem = signer.to_pkcs8_pem()?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| SealError::io(format!("creating {}", dir.display()), e))?;
        let ctx = |what: &str| format!("{what} {}", path.display());
        // NamedTempFile is created 0600 on Unix.
        let mut tmp =
            tempfile::NamedTempFile::new_in(dir).map_err(|e| SealError::io(ctx("creating"), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| SealError::io(ctx("chmod"), e))?;
        }
        tmp.write_all(pem.as_bytes())
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| SealError::io(ctx("writing"), e))?;
        match tmp.persist_noclobber(path) {
            Ok(_) => Ok(signer),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                // Someone else created it first: use theirs.
                let pem =
                    std::fs::read_to_string(path).map_err(|e| SealError::io(ctx("reading"), e))?;
                Self::from_pkcs8_pem(&pem)
            }
            Err(e) => Err(SealError::io(ctx("persisting"), e.error)),
        }
    }
}

#[async_trait]
impl Signer for Ed25519Signer {
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn algorithm(&self) -> &'static str {
        crate::ALGORITHM_ED25519
    }

    fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    async fn sign(&self, message: &[u8]) -> PortResult<Vec<u8>> {
        if self.key_id.is_empty() {
            return Err(PortError::Invalid(
                "ed25519 key could not be encoded".into(),
            ));
        }
        Ok(self.key.sign(message).to_bytes().to_vec())
    }
}
