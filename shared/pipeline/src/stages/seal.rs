//! The seal stage: on the report's object-created notification, packs the report and its
//! evidence into a signed, reproducible bundle, stores it, and marks the job ready.

use std::sync::Arc;

use bytes::Bytes;

use ec_domain::ids::{canonical_json, sha256_hex};
use ec_domain::messages::ObjectCreated;
use ec_domain::ports::ObjectStore;
use ec_domain::signing_keys::SigningKeys;
use ec_domain::snapshot::Snapshot;
use ec_domain::{
    Artifact, ArtifactKind, Format, JobStatus, Stage, StageCode, StageError, Transition, keys,
};
use ec_seal::{BundleFile, SealInput};

use ec_domain::audit::{AuditAction, AuditChain, AuditDraft, Outcome as AuditOutcome};
use ec_domain::destination::DeliveryEvent;

use crate::Outcome;
use crate::app::Audit;
use crate::jobs::JobSteps;
use crate::stages::read_snapshot;

/// The subject of entries the seal stage records.
pub const SEAL_SUBJECT: &str = "exportcenter:seal";

/// The seal stage and the ports it uses.
#[derive(Clone)]
pub struct Seal {
    pub steps: JobSteps,
    /// Where the report and snapshot are read and the bundle written.
    pub objects: Arc<dyn ObjectStore>,
    /// The keys; the one for the export's creation time seals it.
    pub keys: SigningKeys,
    /// Where `export.sealed` is recorded.
    pub audit: Audit,
}

impl Seal {
    pub async fn handle(&self, event: &ObjectCreated) -> Result<Outcome, StageError> {
        let Some((ref tenant, ref export_id)) = keys::parse_report(&event.key) else {
            return Ok(Outcome::Skipped(format!(
                "{} is not a report key",
                event.key
            )));
        };
        let Some(job) = self.steps.load(tenant, export_id).await? else {
            return Ok(Outcome::Skipped("job not found".into()));
        };
        if keys::report(tenant, export_id, job.format) != event.key {
            return Ok(Outcome::Skipped(format!(
                "{} is not this job's report",
                event.key
            )));
        }
        let job = match (job.status, job.stage) {
            (JobStatus::Running, Some(Stage::Storing)) => {
                self.steps.enter_stage(&job, Stage::Sealing).await?
            }
            // Redelivered after a crash mid-seal: the bundle is reproducible, seal again.
            (JobStatus::Running, Some(Stage::Sealing)) => job,
            // A duplicate notification of a sealed export: its deliveries may not all have
            // been sent (a crash right after the job became ready); starting them again
            // sends only those never attempted, and the deliver stage drops duplicates.
            (JobStatus::Ready, _) => {
                self.steps
                    .start_deliveries(&job, DeliveryEvent::ExportReady)
                    .await?;
                return Ok(Outcome::Skipped("job is ready".into()));
            }
            _ => return Ok(Outcome::Skipped(format!("job is {}", job.state_label()))),
        };
        let report = self.objects.get(&event.key).await?;
        let snapshot = read_snapshot(self.objects.as_ref(), tenant, export_id).await?;
        let report_artifact = Artifact {
            kind: ArtifactKind::Report,
            key: event.key.clone(),
            media_type: job.format.media_type().into(),
            size: report.len() as u64,
            sha256: sha256_hex(&report),
        };
        let files = bundle_files(
            job.format,
            job.request.options.include_evidence,
            &snapshot,
            report,
        );
        let sealed = ec_seal::seal(
            SealInput {
                export_id: job.export_id.to_string(),
                tenant_id: job.tenant_id.to_string(),
                created_at: job.created_at,
                inputs: snapshot.inputs.clone(),
                files,
            },
            self.keys.signer_at(job.created_at).as_ref(),
        )
        .await
        .map_err(|e| StageError::permanent(StageCode::Seal, e.to_string()))?;
        let sealed_key = keys::sealed(tenant, export_id);
        let size = sealed.bytes.len() as u64;
        self.objects
            .put(&sealed_key, sealed.bytes, "application/gzip")
            .await?;
        let artifacts = vec![
            report_artifact,
            Artifact {
                kind: ArtifactKind::Sealed,
                key: sealed_key,
                media_type: "application/gzip".into(),
                size,
                sha256: sealed.sha256,
            },
        ];
        let ready = self
            .steps
            .finish(&job, Transition::Ready { artifacts })
            .await?;
        // Only the delivery that made the job ready gets here (a duplicate's transition
        // loses), so the trail has one `export.sealed` per export.
        self.audit
            .record(AuditDraft {
                chain: AuditChain::Tenant(ready.tenant_id.clone()),
                at: ec_domain::time::now(),
                subject: SEAL_SUBJECT.into(),
                action: AuditAction::ExportSealed,
                resource: format!("/api/v1/exports/{}", ready.export_id),
                outcome: AuditOutcome::Success,
                status: 200,
                trace_id: ready.export_id.to_string(),
                source_ip: None,
                user_agent: None,
            })
            .await;
        Ok(Outcome::Done)
    }
}

/// The report, and with `include_evidence` every gathered input as its own file. Each input
/// file holds exactly the bytes whose digest the snapshot (and so the manifest) records.
pub fn bundle_files(
    format: Format,
    include_evidence: bool,
    snapshot: &Snapshot,
    report: Bytes,
) -> Vec<BundleFile> {
    let mut files = vec![BundleFile {
        path: format!("report.{}", format.extension()),
        media_type: format.media_type().into(),
        bytes: report,
    }];
    if !snapshot.audit.is_empty() {
        // The audit trail the report shows, verifiable with `exportctl audit verify`.
        let lines: Vec<String> = snapshot
            .audit
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .collect();
        files.push(BundleFile {
            path: "evidence/audit-trail.jsonl".into(),
            media_type: "application/jsonl".into(),
            bytes: Bytes::from(lines.join("\n") + "\n"),
        });
    }
    if include_evidence {
        for s in &snapshot.scans {
            let dir = format!("evidence/{}", s.scan.scan_id);
            let mut add = |name: &str, bytes: Bytes| {
                files.push(BundleFile {
                    path: format!("{dir}/{name}"),
                    media_type: "application/json".into(),
                    bytes,
                })
            };
            add("scan.json", Bytes::from(canonical_json(&s.scan)));
            add("verdicts.json", Bytes::from(canonical_json(&s.verdicts)));
            add("vex.json", Bytes::from(canonical_json(&s.vex)));
            if let Some(sbom) = &s.sbom {
                add("sbom.json", Bytes::from(canonical_json(sbom)));
            }
        }
    }
    files
}
