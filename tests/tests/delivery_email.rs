//! Email delivery on the embedded stack through a real SMTP server on loopback
//! (`tests/python/smtp_receiver.py`, aiosmtpd) that answers `451` twice first: the message
//! arrives once, parsed by Python's `email` package — plain text and HTML with the report's
//! counts and links, the report attached byte for byte, one `Message-ID` — and a failed
//! export is mailed to a destination that wants `export.failed`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use ec_tests::{embedded, receivers};

const SECRET: &str = "delivery-email-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write scan:write destination:write";

/// Reads the job at `path` until its deliveries satisfy `done` (60 s at most).
async fn wait_for<F, Fut>(call: &F, path: &str, done: impl Fn(&Vec<Value>) -> bool) -> Value
where
    F: Fn(Method, String, Option<Value>) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, job) = call(Method::GET, path.to_string(), None).await;
        if job["deliveries"].as_array().is_some_and(&done) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not finish: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_arrive_once_with_the_report_attached() {
    let dir = tempfile::tempdir().unwrap();
    let mailbox = dir.path().join("mailbox.jsonl");
    // The first two messages are answered `451`.
    let (_smtp, port) =
        receivers::start("smtp_receiver.py", &[&mailbox, std::path::Path::new("2")]);
    let relay = format!("smtp://127.0.0.1:{port}");
    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_SMTP_URL", relay.as_str()),
            (
                "EXPORTCENTER_SMTP_FROM",
                "ExportCenter <reports@exportcenter.example>",
            ),
            ("EXPORTCENTER_DELIVERY_RETRY_BASE_SECS", "1"),
            ("EXPORTCENTER_DELIVERY_RETRY_CAP_SECS", "1"),
        ],
    )
    .await;
    let token = stack.mint("alice", "acme", SCOPES, 3600).unwrap();
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let call = ec_tests::caller(&http, &base, &token);

    let (s, ciso) = call(
        Method::POST,
        "/api/v1/destinations".into(),
        Some(json!({"name": "CISO", "type": "email",
            "config": {"to": ["ciso@acme.example", "sec@acme.example"], "attach": true}})),
    )
    .await;
    assert_eq!(s, 201, "{ciso}");
    let (s, oncall) = call(
        Method::POST,
        "/api/v1/destinations".into(),
        Some(json!({"name": "on call", "type": "email",
            "config": {"to": ["oncall@acme.example"]}, "events": ["export.failed"]})),
    )
    .await;
    assert_eq!(s, 201, "{oncall}");
    let dests = json!([ciso["destination_id"], oncall["destination_id"]]);

    let scan = ec_tests::ingest_fixture(&http, &base, &token, "trivy", "alpine-310").await;
    let scan_id = scan["scan_id"].clone();
    let (s, job) = call(
        Method::POST,
        "/api/v1/exports".into(),
        Some(
            json!({"type": "scan_report", "format": "csv", "scope": {"scan_ids": [scan_id]},
                    "options": {"destinations": dests}}),
        ),
    )
    .await;
    assert_eq!(s, 202, "{job}");
    let export_id = job["export_id"].as_str().unwrap().to_string();

    let export_path = format!("/api/v1/exports/{export_id}");
    let job = wait_for(&call, &export_path, |d| {
        d.len() == 1 && d[0]["status"] != "pending"
    })
    .await;
    let delivery = &job["deliveries"][0];
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    assert_eq!(
        delivery["attempts"], 3,
        "two 451s, then accepted: {delivery}"
    );
    assert_eq!(delivery["type"], "email");

    let mails = receivers::logged(&mailbox);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail["to"], json!(["ciso@acme.example", "sec@acme.example"]));
    assert!(
        mail["from"]
            .as_str()
            .unwrap()
            .contains("reports@exportcenter.example")
    );
    let subject = mail["subject"].as_str().unwrap();
    assert!(
        subject.contains(&export_id) && subject.contains("is ready"),
        "{subject}"
    );
    let summary = &job["summary"];
    let counts = format!("{} findings", summary["findings"]);
    assert!(subject.contains(&counts), "{subject} / {summary}");
    let text = mail["text"].as_str().unwrap();
    let report_link = format!("{base}/api/v1/exports/{export_id}/download?artifact=report");
    assert!(
        text.contains(&counts) && text.contains(&report_link),
        "{text}"
    );
    assert!(text.contains("policy: "), "{text}");
    let html = mail["html"].as_str().unwrap();
    assert!(html.contains(&format!("href=\"{report_link}\"")), "{html}");
    assert!(
        mail["message_id"]
            .as_str()
            .unwrap()
            .contains("@exportcenter>")
    );
    let report = job["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "report")
        .unwrap();
    let attachments = mail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    assert_eq!(attachments[0]["filename"], format!("{export_id}.csv"));
    assert_eq!(attachments[0]["content_type"], "text/csv");
    assert_eq!(
        attachments[0]["sha256"], report["sha256"],
        "the report, byte for byte"
    );

    // A failed export is mailed to every destination that wants export.failed (the
    // on-call list, and the CISO's, which wants both events), without an attachment.
    let (s, failing) = call(
        Method::POST,
        "/api/v1/exports".into(),
        Some(
            json!({"type": "scan_report", "format": "csv", "scope": {"scan_ids": [scan_id]},
                    "options": {"destinations": dests}}),
        ),
    )
    .await;
    assert_eq!(s, 202, "{failing}");
    let failing_id: ec_domain::ExportId = failing["export_id"].as_str().unwrap().parse().unwrap();
    stack
        .pipeline
        .stages
        .steps
        .fail(
            &"acme".parse().unwrap(),
            &failing_id,
            ec_domain::JobError {
                code: ec_domain::ErrorCode::DataSource.into(),
                message: "the scanner service is down".into(),
            },
        )
        .await
        .unwrap();
    let failed = wait_for(&call, &format!("/api/v1/exports/{failing_id}"), |d| {
        d.len() == 2
            && d.iter()
                .all(|d| d["status"] == "delivered" && d["event"] == "export.failed")
    })
    .await;
    assert_eq!(failed["status"], "failed");
    let mails = receivers::logged(&mailbox);
    assert_eq!(mails.len(), 3, "{mails:?}");
    for m in &mails[1..] {
        let subject = m["subject"].as_str().unwrap();
        assert!(
            subject.contains("failed") && subject.contains("ERR_DATA_SOURCE"),
            "{subject}"
        );
        assert!(
            m["text"]
                .as_str()
                .unwrap()
                .contains("the scanner service is down")
        );
        assert!(m["attachments"].as_array().unwrap().is_empty());
    }
    stack.shutdown().await;
}
