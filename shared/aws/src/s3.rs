//! [`ObjectStore`] on one S3 bucket.
//!
//! Every write carries a SHA-256 checksum (S3 verifies it) and asks for SSE-S3 (`AES256`).
//! Bodies above the multipart threshold go up in parts; a failed multipart upload is
//! aborted so no parts linger. Keys follow the same rules as the embedded store (see
//! [`validate_key`]), so a key that works on one stack works on the other.
//!
//! On AWS the bucket's own event notification (S3 → SQS, `reports/` prefix) drives the
//! seal stage, so by default this adapter sends nothing itself. Where no such notification
//! exists (an emulator), [`S3ObjectStore::with_notifications`] makes it send an
//! [`ObjectCreated`] message to [`QueueName::Seal`] after each report put, exactly as the
//! embedded store does.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ServerSideEncryption,
};
use bytes::Bytes;
use ec_domain::PortError;
use ec_domain::env::Env;
use ec_domain::ports::{ObjectMeta, ObjectStore, PortResult, WorkQueue};
use tokio::task::JoinSet;

use crate::config::required_var;
use crate::sdk_error::{ErrorClass, classify, port_error, sdk_error_status};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Environment variable naming the artifact bucket.
pub const ENV_BUCKET: &str = "EXPORTCENTER_BUCKET";

/// Bodies larger than this go up as a multipart upload (default).
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;
/// Part size of multipart uploads (default).
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// S3's largest number of parts.
const MAX_PARTS: usize = 10_000;
/// The longest lifetime of a SigV4 presigned URL.
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";
/// Concurrent HEAD requests while listing (ListObjectsV2 carries no content type).
const LIST_HEAD_CONCURRENCY: usize = 8;

pub use ec_domain::keys::validate_key;
use ec_domain::keys::{validate_media_type, validate_prefix};

/// [`ObjectStore`] on an S3 bucket.
#[derive(Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    notifications: Option<Arc<dyn WorkQueue>>,
    multipart_threshold: usize,
    part_size: usize,
}

impl std::fmt::Debug for S3ObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3ObjectStore")
            .field("bucket", &self.bucket)
            .field("notifications", &self.notifications.is_some())
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl S3ObjectStore {
    /// A store on `bucket`, multipart above 16 MiB in 8 MiB parts, no notifications.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3ObjectStore {
            client,
            bucket: bucket.into(),
            notifications: None,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// A store on the bucket named by `EXPORTCENTER_BUCKET` in `env`.
    pub fn from_vars(env: &dyn Env, client: Client) -> PortResult<Self> {
        Ok(S3ObjectStore::new(client, required_var(env, ENV_BUCKET)?))
    }

    /// Bodies larger than `threshold` bytes go up in parts of `part_size` bytes (raised if
    /// the body would need more than 10 000 parts). S3 refuses parts below
    /// [`MIN_PART_SIZE`] (all but the last) when the upload completes; the upload is then
    /// aborted and the put fails.
    pub fn with_multipart(mut self, threshold: usize, part_size: usize) -> Self {
        self.multipart_threshold = threshold;
        self.part_size = part_size.max(1);
        self
    }

    /// Sends an [`ObjectCreated`] message to [`QueueName::Seal`] after each put of a
    /// `reports/` key, for setups without an S3 bucket notification.
    pub fn with_notifications(mut self, queue: Arc<dyn WorkQueue>) -> Self {
        self.notifications = Some(queue);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn put_single(
        &self,
        key: &str,
        body: Bytes,
        media_type: &str,
        only_new: bool,
    ) -> PortResult<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(only_new.then(|| "*".to_string()))
            .content_type(media_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| write_error(&format!("cannot put s3://{}/{key}", self.bucket), e))?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        key: &str,
        body: Bytes,
        media_type: &str,
        only_new: bool,
    ) -> PortResult<()> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(media_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(|e| {
                port_error(
                    &format!(
                        "cannot start multipart upload of s3://{}/{key}",
                        self.bucket
                    ),
                    e,
                )
            })?;
        let upload_id = created.upload_id().ok_or_else(|| {
            PortError::Backend(format!(
                "multipart upload of s3://{}/{key} has no upload id",
                self.bucket
            ))
        })?;
        match self.upload_parts(key, upload_id, body, only_new).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let aborted = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .send()
                    .await;
                if let Err(abort) = aborted {
                    tracing::warn!(
                        bucket = %self.bucket,
                        key,
                        upload_id,
                        error = %aws_smithy_types::error::display::DisplayErrorContext(&abort),
                        "cannot abort failed multipart upload"
                    );
                }
                Err(e)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        body: Bytes,
        only_new: bool,
    ) -> PortResult<()> {
        let part_size = self.part_size.max(body.len().div_ceil(MAX_PARTS));
        let mut parts = Vec::with_capacity(body.len().div_ceil(part_size));
        let mut start = 0usize;
        let mut number = 1i32;
        while start < body.len() {
            let end = start.saturating_add(part_size).min(body.len());
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .body(ByteStream::from(body.slice(start..end)))
                .send()
                .await
                .map_err(|e| {
                    port_error(
                        &format!("cannot upload part {number} of s3://{}/{key}", self.bucket),
                        e,
                    )
                })?;
            let mut part = CompletedPart::builder().part_number(number);
            if let Some(etag) = out.e_tag() {
                part = part.e_tag(etag);
            }
            if let Some(sum) = out.checksum_sha256() {
                part = part.checksum_sha256(sum);
            }
            parts.push(part.build());
            start = end;
            number += 1;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .set_if_none_match(only_new.then(|| "*".to_string()))
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                write_error(
                    &format!(
                        "cannot complete multipart upload of s3://{}/{key}",
                        self.bucket
                    ),
                    e,
                )
            })?;
        Ok(())
    }

    /// `put` and `put_new`: the write, then the seal stage's notification for a report.
    async fn put_object(
        &self,
        key: &str,
        body: Bytes,
        media_type: &str,
        only_new: bool,
    ) -> PortResult<ObjectMeta> {
        validate_key(key)?;
        validate_media_type(media_type)?;
        let size = body.len() as u64;
        if body.len() > self.multipart_threshold {
            self.put_multipart(key, body, media_type, only_new).await?;
        } else {
            self.put_single(key, body, media_type, only_new).await?;
        }
        let meta = ObjectMeta {
            key: key.to_string(),
            size,
            media_type: media_type.to_string(),
        };
        if let Some(queue) = &self.notifications {
            ec_domain::messages::notify_if_report(queue.as_ref(), &meta).await?;
        }
        Ok(meta)
    }
}

/// An error of a write: S3 refusing a conditional write (`412 PreconditionFailed`: the key
/// exists) is a lost race, `ConditionFailed`; `409 ConditionalRequestConflict` (a concurrent
/// conditional write in flight) is worth retrying; anything else as every SDK error.
fn write_error<E>(context: &str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match (err.code(), sdk_error_status(&err)) {
        (Some("PreconditionFailed"), _) | (_, Some(412)) => {
            PortError::ConditionFailed(format!("{context}: the object exists"))
        }
        (Some("ConditionalRequestConflict"), _) => {
            PortError::Unavailable(format!("{context}: a concurrent conditional write"))
        }
        _ => port_error(context, err),
    }
}

/// HEAD of one object; `None` when it does not exist.
async fn head_object(client: &Client, bucket: &str, key: &str) -> PortResult<Option<ObjectMeta>> {
    match client.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(ObjectMeta {
            key: key.to_string(),
            size: out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            media_type: out
                .content_type()
                .filter(|t| !t.is_empty())
                .unwrap_or(DEFAULT_MEDIA_TYPE)
                .to_string(),
        })),
        // HEAD answers carry no body, so any 404 (a missing bucket too) reads as "no object".
        Err(e)
            if matches!(e.as_service_error(), Some(HeadObjectError::NotFound(_)))
                || classify(&e) == ErrorClass::NotFound
                || sdk_error_status(&e) == Some(404) =>
        {
            Ok(None)
        }
        Err(e) => Err(port_error(&format!("cannot head s3://{bucket}/{key}"), e)),
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, body: Bytes, media_type: &str) -> PortResult<ObjectMeta> {
        self.put_object(key, body, media_type, false).await
    }

    async fn put_new(&self, key: &str, body: Bytes, media_type: &str) -> PortResult<ObjectMeta> {
        self.put_object(key, body, media_type, true).await
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        validate_key(key)?;
        // Every version and delete marker of exactly this key (the bucket is versioned
        // under Object Lock; an unversioned bucket lists one "null" version).
        let mut versions: Vec<Option<String>> = Vec::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .map_err(|e| {
                    port_error(
                        &format!("cannot list versions of s3://{}/{key}", self.bucket),
                        e,
                    )
                })?;
            for v in page.versions() {
                if v.key() == Some(key) {
                    versions.push(v.version_id().map(str::to_string));
                }
            }
            for m in page.delete_markers() {
                if m.key() == Some(key) {
                    versions.push(m.version_id().map(str::to_string));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
        for version in versions {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .set_version_id(version)
                .send()
                .await
                .map_err(|e| {
                    if e.code() == Some("AccessDenied") || sdk_error_status(&e) == Some(403) {
                        PortError::Invalid(format!(
                            "s3://{}/{key} is under legal hold",
                            self.bucket
                        ))
                    } else {
                        port_error(&format!("cannot delete s3://{}/{key}", self.bucket), e)
                    }
                })?;
        }
        Ok(())
    }

    async fn set_legal_hold(&self, key: &str, on: bool) -> PortResult<()> {
        validate_key(key)?;
        if head_object(&self.client, &self.bucket, key)
            .await?
            .is_none()
        {
            return Err(PortError::NotFound(key.to_string()));
        }
        let status = if on {
            aws_sdk_s3::types::ObjectLockLegalHoldStatus::On
        } else {
            aws_sdk_s3::types::ObjectLockLegalHoldStatus::Off
        };
        self.client
            .put_object_legal_hold()
            .bucket(&self.bucket)
            .key(key)
            .legal_hold(
                aws_sdk_s3::types::ObjectLockLegalHold::builder()
                    .status(status)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                if e.code() == Some("InvalidRequest") {
                    PortError::Invalid(format!(
                        "s3://{} has no Object Lock: legal holds need it",
                        self.bucket
                    ))
                } else {
                    port_error(
                        &format!("cannot set the legal hold of s3://{}/{key}", self.bucket),
                        e,
                    )
                }
            })?;
        Ok(())
    }

    async fn get(&self, key: &str) -> PortResult<Bytes> {
        if validate_key(key).is_err() {
            return Err(PortError::NotFound(key.to_string()));
        }
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_)))
                    || classify(&e) == ErrorClass::NotFound
                    || sdk_error_status(&e) == Some(404) =>
            {
                return Err(PortError::NotFound(key.to_string()));
            }
            Err(e) => {
                return Err(port_error(
                    &format!("cannot get s3://{}/{key}", self.bucket),
                    e,
                ));
            }
        };
        let body = out.body.collect().await.map_err(|e| {
            PortError::Unavailable(format!(
                "cannot read s3://{}/{key}: {}",
                self.bucket,
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ))
        })?;
        Ok(body.into_bytes())
    }

    async fn head(&self, key: &str) -> PortResult<Option<ObjectMeta>> {
        if validate_key(key).is_err() {
            return Ok(None);
        }
        head_object(&self.client, &self.bucket, key).await
    }

    /// ListObjectsV2 (all pages), then a HEAD per object for its media type; objects that
    /// vanish in between are left out. Sorted by key.
    async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>> {
        validate_prefix(prefix)?;
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                port_error(&format!("cannot list s3://{}/{prefix}", self.bucket), e)
            })?;
            for obj in page.contents() {
                if let Some(k) = obj.key()
                    && validate_key(k).is_ok()
                {
                    keys.push(k.to_string());
                }
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        let mut pending = keys.into_iter();
        let mut tasks = JoinSet::new();
        loop {
            while tasks.len() < LIST_HEAD_CONCURRENCY {
                let Some(key) = pending.next() else { break };
                let (client, bucket) = (self.client.clone(), self.bucket.clone());
                tasks.spawn(async move { head_object(&client, &bucket, &key).await });
            }
            let Some(done) = tasks.join_next().await else {
                break;
            };
            let meta = done.map_err(|e| PortError::Backend(format!("list task failed: {e}")))??;
            out.extend(meta);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> PortResult<String> {
        validate_key(key)?;
        if ttl.is_zero() || ttl > MAX_PRESIGN_TTL {
            return Err(PortError::Invalid(format!(
                "presigned URL lifetime must be between 1 s and 7 days, got {ttl:?}"
            )));
        }
        // SigV4 counts whole seconds: round up so the URL lives at least `ttl`.
        let secs = ttl
            .as_secs()
            .saturating_add(u64::from(ttl.subsec_nanos() > 0))
            .min(MAX_PRESIGN_TTL.as_secs());
        let config = PresigningConfig::expires_in(Duration::from_secs(secs))
            .map_err(|e| PortError::Invalid(format!("bad presign lifetime: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| port_error(&format!("cannot presign s3://{}/{key}", self.bucket), e))?;
        Ok(req.uri().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_comes_from_the_env_given() {
        let client = Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .build(),
        );
        let store = S3ObjectStore::from_vars(&[(ENV_BUCKET, " exports ")], client.clone());
        assert_eq!(
            store.map(|s| s.bucket().to_string()).ok().as_deref(),
            Some("exports")
        );
        match S3ObjectStore::from_vars(&[("OTHER", "x")], client) {
            Err(PortError::Backend(m)) => assert!(m.contains(ENV_BUCKET), "{m}"),
            other => panic!("expected Backend, got {other:?}"),
        }
    }

    #[test]
    fn keys_follow_the_embedded_rules() {
        for ok in ["reports/acme/exp-1/report.pdf", "a", "scans/t/s.json"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/a", "a//b", "a/../b", ".x", "a b", "a/.meta"] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("reports/").is_ok());
        assert!(validate_prefix("/").is_err());
    }
}
