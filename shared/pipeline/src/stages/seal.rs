//! The seal stage: on the report's object-created notification, packs the report and its
//! evidence into a signed, reproducible bundle, stores it, and marks the job ready.

use std::sync::Arc;

use bytes::Bytes;

use ec_domain::ids::{canonical_json, sha256_hex};
use ec_domain::job::TimestampNote;
use ec_domain::messages::ObjectCreated;
use ec_domain::ports::{ObjectStore, Timestamper};
use ec_domain::signing_keys::SigningKeys;
use ec_domain::snapshot::Snapshot;
use ec_domain::{
    Artifact, ArtifactKind, Format, Job, JobStatus, PortError, Stage, StageCode, StageError,
    Transition, keys,
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
    /// Whether this process wrote `keys.json` yet.
    pub keys_published: Arc<std::sync::atomic::AtomicBool>,
    /// The TSA that timestamps bundles, if one is configured.
    pub timestamper: Option<Arc<dyn Timestamper>>,
    /// Fail (retryably) rather than seal without a timestamp.
    pub tsa_required: bool,
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
        // One writer per bundle: a bundle already there (a duplicate event after a seal
        // that died before the job became ready, or a racing worker) is verified and
        // adopted, never sealed again — with ECDSA signatures a second seal would differ.
        let sealed_key = keys::sealed(tenant, export_id);
        let found = match self.existing_bundle(&job, &sealed_key).await? {
            Some(found) => found,
            None => {
                let bundle = self.seal_new(&job, &event.key).await?;
                match self
                    .objects
                    .put_new(&sealed_key, bundle.bytes.clone(), BUNDLE_MEDIA_TYPE)
                    .await
                {
                    Ok(_) => {
                        let mut found =
                            Found::of(&job, &bundle.manifest, &bundle.bytes, bundle.sha256)?;
                        found.timestamp = note_of(bundle.timestamp);
                        found
                    }
                    Err(PortError::ConditionFailed(_)) => {
                        tracing::info!(export_id = %job.export_id, "another worker wrote the bundle first; adopting it");
                        self.existing_bundle(&job, &sealed_key)
                            .await?
                            .ok_or_else(|| {
                                StageError::retryable(
                                    StageCode::Seal,
                                    "the bundle written first is gone",
                                )
                            })?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        self.publish_keys().await;
        let artifacts = vec![
            Artifact {
                kind: ArtifactKind::Report,
                key: event.key.clone(),
                media_type: job.format.media_type().into(),
                size: found.report_size,
                sha256: found.report_sha256,
            },
            Artifact {
                kind: ArtifactKind::Sealed,
                key: sealed_key,
                media_type: BUNDLE_MEDIA_TYPE.into(),
                size: found.size,
                sha256: found.sha256,
            },
        ];
        // The timestamp, or why there is none (a TSA configured only), goes into the same
        // conditional write that makes the job ready.
        let mut job = job;
        if found.timestamp.is_some() {
            job.timestamp = found.timestamp;
        }
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

/// The seal stage's [`ec_seal::Stamper`]: a request for the signature's imprint with a
/// fresh nonce, sent to the TSA, and its answer checked before it goes into the bundle.
struct TsaStamper<'a>(&'a dyn Timestamper);

#[async_trait::async_trait]
impl ec_seal::Stamper for TsaStamper<'_> {
    async fn stamp(&self, signature: &[u8]) -> Result<Vec<u8>, String> {
        let digest = ec_seal::timestamp::imprint(signature);
        let nonce: u64 = rand::random();
        let request = ec_seal::timestamp::request(&digest, nonce)?;
        let answer = self.0.stamp(&request).await.map_err(|e| e.to_string())?;
        ec_seal::timestamp::accept(&answer, &digest, nonce)?;
        Ok(answer)
    }
}

/// What the job says of a bundle's timestamp (nothing without a TSA).
fn note_of(outcome: ec_seal::StampOutcome) -> Option<TimestampNote> {
    match outcome {
        ec_seal::StampOutcome::NotAsked => None,
        ec_seal::StampOutcome::Stamped { time, tsa } => Some(TimestampNote::Stamped { time, tsa }),
        ec_seal::StampOutcome::Failed { reason } => Some(TimestampNote::Failed { reason }),
    }
}

/// What the job records of its bundle.
struct Found {
    size: u64,
    sha256: String,
    report_size: u64,
    report_sha256: String,
    /// Its timestamp, or why it has none (`None` without a TSA).
    timestamp: Option<TimestampNote>,
}

impl Found {
    /// From a bundle's manifest: its report is `report.{ext}`.
    fn of(
        job: &Job,
        manifest: &ec_seal::Manifest,
        bytes: &[u8],
        sha256: String,
    ) -> Result<Found, StageError> {
        let name = format!("report.{}", job.format.extension());
        let report = manifest
            .files
            .iter()
            .find(|f| f.path == name)
            .ok_or_else(|| {
                StageError::permanent(StageCode::Seal, format!("the bundle has no {name}"))
            })?;
        Ok(Found {
            size: bytes.len() as u64,
            sha256,
            report_size: report.size,
            report_sha256: report.sha256.clone(),
            timestamp: None,
        })
    }
}

impl Seal {
    /// Seals the job's report and evidence with the key for its creation time.
    async fn seal_new(&self, job: &Job, report_key: &str) -> Result<ec_seal::Sealed, StageError> {
        let report = self.objects.get(report_key).await?;
        let snapshot = read_snapshot(self.objects.as_ref(), &job.tenant_id, &job.export_id).await?;
        let files = bundle_files(
            job.format,
            job.request.options.include_evidence,
            &snapshot,
            report,
        );
        let stamper = self.timestamper.as_ref().map(|t| TsaStamper(t.as_ref()));
        let sealed = ec_seal::seal_stamped(
            SealInput {
                export_id: job.export_id.to_string(),
                tenant_id: job.tenant_id.to_string(),
                created_at: job.created_at,
                inputs: snapshot.inputs.clone(),
                files,
            },
            self.keys.signer_at(job.created_at).as_ref(),
            stamper.as_ref().map(|s| s as &dyn ec_seal::Stamper),
        )
        .await
        .map_err(|e| StageError::permanent(StageCode::Seal, e.to_string()))?;
        if let ec_seal::StampOutcome::Failed { reason } = &sealed.timestamp {
            if self.tsa_required {
                return Err(StageError::retryable(
                    StageCode::Seal,
                    format!("no timestamp (EXPORTCENTER_TSA_REQUIRED): {reason}"),
                ));
            }
            tracing::warn!(export_id = %job.export_id, reason = %reason, "sealed without a timestamp");
        }
        Ok(sealed)
    }

    /// The bundle already at `key`, if any, once it verifies as this job's, sealed by one
    /// of this deployment's keys. One that does not is an error for good: nothing may
    /// replace a bundle.
    async fn existing_bundle(&self, job: &Job, key: &str) -> Result<Option<Found>, StageError> {
        // One read: a missing bundle is the common case, and a HEAD first would be a second
        // round trip on every seal.
        let bytes = match self.objects.get(key).await {
            Ok(b) => b,
            Err(PortError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let refuse = |why: String| {
            StageError::permanent(
                StageCode::Seal,
                format!("a bundle exists for this export and {why}; it is left as it is"),
            )
        };
        let v = ec_seal::verify(&bytes).map_err(|e| refuse(format!("does not verify: {e}")))?;
        if v.export_id != job.export_id.as_str() || v.tenant_id != job.tenant_id.as_str() {
            return Err(refuse(format!(
                "is export {} of {}",
                v.export_id, v.tenant_id
            )));
        }
        let ours = ec_seal::key_set::key_ids(&self.keys).contains(&v.key_id);
        if !ours {
            return Err(refuse(format!(
                "is sealed by key {}, not one of ours",
                v.key_id
            )));
        }
        let mut found = Found::of(job, &v.manifest, &bytes, sha256_hex(&bytes))?;
        found.timestamp = match (&v.timestamp, &self.timestamper) {
            (Some(t), _) => Some(TimestampNote::Stamped {
                time: t.stamped.time.clone(),
                tsa: t.stamped.tsa.clone(),
            }),
            (None, Some(_)) => Some(TimestampNote::Failed {
                reason: "the bundle found was sealed without a timestamp".into(),
            }),
            (None, None) => None,
        };
        Ok(Some(found))
    }

    /// Writes the published key set as `keys.json` beside the bundles, once per process
    /// (again after a failure, which only logs: sealing does not depend on it).
    async fn publish_keys(&self) {
        if self
            .keys_published
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let jwks = match ec_seal::KeySet::published(&self.keys).and_then(|s| s.to_jwks()) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "the signing keys cannot be published");
                return;
            }
        };
        let body = Bytes::from(serde_json::to_vec_pretty(&jwks).unwrap_or_default());
        match self
            .objects
            .put(KEYS_OBJECT, body, "application/jwk-set+json")
            .await
        {
            Ok(_) => self
                .keys_published
                .store(true, std::sync::atomic::Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "writing keys.json failed; next seal tries again"),
        }
    }
}

/// The key set beside the bundles (the bucket's root on AWS).
pub const KEYS_OBJECT: &str = "keys.json";
const BUNDLE_MEDIA_TYPE: &str = "application/gzip";

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
