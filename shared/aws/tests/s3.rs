//! What only `S3ObjectStore` does, against a moto server (`EC_MOTO_ENDPOINT`): checksums
//! and encryption, multipart uploads (and conditional ones), SigV4 presigned URLs, and the mapping of S3 errors.
//! The port's contract (and the opt-in notifications) runs in `contract.rs`.

mod common;

use std::time::Duration;

use aws_sdk_s3::types::{ChecksumMode, ServerSideEncryption};
use bytes::Bytes;
use ec_aws::config::s3_client;
use ec_aws::s3::S3ObjectStore;
use ec_domain::PortError;
use ec_domain::ports::ObjectStore;

use common::{moto_config, s3_store, unique};

#[tokio::test]
async fn writes_are_checksummed_and_encrypted() {
    let s = s3_store().await;
    s.put(
        "inputs/acme/e/snapshot.json",
        Bytes::from_static(b"hello"),
        "application/json",
    )
    .await
    .unwrap();
    let out = s
        .client()
        .head_object()
        .bucket(s.bucket())
        .key("inputs/acme/e/snapshot.json")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    // sha256("hello"), base64.
    assert_eq!(
        out.checksum_sha256(),
        Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
    );
}

#[tokio::test]
async fn errors_are_mapped() {
    // A bucket that does not exist: a backend error, not worth retrying.
    let client = s3_client(&moto_config().await, true);
    let s = S3ObjectStore::new(client, unique("ec-missing"));
    match s.put("a/b", Bytes::from_static(b"x"), "text/plain").await {
        Err(PortError::Backend(m)) => assert!(m.contains("NoSuchBucket"), "{m}"),
        other => panic!("expected Backend, got {other:?}"),
    }
    // Nothing listening: unavailable (worth retrying).
    let dead = common::test_config("http://127.0.0.1:9").await;
    let s = S3ObjectStore::new(s3_client(&dead, true), "bucket");
    match s.get("a/b").await {
        Err(PortError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn multipart_above_the_threshold() {
    const MIB: usize = 1024 * 1024;
    let s = s3_store().await.with_multipart(5 * MIB, 5 * MIB);
    let body: Vec<u8> = (0..11 * MIB).map(|i| (i % 251) as u8).collect();
    let body = Bytes::from(body);
    let key = "reports/acme/big/report.pdf";
    let meta = s.put(key, body.clone(), "application/pdf").await.unwrap();
    assert_eq!(meta.size, (11 * MIB) as u64);
    let got = s.get(key).await.unwrap();
    assert_eq!(got.len(), body.len());
    assert!(got == body, "multipart body differs");
    let head = s.head(key).await.unwrap().unwrap();
    assert_eq!(head.size, (11 * MIB) as u64);
    assert_eq!(head.media_type, "application/pdf");
    // A multipart object's ETag ends in -{parts}: 5 + 5 + 1 MiB.
    let raw = s
        .client()
        .head_object()
        .bucket(s.bucket())
        .key(key)
        .send()
        .await
        .unwrap();
    let etag = raw.e_tag().unwrap_or_default();
    assert!(etag.trim_matches('"').ends_with("-3"), "etag {etag}");
    assert_eq!(
        raw.server_side_encryption(),
        Some(&ServerSideEncryption::Aes256)
    );
    // A conditional multipart write of an existing key loses (one writer per bundle),
    // and leaves the object as it was.
    let other = Bytes::from(vec![7u8; 11 * MIB]);
    assert!(matches!(
        s.put_new(key, other, "application/pdf").await,
        Err(ec_domain::PortError::ConditionFailed(_))
    ));
    assert!(s.get(key).await.unwrap() == body);
    // No upload left dangling.
    let uploads = s
        .client()
        .list_multipart_uploads()
        .bucket(s.bucket())
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty());
}

#[tokio::test]
async fn failed_multipart_is_aborted() {
    const MIB: usize = 1024 * 1024;
    // 1 MiB parts are below S3's minimum: CompleteMultipartUpload fails (EntityTooSmall),
    // and the store must abort the upload rather than leave its parts behind.
    let s = s3_store().await.with_multipart(MIB, MIB);
    let key = "reports/acme/small-parts/report.pdf";
    match s
        .put(key, Bytes::from(vec![7u8; 3 * MIB]), "application/pdf")
        .await
    {
        Err(PortError::Backend(m)) => assert!(m.contains("EntityTooSmall"), "{m}"),
        other => panic!("expected Backend, got {other:?}"),
    }
    let uploads = s
        .client()
        .list_multipart_uploads()
        .bucket(s.bucket())
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "{:?}", uploads.uploads());
    assert_eq!(s.head(key).await.unwrap(), None);
}

#[tokio::test]
async fn presigned_urls() {
    let s = s3_store().await;
    let body = Bytes::from_static(b"%PDF-1.7 pretend");
    s.put(
        "sealed/acme/exp-1/bundle.tar.gz",
        body.clone(),
        "application/gzip",
    )
    .await
    .unwrap();
    let url = s
        .presign_get("sealed/acme/exp-1/bundle.tar.gz", Duration::from_secs(600))
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Expires=600"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/gzip")
    );
    assert_eq!(resp.bytes().await.unwrap(), body);

    // Fractions of a second round up; lifetimes outside 1 s ..= 7 days are refused.
    let url = s
        .presign_get(
            "sealed/acme/exp-1/bundle.tar.gz",
            Duration::from_millis(1500),
        )
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Expires=2"), "{url}");
    for bad in [Duration::ZERO, Duration::from_secs(8 * 24 * 3600)] {
        assert!(matches!(
            s.presign_get("sealed/acme/exp-1/bundle.tar.gz", bad).await,
            Err(PortError::Invalid(_))
        ));
    }
    // moto 5.2.5 does not enforce X-Amz-Expires (an expired presigned URL still answers
    // 200), so expiry is checked through the signed parameter above, not by waiting.
}
