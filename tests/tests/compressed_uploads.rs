//! Issue 14: `POST /api/v1/scans` takes `Content-Encoding: gzip` and `zstd` over HTTP. A
//! compressed report is the same scan as the plain one (same id, same digest of the
//! document); the size limit holds for the decompressed bytes (a decompression bomb gets
//! 413 and stores nothing); a corrupt stream is 400, an encoding we do not take 415.

use std::io::Write;

use serde_json::Value;

use ec_tests::{embedded, repo_root};

const SECRET: &str = "compressed-uploads-test-secret-0123456789";
const TRIVY: &str = "tests/fixtures/real/trivy/trivy-golden_debian-stretch_2021-10-04.json";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn post(base: &str, token: &str, encoding: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/scans"))
        .bearer_auth(token)
        .header("X-Tenant-Id", "acme")
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(e) = encoding {
        req = req.header("Content-Encoding", e);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_scans_are_the_same_scans_within_the_same_limit() {
    let dir = tempfile::tempdir().unwrap();
    let scopes = "export:read export:write scan:write";
    let (stack, _client) = embedded::start(dir.path(), SECRET, "acme", scopes).await;
    let token = ec_api::auth::mint(SECRET.as_bytes(), "alice", "acme", scopes, 3600).unwrap();
    let base = stack.base_url.clone();
    let plain = std::fs::read(repo_root().join(TRIVY)).unwrap();

    let (status, as_is) = post(&base, &token, None, plain.clone()).await;
    assert_eq!(status, 201, "{as_is}");
    let packed = gzip(&plain);
    assert!(packed.len() * 4 < plain.len(), "gzip packs the report");
    let (status, gzipped) = post(&base, &token, Some("gzip"), packed).await;
    assert_eq!(status, 201, "{gzipped}");
    assert_eq!(
        gzipped["scan_id"], as_is["scan_id"],
        "the same document, the same scan"
    );
    assert_eq!(gzipped["findings"], as_is["findings"]);
    let zstd =
        ruzstd::encoding::compress_to_vec(&plain[..], ruzstd::encoding::CompressionLevel::Fastest);
    let (status, zstded) = post(&base, &token, Some("zstd"), zstd).await;
    assert_eq!(status, 201, "{zstded}");
    assert_eq!(zstded["scan_id"], as_is["scan_id"]);

    // The default scan limit is 64 MiB: 80 MiB of JSON whitespace gzips to ~80 KiB.
    let mut bomb = b"{\"SchemaVersion\": 2".to_vec();
    bomb.extend(std::iter::repeat_n(b' ', 80 << 20));
    bomb.push(b'}');
    let (status, e) = post(&base, &token, Some("gzip"), gzip(&bomb)).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (413, Some("ERR_PAYLOAD_TOO_LARGE")),
        "{e}"
    );

    let (status, e) = post(&base, &token, Some("gzip"), plain.clone()).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("ERR_MALFORMED_BODY")),
        "{e}"
    );
    let (status, e) = post(&base, &token, Some("br"), plain.clone()).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (415, Some("ERR_UNSUPPORTED_MEDIA_TYPE")),
        "{e}"
    );

    // Only the one scan was stored, whatever was refused.
    let stored = stack
        .pipeline
        .app
        .scans
        .objects
        .list("scans/acme/")
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    stack.shutdown().await;
}
