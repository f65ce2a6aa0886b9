//! Which key seals bundles on the AWS stack, read once per cold start:
//!
//! 1. `EXPORTCENTER_SIGNING_KMS_KEY_ID`: the KMS key (ECC_NIST_P256) — production;
//! 2. else `EXPORTCENTER_SIGNING_KEY_PEM`: a PKCS#8 PEM, ed25519 or P-256;
//! 3. else a key generated for this instance — only with
//!    `EXPORTCENTER_ALLOW_EPHEMERAL_KEY=true` (local runs), logged as such; without it the
//!    seal function refuses to start ([`SigningKey::for_sealing`]), since bundles signed by
//!    a key that dies with the instance cannot be pinned to the service. The other
//!    functions never sign, so they start either way.

use std::sync::Arc;

use ec_domain::env::Env;
use ec_domain::ports::Signer;

use crate::config::optional_var;
use crate::wiring::WiringError;

pub const ENV_KMS_KEY_ID: &str = "EXPORTCENTER_SIGNING_KMS_KEY_ID";
pub const ENV_KEY_PEM: &str = "EXPORTCENTER_SIGNING_KEY_PEM";
pub const ENV_ALLOW_EPHEMERAL: &str = "EXPORTCENTER_ALLOW_EPHEMERAL_KEY";

/// The sealing key and where it came from.
#[derive(Clone)]
pub struct SigningKey {
    pub signer: Arc<dyn Signer>,
    /// Generated for this instance; `Some(allowed)` says whether the dev flag allows it.
    pub ephemeral: Option<bool>,
}

impl SigningKey {
    /// The key as the configuration names it (KMS is read through `kms` when named).
    pub async fn load(
        env: &dyn Env,
        kms: impl FnOnce() -> aws_sdk_kms::Client,
    ) -> Result<SigningKey, WiringError> {
        match optional_var(env, ENV_KMS_KEY_ID) {
            Some(key) => {
                let signer = crate::kms::KmsSigner::connect(kms(), &key).await?;
                tracing::info!(kms_key = %key, key_id = %signer.key_id(), "sealing with the KMS key");
                Ok(SigningKey {
                    signer: Arc::new(signer),
                    ephemeral: None,
                })
            }
            None => Self::local(env),
        }
    }

    /// As [`SigningKey::load`] without KMS: a PEM, else an ephemeral key (a KMS key named
    /// here is a wiring error: it needs the asynchronous start-up).
    pub fn local(env: &dyn Env) -> Result<SigningKey, WiringError> {
        if optional_var(env, ENV_KMS_KEY_ID).is_some() {
            return Err(WiringError::Key(format!(
                "{ENV_KMS_KEY_ID} is read at the asynchronous start-up (Aws::resolve)"
            )));
        }
        if let Some(pem) = optional_var(env, ENV_KEY_PEM) {
            let signer: Arc<dyn Signer> = match ec_seal::Ed25519Signer::from_pkcs8_pem(&pem) {
                Ok(s) => Arc::new(s),
                Err(_) => {
                    Arc::new(ec_seal::EcdsaP256Signer::from_pkcs8_pem(&pem).map_err(|_| {
                        WiringError::Key(format!(
                            "{ENV_KEY_PEM} is not a PKCS#8 ed25519 or P-256 private key"
                        ))
                    })?)
                }
            };
            return Ok(SigningKey {
                signer,
                ephemeral: None,
            });
        }
        let allowed = optional_var(env, ENV_ALLOW_EPHEMERAL)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
        Ok(SigningKey {
            signer: Arc::new(ec_seal::Ed25519Signer::generate()),
            ephemeral: Some(allowed),
        })
    }

    /// The key, if bundles may be sealed with it: a configured key, or an ephemeral one
    /// the dev flag allows (logged as a warning each start).
    pub fn for_sealing(&self) -> Result<Arc<dyn Signer>, WiringError> {
        match self.ephemeral {
            None => Ok(self.signer.clone()),
            Some(true) => {
                tracing::warn!(
                    key_id = %self.signer.key_id(),
                    "{ENV_ALLOW_EPHEMERAL}=true: sealing with a key generated for this instance (development only; bundles cannot be pinned to the service)"
                );
                Ok(self.signer.clone())
            }
            Some(false) => Err(WiringError::Key(format!(
                "no sealing key: set {ENV_KMS_KEY_ID} (a KMS ECC_NIST_P256 key) or {ENV_KEY_PEM}; {ENV_ALLOW_EPHEMERAL}=true allows a key per instance for local runs"
            ))),
        }
    }
}
