//! The proof on the embedded stack: a weekly schedule over a relative window
//! (`scope.relative: {"last": "P7D"}`, compared with its `previous_run`, medium and
//! above) delivering to three destinations — a webhook verified by the Standard Webhooks
//! reference library, email through a real SMTP server, GitHub code scanning through a stub
//! — each failing twice first. Each run delivers exactly once per destination, also when
//! every delivery message arrives twice more; the window is resolved against the run's slot
//! and leaves out a scan older than a week; the second run reports what is new since the
//! first — a scan uploaded late but dated inside the first run's window included, since a
//! baseline is what the previous run reported, not its window read again.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use ec_domain::delivery::DeliveryMessage;
use ec_domain::destination::DeliveryEvent;
use ec_domain::messages::QueueName;
use ec_domain::ports::WorkQueue;
use ec_tests::{api_call, embedded, receivers};

const SECRET: &str = "scheduled-delivery-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write scan:write destination:write";
const HOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const GITHUB_TOKEN: &str = "ghp_test-token-not-real";

/// Ingests the Trivy fixture `name` as scanned `ago` before now.
async fn ingest_scanned(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    ago: time::Duration,
) -> Value {
    let path = ec_tests::fixtures("trivy")
        .into_iter()
        .find(|p| p.to_string_lossy().contains(name))
        .unwrap();
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["CreatedAt"] = Value::String(ec_domain::time::rfc3339(ec_domain::time::now() - ago));
    let body = serde_json::to_vec(&doc).unwrap();
    let (s, receipt) = api_call(http, base, Method::POST, "/api/v1/scans", token, Some(body)).await;
    assert_eq!(s, 201, "{receipt}");
    receipt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weekly_schedule_delivers_once_per_run_to_every_destination() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = dir.path().join("hooks.json");
    let hook_log = dir.path().join("hooks.jsonl");
    let mailbox = dir.path().join("mailbox.jsonl");
    let github_log = dir.path().join("github.jsonl");
    std::fs::write(
        &hooks,
        json!({"/hook": {"secret": HOOK_SECRET, "fail_first": 2}}).to_string(),
    )
    .unwrap();
    let (_hook, hook_port) = receivers::start("webhook_receiver.py", &[&hooks, &hook_log]);
    let (_smtp, smtp_port) = receivers::start("smtp_receiver.py", &[&mailbox, Path::new("2")]);
    let (_github, github_port) = receivers::start(
        "github_stub.py",
        &[Path::new(GITHUB_TOKEN), &github_log, Path::new("2")],
    );
    let relay = format!("smtp://127.0.0.1:{smtp_port}");
    let github = format!("http://127.0.0.1:{github_port}");
    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS", "true"),
            ("EXPORTCENTER_SMTP_URL", relay.as_str()),
            ("EXPORTCENTER_GITHUB_API_URL", github.as_str()),
            ("EXPORTCENTER_DELIVERY_RETRY_BASE_SECS", "1"),
            ("EXPORTCENTER_DELIVERY_RETRY_CAP_SECS", "1"),
        ],
    )
    .await;
    let token = stack.mint("alice", "acme", SCOPES, 3600).unwrap();
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let call = ec_tests::caller(&http, &base, &token);

    let mut destinations = Vec::new();
    for body in [
        json!({"name": "SIEM", "type": "webhook",
               "config": {"url": format!("http://127.0.0.1:{hook_port}/hook"), "secret": HOOK_SECRET}}),
        json!({"name": "CISO", "type": "email", "config": {"to": ["ciso@acme.example"]}}),
        json!({"name": "code scanning", "type": "github_code_scanning",
               "config": {"repository": "acme/app", "ref": "refs/heads/main",
                          "commit_sha": "0123456789abcdef0123456789abcdef01234567",
                          "token": GITHUB_TOKEN}}),
    ] {
        let (s, d) = call(Method::POST, "/api/v1/destinations".into(), Some(body)).await;
        assert_eq!(s, 201, "{d}");
        destinations.push(d["destination_id"].as_str().unwrap().to_string());
    }

    // Last week's scan, and one a month old the window leaves out.
    ingest_scanned(&http, &base, &token, "alpine-310", time::Duration::days(1)).await;
    ingest_scanned(&http, &base, &token, "amazon-2", time::Duration::days(30)).await;

    let (s, schedule) = call(
        Method::POST,
        "/api/v1/schedules".into(),
        Some(json!({"cron": "0 6 * * 1", "timezone": "UTC", "request": {
            "type": "scan_report", "format": "sarif",
            "scope": {"relative": {"last": "P7D"}},
            "options": {"destinations": destinations, "baseline": "previous_run",
                        "filters": {"min_severity": "medium"}}}})),
    )
    .await;
    assert_eq!(s, 201, "{schedule}");
    let run_path = format!(
        "/api/v1/schedules/{}/run",
        schedule["schedule_id"].as_str().unwrap()
    );

    // Runs the schedule now and waits for its three deliveries.
    let run = || async {
        let before = ec_domain::time::now();
        let (s, job) = call(Method::POST, run_path.clone(), None).await;
        assert_eq!(s, 202, "{job}");
        let path = format!("/api/v1/exports/{}", job["export_id"].as_str().unwrap());
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (_, job) = call(Method::GET, path.clone(), None).await;
            let done = job["deliveries"]
                .as_array()
                .is_some_and(|d| d.len() == 3 && d.iter().all(|d| d["status"] != "pending"));
            if done {
                return (before, job);
            }
            assert!(
                Instant::now() < deadline,
                "deliveries did not finish: {job}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };

    let (before, first) = run().await;
    assert_eq!(first["status"], "ready", "{first}");
    for d in first["deliveries"].as_array().unwrap() {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 3, "two failures, then delivered: {d}");
    }
    // The window: the week before the run's slot (run now: its start), as the job records.
    let window = &first["request"]["scope"]["relative"];
    assert_eq!(window["last"], "P7D", "{window}");
    let from =
        ec_domain::time::parse_rfc3339(window["resolved"]["from"].as_str().unwrap()).unwrap();
    let to = ec_domain::time::parse_rfc3339(window["resolved"]["to"].as_str().unwrap()).unwrap();
    assert_eq!(to - from, time::Duration::days(7));
    assert!(to >= before - time::Duration::seconds(1) && to <= ec_domain::time::now());
    // The first run has no previous run: everything in it is new.
    let summary = &first["summary"];
    assert_eq!(
        summary["findings"], 4,
        "alpine's four medium findings: {summary}"
    );
    assert_eq!(
        summary["compared"],
        json!({"new": 4, "unchanged": 0, "fixed": 0}),
        "{summary}"
    );

    // Every delivery message of the run, delivered twice more, sends nothing more.
    let export_id = first["export_id"].as_str().unwrap().to_string();
    let counts = || {
        (
            receivers::logged(&hook_log).len(),
            receivers::logged(&mailbox).len(),
            receivers::logged(&github_log).len(),
        )
    };
    let seen = counts();
    for dst in &destinations {
        for attempt in 1..=3 {
            for _ in 0..2 {
                let msg = DeliveryMessage {
                    tenant_id: "acme".parse().unwrap(),
                    export_id: export_id.parse().unwrap(),
                    destination_id: dst.parse().unwrap(),
                    event: DeliveryEvent::ExportReady,
                    attempt,
                    not_before: None,
                };
                stack
                    .queue
                    .send(QueueName::Deliver, serde_json::to_string(&msg).unwrap())
                    .await
                    .unwrap();
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(counts(), seen, "duplicate messages sent nothing");

    // A scan uploaded after the first run, though dated before it: not in the first report,
    // so new in the second, which compares with what the first run reported.
    ingest_scanned(&http, &base, &token, "centos-7", time::Duration::hours(2)).await;
    let (_, second) = run().await;
    assert_eq!(second["status"], "ready", "{second}");
    assert_ne!(second["export_id"], first["export_id"]);
    for d in second["deliveries"].as_array().unwrap() {
        assert_eq!(d["status"], "delivered", "{d}");
    }
    let compared = &second["summary"]["compared"];
    assert_eq!(
        *compared,
        json!({"new": 1, "unchanged": 4, "fixed": 0}),
        "centos' medium finding is new, alpine's four unchanged"
    );

    // Exactly once per run at every receiver.
    let accepted = |log: &Path, status: u64| -> Vec<Value> {
        receivers::logged(log)
            .into_iter()
            .filter(|r| r["status"] == status)
            .collect()
    };
    let hooks = accepted(&hook_log, 204);
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert!(
        receivers::logged(&hook_log)
            .iter()
            .all(|r| r["verified"] == true)
    );
    let exports: Vec<&Value> = hooks
        .iter()
        .map(|h| &h["payload"]["data"]["export_id"])
        .collect();
    assert_eq!(exports, [&first["export_id"], &second["export_id"]]);
    let mails = receivers::logged(&mailbox);
    assert_eq!(mails.len(), 2, "{mails:?}");
    let text = mails[1]["text"].as_str().unwrap();
    let new_line = format!("since the baseline: {} new", compared["new"]);
    assert!(text.contains(&new_line), "{text}");
    let uploads = accepted(&github_log, 202);
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    // The window left the month-old scan out: one scan's run, then two.
    let runs: Vec<u64> = uploads
        .iter()
        .map(|u| u["runs"].as_u64().unwrap())
        .collect();
    assert_eq!(runs, [1, 2], "{uploads:?}");

    stack.shutdown().await;
}
