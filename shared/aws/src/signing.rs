//! Which keys seal bundles on the AWS stack, read once per cold start:
//!
//! 1. `EXPORTCENTER_SIGNING_KMS_KEY_ID`: the KMS key (ECC_NIST_P256) — production;
//! 2. else `EXPORTCENTER_SIGNING_KEY_PEM`: a PKCS#8 PEM, ed25519 or P-256;
//! 3. else a key generated for this instance — only with
//!    `EXPORTCENTER_ALLOW_EPHEMERAL_KEY=true` (local runs), logged as such; without it the
//!    seal function refuses to start ([`SigningKey::for_sealing`]), since bundles signed by
//!    a key that dies with the instance cannot be pinned to the service. The other
//!    functions never sign, so they start either way.
//!
//! A rotation adds a next key — `EXPORTCENTER_SIGNING_NEXT_KMS_KEY_ID` or
//! `EXPORTCENTER_SIGNING_NEXT_KEY_PEM` — signing from `EXPORTCENTER_SIGNING_NEXT_NOT_BEFORE`,
//! and retired keys are published from `EXPORTCENTER_SIGNING_KEYS_RETIRED` (see
//! `ec_seal::key_set`).

use std::sync::Arc;

use ec_domain::env::Env;
use ec_domain::ports::Signer;
use ec_domain::signing_keys::SigningKeys;
use ec_seal::key_set::Rotation;

use crate::config::optional_var;
use crate::wiring::WiringError;

pub const ENV_KMS_KEY_ID: &str = "EXPORTCENTER_SIGNING_KMS_KEY_ID";
pub const ENV_NEXT_KMS_KEY_ID: &str = "EXPORTCENTER_SIGNING_NEXT_KMS_KEY_ID";
pub const ENV_KEY_PEM: &str = "EXPORTCENTER_SIGNING_KEY_PEM";
pub const ENV_ALLOW_EPHEMERAL: &str = "EXPORTCENTER_ALLOW_EPHEMERAL_KEY";

/// The sealing keys and where the current one came from.
#[derive(Clone)]
pub struct SigningKey {
    pub keys: SigningKeys,
    /// Generated for this instance; `Some(allowed)` says whether the dev flag allows it.
    pub ephemeral: Option<bool>,
}

fn key_error(e: impl std::fmt::Display) -> WiringError {
    WiringError::Key(e.to_string())
}

impl SigningKey {
    /// The keys as the configuration names them (KMS keys are read through `kms`).
    pub async fn load(
        env: &dyn Env,
        kms: impl Fn() -> aws_sdk_kms::Client,
    ) -> Result<SigningKey, WiringError> {
        let rotation = Rotation::from_env(env).map_err(key_error)?;
        let next: Option<Arc<dyn Signer>> = match optional_var(env, ENV_NEXT_KMS_KEY_ID) {
            Some(key) => Some(Arc::new(crate::kms::KmsSigner::connect(kms(), &key).await?)),
            None => local_next(&rotation)?,
        };
        let (current, ephemeral): (Arc<dyn Signer>, _) = match optional_var(env, ENV_KMS_KEY_ID) {
            Some(key) => {
                let signer = crate::kms::KmsSigner::connect(kms(), &key).await?;
                tracing::info!(kms_key = %key, key_id = %signer.key_id(), "sealing with the KMS key");
                (Arc::new(signer), None)
            }
            None => local_current(env)?,
        };
        let mut keys = rotation.keys(current, next).map_err(key_error)?;
        keys.ephemeral = ephemeral.is_some();
        Ok(SigningKey { keys, ephemeral })
    }

    /// As [`SigningKey::load`] without KMS: PEMs, else an ephemeral key (a KMS key named
    /// here is a wiring error: it needs the asynchronous start-up).
    pub fn local(env: &dyn Env) -> Result<SigningKey, WiringError> {
        for var in [ENV_KMS_KEY_ID, ENV_NEXT_KMS_KEY_ID] {
            if optional_var(env, var).is_some() {
                return Err(WiringError::Key(format!(
                    "{var} is read at the asynchronous start-up (Aws::resolve)"
                )));
            }
        }
        let rotation = Rotation::from_env(env).map_err(key_error)?;
        let next = local_next(&rotation)?;
        let (current, ephemeral) = local_current(env)?;
        let mut keys = rotation.keys(current, next).map_err(key_error)?;
        keys.ephemeral = ephemeral.is_some();
        Ok(SigningKey { keys, ephemeral })
    }

    /// The keys, if bundles may be sealed with them: configured keys, or an ephemeral one
    /// the dev flag allows (logged as a warning each start).
    pub fn for_sealing(&self) -> Result<&SigningKeys, WiringError> {
        match self.ephemeral {
            None => Ok(&self.keys),
            Some(true) => {
                tracing::warn!(
                    key_id = %self.keys.current.key_id(),
                    "{ENV_ALLOW_EPHEMERAL}=true: sealing with a key generated for this instance (development only; bundles cannot be pinned to the service)"
                );
                Ok(&self.keys)
            }
            Some(false) => Err(WiringError::Key(format!(
                "no sealing key: set {ENV_KMS_KEY_ID} (a KMS ECC_NIST_P256 key) or {ENV_KEY_PEM}; {ENV_ALLOW_EPHEMERAL}=true allows a key per instance for local runs"
            ))),
        }
    }
}

/// The next key from its PEM, if one is configured.
fn local_next(rotation: &Rotation) -> Result<Option<Arc<dyn Signer>>, WiringError> {
    rotation
        .next_pem
        .as_deref()
        .map(ec_seal::signer_from_pem)
        .transpose()
        .map_err(key_error)
}

/// The current key from its PEM, else a key for this instance (and whether that is allowed).
fn local_current(env: &dyn Env) -> Result<(Arc<dyn Signer>, Option<bool>), WiringError> {
    if let Some(pem) = optional_var(env, ENV_KEY_PEM) {
        let signer = ec_seal::signer_from_pem(&pem)
            .map_err(|e| WiringError::Key(format!("{ENV_KEY_PEM}: {e}")))?;
        return Ok((signer, None));
    }
    let allowed = optional_var(env, ENV_ALLOW_EPHEMERAL)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    Ok((Arc::new(ec_seal::Ed25519Signer::generate()), Some(allowed)))
}
