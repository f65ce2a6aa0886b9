//! One writer per bundle. With a signer whose signatures differ on every call (as KMS's
//! ECDSA signatures do) a second seal of the same export would give other bytes, so a seal
//! message that finds a bundle already written — a worker that died between writing it and
//! marking the job ready, then the message redelivered — verifies and adopts it instead of
//! sealing again; a bundle that does not verify as this export's is never replaced. The
//! published key set is written as `keys.json` beside the bundles.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use ec_domain::messages::QueueName;
use ec_domain::ports::{ObjectStore, PortResult, Signer};
use ec_domain::signing_keys::SigningKeys;
use ec_domain::{ExportId, JobStatus, Stage, TenantId, keys};
use ec_pipeline::app::Caller;
use ec_pipeline::{Outcome, Pipeline};

mod support;
use support::Calls;

/// ECDSA P-256 with a random nonce on every signature, like KMS.
struct Randomized(p256::ecdsa::SigningKey, ec_seal::PublicKey);

#[async_trait]
impl Signer for Randomized {
    fn key_id(&self) -> String {
        self.1.key_id().unwrap()
    }
    fn algorithm(&self) -> &'static str {
        "ecdsa-p256-sha256"
    }
    fn public_key_pem(&self) -> String {
        self.1.to_pem().unwrap()
    }
    async fn sign(&self, message: &[u8]) -> PortResult<Vec<u8>> {
        use p256::ecdsa::signature::hazmat::RandomizedPrehashSigner;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(message);
        let sig: p256::ecdsa::Signature = self
            .0
            .sign_prehash_with_rng(&mut rand::rngs::OsRng, &digest)
            .unwrap();
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

const FIXTURE: &[u8] =
    include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_alpine-310.json");

struct Run {
    pipeline: Pipeline,
    objects: Arc<dyn ObjectStore>,
    queue: Arc<ec_embedded::SqliteQueue>,
    tenant: TenantId,
    export_id: ExportId,
    _e: ec_embedded::Embedded,
    _dir: tempfile::TempDir,
}

/// An export gathered and rendered, its seal message(s) waiting.
async fn rendered() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let e = support::embedded(dir.path()).await;
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let public = ec_seal::PublicKey::P256(*key.verifying_key());
    let mut ports = e.ports.clone();
    ports.signing = SigningKeys::single(Arc::new(Randomized(key, public)));
    let pipeline = support::pipeline(ports.clone());
    let caller = Caller {
        tenant: "acme".parse().unwrap(),
        subject: "alice".into(),
    };
    let scan = pipeline.ingest_scan(&caller, FIXTURE).await.unwrap();
    let req = serde_json::json!({"type": "scan_report", "format": "json",
                                 "scope": {"scan_ids": [scan.scan_id]}});
    let job = pipeline.create_export(&caller, &req, None).await.unwrap();
    let run = Run {
        pipeline,
        objects: ports.objects.clone(),
        queue: e.queue.clone(),
        tenant: caller.tenant,
        export_id: job.export_id,
        _e: e,
        _dir: dir,
    };
    for q in [QueueName::Gather, QueueName::Render] {
        let msg = run.take(q).await;
        assert_eq!(run.pipeline.handle(q, &msg).await.unwrap(), Outcome::Done);
    }
    run
}

impl Run {
    async fn take(&self, queue: QueueName) -> String {
        support::take(&self.queue, queue).await
    }

    fn sealed_key(&self) -> String {
        keys::sealed(&self.tenant, &self.export_id)
    }
}

#[tokio::test]
async fn a_redelivered_seal_adopts_the_bundle_it_finds() {
    let run = rendered().await;
    let seal = run.take(QueueName::Seal).await;
    assert_eq!(
        run.pipeline.handle(QueueName::Seal, &seal).await.unwrap(),
        Outcome::Done
    );
    let first = run.objects.get(&run.sealed_key()).await.unwrap();
    let jobs = support::jobs(&run.pipeline);
    let ready = jobs
        .get(&run.tenant, &run.export_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready.status, JobStatus::Ready);

    // The worker "died" after writing the bundle, before the job became ready.
    let mut sealing = ready.clone();
    sealing.status = JobStatus::Running;
    sealing.stage = Some(Stage::Sealing);
    sealing.artifacts.clear();
    sealing.version = ready.version + 1;
    jobs.update(&sealing, ready.version).await.unwrap();

    assert_eq!(
        run.pipeline.handle(QueueName::Seal, &seal).await.unwrap(),
        Outcome::Done
    );
    let after = run.objects.get(&run.sealed_key()).await.unwrap();
    assert!(after == first, "the bundle was sealed again");
    let job = jobs
        .get(&run.tenant, &run.export_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Ready);
    assert_eq!(
        job.artifacts, ready.artifacts,
        "the same artifacts, digests included"
    );

    // keys.json beside the bundles names the key that sealed it.
    let published: serde_json::Value =
        serde_json::from_slice(&run.objects.get("keys.json").await.unwrap()).unwrap();
    let kid = ec_seal::verify(&first).unwrap().key_id;
    assert_eq!(published["keys"][0]["kid"], kid.as_str(), "{published}");
}

#[tokio::test]
async fn a_bundle_that_does_not_verify_is_never_replaced() {
    let run = rendered().await;
    let garbage = Bytes::from_static(b"\x1f\x8b not a bundle");
    run.objects
        .put(&run.sealed_key(), garbage.clone(), "application/gzip")
        .await
        .unwrap();
    let seal = run.take(QueueName::Seal).await;
    let err = run
        .pipeline
        .handle(QueueName::Seal, &seal)
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("does not verify"), "{err}");
    assert!(run.objects.get(&run.sealed_key()).await.unwrap() == garbage);
}
