//! The AWS KMS signer (`EXPORTCENTER_SIGNING_KMS_KEY_ID`, key spec `ECC_NIST_P256`): the
//! private key never leaves KMS. A message is signed as its SHA-256 digest with
//! `MessageType: DIGEST` and `ECDSA_SHA_256` — KMS takes `RAW` messages only up to 4,096
//! bytes and a DSSE PAE is larger — and the DER signature KMS returns is kept as it is
//! (securesystemslib's KMS signer and cosign verify DER). The public key is read once, at
//! start-up (`GetPublicKey`), for the key id and the bundle's `keys/signing.pub.pem`.

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use ec_domain::PortError;
use ec_domain::ports::{PortResult, Signer};
use ec_seal::PublicKey;
use sha2::{Digest, Sha256};

use crate::sdk_error::port_error;

/// [`Signer`] over one KMS key.
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    /// The KMS key id, ARN or alias.
    kms_key: String,
    key_id: String,
    public_pem: String,
}

impl std::fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSigner")
            .field("kms_key", &self.kms_key)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl KmsSigner {
    /// Reads `kms_key`'s public key and checks that it is a P-256 signing key that can sign
    /// with `ECDSA_SHA_256`.
    pub async fn connect(
        client: aws_sdk_kms::Client,
        kms_key: &str,
    ) -> Result<KmsSigner, PortError> {
        let out = client
            .get_public_key()
            .key_id(kms_key)
            .send()
            .await
            .map_err(|e| port_error("reading the KMS signing key's public key", e))?;
        // The public key itself says what the key is (moto leaves `KeySpec` out).
        let der = out
            .public_key()
            .ok_or_else(|| PortError::Invalid(format!("KMS key {kms_key} has no public key")))?;
        let public = match PublicKey::from_spki_der(der.as_ref()) {
            Ok(p @ PublicKey::P256(_)) => p,
            _ => {
                return Err(PortError::Invalid(format!(
                    "KMS key {kms_key} is {:?}, not an ECC_NIST_P256 signing key",
                    out.key_spec()
                )));
            }
        };
        let algorithms = out.signing_algorithms();
        if !algorithms.is_empty() && !algorithms.contains(&SigningAlgorithmSpec::EcdsaSha256) {
            return Err(PortError::Invalid(format!(
                "KMS key {kms_key} cannot sign with ECDSA_SHA_256"
            )));
        }
        Ok(KmsSigner {
            client,
            kms_key: kms_key.to_string(),
            key_id: public.key_id().map_err(PortError::Invalid)?,
            public_pem: public.to_pem().map_err(PortError::Invalid)?,
        })
    }
}

#[async_trait]
impl Signer for KmsSigner {
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn algorithm(&self) -> &'static str {
        ec_seal::ALGORITHM_ECDSA_P256
    }

    fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    async fn sign(&self, message: &[u8]) -> PortResult<Vec<u8>> {
        let digest = Sha256::digest(message);
        let out = self
            .client
            .sign()
            .key_id(&self.kms_key)
            .message(Blob::new(digest.to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| port_error("signing with KMS", e))?;
        out.signature()
            .map(|s| s.as_ref().to_vec())
            .ok_or_else(|| PortError::Invalid("KMS returned no signature".into()))
    }
}
