//! Active expiry and legal hold on the AWS stack, against moto over HTTP
//! (`EC_MOTO_ENDPOINT`): the `export-sweep` handler over the AWS adapters (DynamoDB jobs
//! and audit tables, an S3 bucket with Object Lock, as the template makes it). Two ready
//! exports whose objects have two versions each; one is put under legal hold (an S3 object
//! legal hold on its report and bundle); both retentions end. The sweep deletes every
//! version of the other's objects and marks it `expired`, leaves the held one whole (S3
//! itself refuses to delete a held version), and, once the hold is released, takes it too.
//! The emulator never runs lifecycle rules: this is the only expiry there is.

#[path = "../../shared/aws/tests/common/mod.rs"]
mod common;

use serde_json::{Value, json};

use common::tables::{self, AUDIT, JOBS};
use ec_aws::wiring::AwsAdapters;
use ec_domain::ports::{JobTable, ObjectStore};
use ec_domain::{Artifact, ArtifactKind, ExportId, Job, JobStatus, Transition};
use ec_lambda::aws::Aws;
use ec_pipeline::Pipeline;
use ec_pipeline::app::Caller;

/// A ready export of acme with a report and a bundle, each written twice (two versions).
async fn ready_export(pipeline: &Pipeline, store: &dyn ObjectStore) -> Job {
    let request = ec_domain::ExportRequest::from_json(
        &json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": ["scan-1"]}}),
        "acme",
    )
    .unwrap();
    let steps = &pipeline.stages.steps;
    let mut job = Job::new(
        ExportId::generate(),
        "acme".parse().unwrap(),
        request,
        "alice".into(),
        None,
        ec_domain::time::now(),
    );
    job.retention_days = Some(30);
    steps.jobs.create(&job).await.unwrap();
    job = ec_tests::walk_to_sealing(steps, job).await;
    let mut artifacts = Vec::new();
    for (kind, key) in [
        (
            ArtifactKind::Report,
            ec_domain::keys::report(&job.tenant_id, &job.export_id, job.format),
        ),
        (
            ArtifactKind::Sealed,
            ec_domain::keys::sealed(&job.tenant_id, &job.export_id),
        ),
    ] {
        for body in ["{\"v\":1}", "{\"v\":2}"] {
            store
                .put(&key, body.into(), "application/json")
                .await
                .unwrap();
        }
        artifacts.push(Artifact {
            kind,
            key,
            media_type: "application/json".into(),
            size: 7,
            sha256: ec_domain::ids::sha256_hex(b"{\"v\":2}"),
        });
    }
    steps
        .finish(&job, Transition::Ready { artifacts })
        .await
        .unwrap()
}

/// Every version and delete marker of `job`'s report and bundle.
async fn versions(s3: &aws_sdk_s3::Client, bucket: &str, job: &Job) -> usize {
    let mut n = 0;
    for key in [
        ec_domain::keys::report(&job.tenant_id, &job.export_id, job.format),
        ec_domain::keys::sealed(&job.tenant_id, &job.export_id),
    ] {
        let out = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(&key)
            .send()
            .await
            .unwrap();
        n += out.versions().len() + out.delete_markers().len();
    }
    n
}

/// Moves the end of `job`'s retention (or the end its hold suspended) into the past.
async fn age(jobs: &dyn JobTable, job: &Job) {
    let cur = jobs
        .get(&job.tenant_id, &job.export_id)
        .await
        .unwrap()
        .unwrap();
    let past = ec_domain::time::now() - time::Duration::seconds(5);
    let mut next = cur.clone();
    match next.legal_hold_record.as_mut().filter(|_| cur.legal_hold) {
        Some(r) => r.expires_at_before = Some(past),
        None => next.expires_at = Some(past),
    }
    next.version += 1;
    jobs.update(&next, cur.version).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_function_deletes_every_version_but_not_what_is_held() {
    let sdk = common::moto_config().await;
    let ddb = tables::client().await;
    let store = common::s3_store().await;
    let bucket = store.bucket().to_string();
    let s3 = ec_aws::config::s3_client(&sdk, true);
    let mut env = ec_tests::local_env();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", common::moto_endpoint()),
        ("EXPORTCENTER_BUCKET", bucket.clone()),
        (
            "EXPORTCENTER_JOBS_TABLE",
            tables::create_table(&ddb, "ec-jobs", &JOBS).await,
        ),
        (
            "EXPORTCENTER_AUDIT_TABLE",
            tables::create_table(&ddb, "ec-audit", &AUDIT).await,
        ),
    ] {
        env.insert(k.to_string(), v);
    }
    let aws = Aws::new(std::sync::Arc::new(env), AwsAdapters::from_sdk(sdk.clone())).unwrap();
    let pipeline = aws.pipeline().unwrap();
    let jobs = pipeline.stages.steps.jobs.clone();

    let plain = ready_export(&pipeline, &store).await;
    let held = ready_export(&pipeline, &store).await;
    assert_eq!(versions(&s3, &bucket, &plain).await, 4);
    let auditor = Caller {
        tenant: "acme".parse().unwrap(),
        subject: "auditor".into(),
    };
    let exports = &pipeline.app.exports;
    exports
        .set_legal_hold(&auditor, &held.export_id, true, "case 2026-11")
        .await
        .unwrap();
    let report = &held.artifacts[0].key;
    let status = s3
        .get_object_legal_hold()
        .bucket(&bucket)
        .key(report)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status
            .legal_hold()
            .and_then(|h| h.status())
            .map(|s| s.as_str()),
        Some("ON")
    );

    assert!(
        store.delete(report).await.is_err(),
        "S3 refuses to delete a held version"
    );
    assert_eq!(versions(&s3, &bucket, &held).await, 4);

    // Nothing is due yet.
    let none = ec_lambda::sweep::handle(&pipeline.sweeper).await.unwrap();
    assert_eq!(none, json!({"expired": 0, "skipped": 0, "failed": 0}));

    age(jobs.as_ref(), &plain).await;
    age(jobs.as_ref(), &held).await;
    let first = ec_lambda::sweep::handle(&pipeline.sweeper).await.unwrap();
    assert_eq!(first["expired"], 1, "{first}");
    assert_eq!(first["failed"], 0, "{first}");
    let gone = jobs
        .get(&plain.tenant_id, &plain.export_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.status, JobStatus::Expired);
    assert!(gone.artifacts.is_empty());
    assert_eq!(
        versions(&s3, &bucket, &plain).await,
        0,
        "every version, no delete marker left"
    );
    let kept = jobs
        .get(&held.tenant_id, &held.export_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((kept.status, kept.legal_hold), (JobStatus::Ready, true));
    assert_eq!(versions(&s3, &bucket, &held).await, 4);

    // Released: the retention that ended applies; the next sweep takes it.
    exports
        .set_legal_hold(&auditor, &held.export_id, false, "")
        .await
        .unwrap();
    let second: Value = ec_lambda::sweep::handle(&pipeline.sweeper).await.unwrap();
    assert_eq!(second["expired"], 1, "{second}");
    assert_eq!(versions(&s3, &bucket, &held).await, 0);
    let trail = pipeline
        .app
        .audit
        .list(
            &ec_domain::audit::AuditChain::Tenant("acme".parse().unwrap()),
            &ec_pipeline::app::audit::parse_query(
                None,
                None,
                Some("export.expired"),
                None,
                None,
                None,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(trail.items.len(), 2, "{:?}", trail.items);
}
