//! An export's sealed evidence as a client reads it without downloading the bundle:
//! `GET /api/v1/exports/{id}/manifest` answers the bundle's `manifest.json` (files, digests,
//! Merkle root, signing key), read from the stored bundle after verifying it, so what it
//! shows is what `exportctl verify` would accept.

use ec_domain::{ApiError, ArtifactKind, ErrorCode, ExportId, JobStatus, PortError};
use ec_seal::Manifest;

use crate::app::Caller;
use crate::app::exports::Exports;

impl Exports {
    /// The manifest of `export_id`'s sealed bundle; `409` before it is sealed, `410` once
    /// its artifacts are gone.
    pub async fn manifest(
        &self,
        caller: &Caller,
        export_id: &ExportId,
    ) -> Result<Manifest, ApiError> {
        let job = self.get(caller, export_id).await?;
        let Some(sealed) = job.artifact(ArtifactKind::Sealed) else {
            let code = match job.status {
                JobStatus::Expired | JobStatus::Purged => ErrorCode::Expired,
                _ => ErrorCode::NotReady,
            };
            return Err(ApiError::new(
                code,
                format!(
                    "export {export_id} is {} and has no sealed bundle",
                    job.state_label()
                ),
            ));
        };
        let bytes = match self.objects.get(&sealed.key).await {
            Ok(b) => b,
            Err(PortError::NotFound(_)) => {
                return Err(ApiError::new(
                    ErrorCode::Expired,
                    format!("export {export_id}'s sealed bundle is gone"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let verified = tokio::task::spawn_blocking(move || ec_seal::verify(&bytes))
            .await
            .map_err(|e| ApiError::internal(format!("verification stopped: {e}")))?
            .map_err(|e| {
                tracing::error!(export_id = %export_id, error = %e, "a stored bundle does not verify");
                ApiError::internal(format!("the stored bundle does not verify: {e}"))
            })?;
        Ok(verified.manifest)
    }
}
