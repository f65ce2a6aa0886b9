//! GitHub code scanning: a SARIF export uploaded with `POST /repos/{owner}/{repo}/code-scanning/sarifs`
//! (the SARIF gzip-compressed and base64-encoded, with `commit_sha`, `ref` and `tool_name`),
//! then followed by its `id` to `processing_status`. GitHub refuses an upload whose
//! compressed SARIF is over 10 MB: refused here first, with the reason. The API base is the
//! deployment's (`EXPORTCENTER_GITHUB_API_URL`; GitHub Enterprise Server works by setting it).

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use ec_domain::destination::Secret;

/// GitHub's limit on the gzip-compressed SARIF of one upload.
pub const MAX_GZIPPED_BYTES: usize = 10 * 1024 * 1024;

/// The upload's body: `{commit_sha, ref, sarif: base64(gzip(SARIF)), tool_name}`.
pub fn upload_body(sarif: &[u8], commit_sha: &str, git_ref: &str) -> Result<Vec<u8>, String> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(sarif)
        .and_then(|()| gz.flush())
        .map_err(|e| format!("compressing the SARIF: {e}"))?;
    let packed = gz
        .finish()
        .map_err(|e| format!("compressing the SARIF: {e}"))?;
    if packed.len() > MAX_GZIPPED_BYTES {
        return Err(format!(
            "the compressed SARIF is {} bytes; GitHub takes at most {MAX_GZIPPED_BYTES}",
            packed.len()
        ));
    }
    let body = json!({
        "commit_sha": commit_sha,
        "ref": git_ref,
        "sarif": STANDARD.encode(packed),
        "tool_name": "ExportCenter",
    });
    serde_json::to_vec(&body).map_err(|e| e.to_string())
}

/// The REST API's headers with the destination's token.
pub fn headers(token: &Secret) -> Vec<(String, String)> {
    vec![
        ("accept".into(), "application/vnd.github+json".into()),
        ("x-github-api-version".into(), "2022-11-28".into()),
        ("authorization".into(), format!("Bearer {}", token.expose())),
        ("content-type".into(), "application/json".into()),
    ]
}

/// `{base}/repos/{repository}` and the routes below it.
pub fn repo_url(base: &str, repository: &str) -> String {
    format!("{}/repos/{repository}", base.trim_end_matches('/'))
}

/// Where an upload goes.
pub fn upload_url(base: &str, repository: &str) -> String {
    format!("{}/code-scanning/sarifs", repo_url(base, repository))
}

/// Where an upload's processing status is.
pub fn status_url(base: &str, repository: &str, id: &str) -> String {
    format!("{}/code-scanning/sarifs/{id}", repo_url(base, repository))
}
