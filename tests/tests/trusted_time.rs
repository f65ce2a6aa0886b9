//! Trusted time on the embedded stack, with a TSA on loopback made with OpenSSL
//! (`tests/python/tsa_server.py`): a sealed bundle carries `manifest.dsse.tsr` over its
//! signature and the job says when it was stamped; `exportctl verify --tsa-ca` checks the
//! token and the TSA, another CA is refused; `openssl ts -verify` checks the same file
//! independently, as VERIFY.md tells an auditor to; a duplicate seal event after the
//! timestamped seal leaves the first bundle untouched. A TSA that is down leaves the export
//! sealed without a timestamp and the reason in the job — or, with
//! `EXPORTCENTER_TSA_REQUIRED=true`, fails it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use ec_tests::{embedded, receivers};

const SECRET: &str = "trusted-time-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write scan:write";

/// Runs one JSON export and answers its final job and sealed bundle (if any).
async fn export(base: &str, token: &str) -> (Value, Option<Vec<u8>>) {
    let http = reqwest::Client::new();
    let scan = ec_tests::ingest_fixture(&http, base, token, "trivy", "alpine-310").await;
    let body = json!({"type": "scan_report", "format": "json",
                      "scope": {"scan_ids": [scan["scan_id"]]}});
    ec_tests::finished_export(&http, base, token, &body).await
}

/// The sealed bundle of export `id`.
async fn export_bundle(base: &str, token: &str, id: &str) -> Vec<u8> {
    let bytes = reqwest::Client::new()
        .get(format!(
            "{base}/api/v1/exports/{id}/download?artifact=sealed"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    bytes.to_vec()
}

fn exportctl_verify(bundle: &Path, args: &[&Path]) -> Value {
    let mut cmd = Command::new(ec_tests::exportctl_bin());
    cmd.args(["verify", "--json"]).arg(bundle);
    for pair in args.chunks(2) {
        cmd.arg(pair[0]).arg(pair[1]);
    }
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_carry_a_timestamp_any_verifier_checks() {
    let tsa_dir = tempfile::tempdir().unwrap();
    let (_tsa, port) = receivers::start("tsa_server.py", &[tsa_dir.path()]);
    let url = format!("http://127.0.0.1:{port}/tsa");
    let dir = tempfile::tempdir().unwrap();
    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_TSA_URL", url.as_str()),
        ],
    )
    .await;
    let token = stack.mint("alice", "acme", SCOPES, 600).unwrap();
    let (job, bundle) = export(&stack.base_url, &token).await;
    let bundle = bundle.expect("ready");
    assert_eq!(job["timestamp"]["status"], "stamped", "{job}");
    assert!(
        job["timestamp"]["tsa"]
            .as_str()
            .unwrap()
            .contains("ExportCenter Test TSA")
    );
    ec_tests::matches_openapi("Job", &[&job]);

    // A duplicate seal event after the timestamped seal — its worker "died" after writing
    // the bundle — leaves the first bundle untouched (a second seal would carry another
    // timestamp, so other bytes).
    let jobs = &stack.pipeline.app.exports.jobs;
    let (tenant, id) = (
        "acme".parse().unwrap(),
        job["export_id"].as_str().unwrap().parse().unwrap(),
    );
    let ready = jobs.get(&tenant, &id).await.unwrap().unwrap();
    let mut sealing = ready.clone();
    sealing.status = ec_domain::JobStatus::Running;
    sealing.stage = Some(ec_domain::Stage::Sealing);
    sealing.artifacts.clear();
    sealing.version = ready.version + 1;
    jobs.update(&sealing, ready.version).await.unwrap();
    let report = ready
        .artifacts
        .iter()
        .find(|a| a.kind == ec_domain::ArtifactKind::Report)
        .unwrap();
    use ec_domain::ports::WorkQueue;
    let event = json!({"key": report.key, "size": report.size}).to_string();
    stack
        .queue
        .send(ec_domain::messages::QueueName::Seal, event)
        .await
        .unwrap();
    let mut again = None;
    for _ in 0..300 {
        let j = jobs.get(&tenant, &id).await.unwrap().unwrap();
        if j.status == ec_domain::JobStatus::Ready {
            again = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = again.expect("ready again");
    assert_eq!(
        again.artifacts, ready.artifacts,
        "the same bundle, digests included"
    );
    let second = export_bundle(&stack.base_url, &token, job["export_id"].as_str().unwrap()).await;
    assert!(second == bundle, "the first bundle is untouched");
    stack.shutdown().await;

    let work = tempfile::tempdir().unwrap();
    let b = work.path().join("bundle.tar.gz");
    std::fs::write(&b, &bundle).unwrap();
    let ca = tsa_dir.path().join("ca.pem");
    let v = exportctl_verify(&b, &[Path::new("--tsa-ca"), &ca]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["timestamp"]["tsa_trusted"], true, "{v}");
    assert_eq!(v["timestamp"]["time"], job["timestamp"]["time"]);
    assert_eq!(
        v["sealed_at"], job["timestamp"]["time"],
        "the timestamp's time seals"
    );
    let other = tempfile::tempdir().unwrap();
    let made = Command::new("sh")
        .arg(ec_tests::repo_root().join("tests/tsa/make-tsa.sh"))
        .arg(other.path())
        .output()
        .unwrap();
    assert!(made.status.success());
    let v = exportctl_verify(&b, &[Path::new("--tsa-ca"), &other.path().join("ca.pem")]);
    assert_eq!(v["code"], "SEAL_BAD_TIMESTAMP", "{v}");

    // OpenSSL, independently: the token covers the signature's bytes.
    let x = work.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let gz = flate2::read::GzDecoder::new(bundle.as_slice());
    tar::Archive::new(gz).unpack(&x).unwrap();
    let envelope: Value =
        serde_json::from_slice(&std::fs::read(x.join("manifest.dsse.json")).unwrap()).unwrap();
    let sig = base64::engine::general_purpose::STANDARD
        .decode(envelope["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    std::fs::write(x.join("sig.bin"), &sig).unwrap();
    let ok = Command::new("openssl")
        .args(["ts", "-verify", "-data"])
        .arg(x.join("sig.bin"))
        .arg("-in")
        .arg(x.join("manifest.dsse.tsr"))
        .arg("-CAfile")
        .arg(&ca)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Verification: OK"));
    let doc = std::fs::read_to_string(x.join("VERIFY.md")).unwrap();
    assert!(
        doc.contains("openssl ts -verify -data sig.bin -in manifest.dsse.tsr -CAfile tsa-ca.pem")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tsa_that_is_down_is_reported_or_fails_the_seal() {
    let tsa_dir = tempfile::tempdir().unwrap();
    let (_tsa, port) = receivers::start("tsa_server.py", &[tsa_dir.path(), Path::new("1")]);
    let url = format!("http://127.0.0.1:{port}/tsa");
    for required in ["false", "true"] {
        let dir = tempfile::tempdir().unwrap();
        let stack = embedded::start_with(
            dir.path(),
            &[
                ("EXPORTCENTER_JWT_SECRET", SECRET),
                ("EXPORTCENTER_TSA_URL", url.as_str()),
                ("EXPORTCENTER_TSA_REQUIRED", required),
                ("EXPORTCENTER_MAX_ATTEMPTS", "2"),
            ],
        )
        .await;
        let token = stack.mint("alice", "acme", SCOPES, 600).unwrap();
        let (job, bundle) = export(&stack.base_url, &token).await;
        stack.shutdown().await;
        if required == "false" {
            let bundle = bundle.expect("sealed without a timestamp");
            assert_eq!(job["timestamp"]["status"], "failed", "{job}");
            assert!(
                job["timestamp"]["reason"].as_str().unwrap().contains("503"),
                "{job}"
            );
            assert!(ec_seal::verify(&bundle).unwrap().timestamp.is_none());
        } else {
            assert_eq!(job["status"], "failed", "{job}");
            assert!(
                job["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("timestamp"),
                "{job}"
            );
        }
    }
}
