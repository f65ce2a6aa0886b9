//! The Console in a real headless browser (Debian's chromium driven by playwright-core from
//! `tests/node`, axe-core on every page): `tests/node/console_test.mjs` runs the flow a
//! person would against two embedded stacks, and this test checks what came out of it.
//!
//! The main stack's workers are the stack's own stages pulling through a consumer that
//! waits 700 ms before each message, so every stage lasts long enough for the export list
//! to show it (the browser records each status text the row shows, without reloading).
//! The second stack has no workers at all, so an export requested there stays queued
//! until the browser cancels it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use ec_domain::messages::QueueName;
use ec_domain::ports::{Delivery, PortResult, QueueConsumer};
use ec_pipeline::worker::{WorkerConfig, run_worker};
use exportctl::stack::{Stack, StackConfig};

const SECRET: &str = "console-browser-test-secret-0123456789";
const SCOPES: &str = "export:read export:write scan:write template:write";

/// The stack's queue, with a pause before each message is handed to a stage.
struct Slow(Arc<dyn QueueConsumer>);

#[async_trait]
impl QueueConsumer for Slow {
    async fn receive(&self, q: QueueName, max: usize, vis: Duration) -> PortResult<Vec<Delivery>> {
        let got = self.0.receive(q, max.min(1), vis).await?;
        if !got.is_empty() {
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        Ok(got)
    }
    async fn ack(&self, q: QueueName, receipt: &str) -> PortResult<()> {
        self.0.ack(q, receipt).await
    }
    async fn retry_after(&self, q: QueueName, receipt: &str, delay: Duration) -> PortResult<()> {
        self.0.retry_after(q, receipt, delay).await
    }
    async fn wait_for_work(&self, q: QueueName, max_wait: Duration) {
        self.0.wait_for_work(q, max_wait).await
    }
}

/// A stack on loopback without its own workers.
async fn stack_without_workers(dir: &std::path::Path) -> Stack {
    let env = [("EXPORTCENTER_JWT_SECRET", SECRET)];
    let addr = "127.0.0.1:0".parse().unwrap();
    let mut cfg = StackConfig::from_env(&env, addr, dir.join("data")).unwrap();
    cfg.workers = 0;
    Stack::start(cfg, &env).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_requests_watches_downloads_and_cancels_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let main = stack_without_workers(&dir.path().join("main")).await;
    let idle = stack_without_workers(&dir.path().join("idle")).await;
    let mut workers = Vec::new();
    for &q in QueueName::ALL {
        let consumer: Arc<dyn QueueConsumer> = Arc::new(Slow(main.queue.clone()));
        workers.push(tokio::spawn(run_worker(
            main.pipeline.stages.clone(),
            consumer,
            q,
            WorkerConfig::default(),
        )));
    }
    let token = main.mint("alice", "acme", SCOPES, 3600).unwrap();
    let idle_token = idle.mint("alice", "acme", SCOPES, 3600).unwrap();
    let scan = ec_tests::fixtures("trivy")
        .into_iter()
        .find(|p| p.to_string_lossy().contains("alpine-310"))
        .expect("the Trivy fixture");
    let out = dir.path().join("downloads");
    std::fs::create_dir_all(&out).unwrap();
    let shots = std::env::var("EC_CONSOLE_SCREENSHOTS").ok();

    let mut args: Vec<std::ffi::OsString> = vec![
        main.base_url.clone().into(),
        token.clone().into(),
        idle.base_url.clone().into(),
        idle_token.clone().into(),
        scan.into_os_string(),
        out.into_os_string(),
    ];
    args.extend(shots.map(Into::into));
    let result = browser("console_test.mjs", args).await;

    // Watched live: queued, then each stage, then ready, with no reload.
    let seen: Vec<&str> = result["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(seen.last(), Some(&"ready"), "{seen:?}");
    for stage in ["rendering", "sealing"] {
        assert!(
            seen.iter().any(|s| s.contains(stage)),
            "the list showed {stage}: {seen:?}"
        );
    }
    assert_eq!(result["reloads"], 0, "{result}");
    assert_eq!(
        result["rows"], 1,
        "a double click made one export: {result}"
    );

    // The downloads are the API's bytes, and the bundle verifies.
    let id = result["export_id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let api_report = http
        .get(format!(
            "{}/api/v1/exports/{id}/download?artifact=report",
            main.base_url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let report = std::fs::read(result["report_path"].as_str().unwrap()).unwrap();
    assert!(report.starts_with(b"%PDF-"));
    assert_eq!(
        report,
        api_report.to_vec(),
        "the browser's download is the API's"
    );
    let bundle = std::fs::read(result["bundle_path"].as_str().unwrap()).unwrap();
    let verified = ec_seal::verify(&bundle).expect("the downloaded bundle verifies");
    assert_eq!(verified.export_id, id);
    assert_eq!(result["merkle_root"], verified.merkle_root.as_str());

    // The form sent what was chosen (the job holds the filters with their defaults).
    let (_, job) = ec_tests::api_call(
        &http,
        &main.base_url,
        reqwest::Method::GET,
        &format!("/api/v1/exports/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(job["template"], "compliance-detailed", "{job}");
    let filters = &job["request"]["options"]["filters"];
    assert_eq!(filters["min_severity"], "medium", "{job}");
    assert_eq!(filters["fixable_only"], false, "{job}");
    assert_eq!(filters["packages"], serde_json::json!([]), "{job}");
    assert!(job["request"]["options"].get("baseline").is_none(), "{job}");

    // The rest of the flow.
    assert!(
        result["field_error"]
            .as_str()
            .unwrap()
            .contains("must hold 1 to"),
        "{result}"
    );
    assert_eq!(result["preview"].as_array().unwrap().len(), 5, "{result}");
    assert_eq!(result["scan_findings"], "4", "the scan's page: {result}");
    assert_eq!(result["template_error_at"], "At line 2, column 32:");
    assert_eq!(result["storage_after_sign_out"], 0);
    let cancelled = result["cancelled_id"].as_str().unwrap();
    let (s, job) = ec_tests::api_call(
        &http,
        &idle.base_url,
        reqwest::Method::GET,
        &format!("/api/v1/exports/{cancelled}"),
        &idle_token,
        None,
    )
    .await;
    assert_eq!((s, job["status"].as_str()), (200, Some("cancelled")));
    for (page, violations) in result["axe"].as_object().unwrap() {
        for v in violations.as_array().unwrap() {
            assert!(
                !matches!(v["impact"].as_str(), Some("serious" | "critical")),
                "axe on {page}: {v}"
            );
        }
    }
    assert!(result["axe"].as_object().unwrap().len() >= 9, "{result}");
    for w in workers {
        w.abort();
    }
    main.shutdown().await;
    idle.shutdown().await;
}

/// Runs a script of `tests/node` with `args`; its last JSON line, after asserting success.
async fn browser(script: &str, args: Vec<std::ffi::OsString>) -> serde_json::Value {
    let mut node = ec_tests::node();
    node.arg(ec_tests::repo_root().join("tests/node").join(script))
        .args(args);
    let run = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let result: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no result from {script}\n{stdout}\n{stderr}"));
    assert!(
        run.status.success(),
        "{script} failed: {:#}\n{stderr}",
        result["problems"]
    );
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_an_identity_provider_with_pkce() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("provider.jsonl");
    let p = |s: &str| std::path::PathBuf::from(s);
    let (_provider, port) = ec_tests::receivers::start(
        "oidc_provider.py",
        &[
            &p("--audience"),
            &p("exportcenter-api"),
            &p("--tenant"),
            &p("acme"),
            &p("--scopes"),
            &p("export:read export:write scan:write"),
            &p("--client-id"),
            &p("exportcenter-console"),
            &p("--log"),
            &log,
        ],
    );
    let issuer = format!("http://127.0.0.1:{port}");
    let env = [
        ("EXPORTCENTER_OIDC_ISSUER", issuer.as_str()),
        ("EXPORTCENTER_JWT_AUDIENCE", "exportcenter-api"),
        (
            "EXPORTCENTER_CONSOLE_OIDC_CLIENT_ID",
            "exportcenter-console",
        ),
    ];
    let addr = "127.0.0.1:0".parse().unwrap();
    let cfg = StackConfig::from_env(&env, addr, dir.path().join("data")).unwrap();
    let stack = Stack::start(cfg, &env).await.unwrap();
    let scan = ec_tests::fixtures("trivy")
        .into_iter()
        .find(|p| p.to_string_lossy().contains("alpine-310"))
        .expect("the Trivy fixture");
    let result = browser(
        "console_oidc.mjs",
        vec![stack.base_url.clone().into(), scan.into_os_string()],
    )
    .await;
    assert_eq!(result["tenant"], "acme", "{result}");
    assert!(
        result["scan_id"].as_str().unwrap().starts_with("scan-"),
        "{result}"
    );
    assert!(
        !result["url_after"].as_str().unwrap().contains("code="),
        "the code is not left in the address bar: {result}"
    );
    assert_eq!(
        result["stored"],
        serde_json::json!(["exportcenter.session"]),
        "the PKCE verifier is gone once used: {result}"
    );
    // The token endpoint saw the verifier that matches the challenge.
    let calls = ec_tests::receivers::logged(&log);
    let tokens: Vec<&serde_json::Value> = calls.iter().filter(|c| c["path"] == "/token").collect();
    assert_eq!(tokens.len(), 1, "{calls:?}");
    assert_eq!(tokens[0]["pkce"], true);
    assert!(calls.iter().any(|c| c["path"] == "/authorize"), "{calls:?}");
    stack.shutdown().await;
}
