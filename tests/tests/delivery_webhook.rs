//! Webhook delivery on the embedded stack, checked by the Standard Webhooks reference library
//! (`tests/python/webhook_receiver.py`): a receiver that fails twice first still gets the
//! export once (three attempts, one `webhook-id`, every request verified), a given and a
//! generated secret both verify, duplicate delivery messages send nothing more, a receiver
//! that is down for good leaves its delivery `failed` with the reason and the export
//! `ready`, Slack gets Block Kit and Teams an Adaptive Card with the report's counts, and the
//! audit trail records each outcome.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use ec_domain::delivery::DeliveryMessage;
use ec_domain::destination::DeliveryEvent;
use ec_domain::messages::QueueName;
use ec_domain::ports::WorkQueue;
use ec_tests::{embedded, matches_openapi, receivers};

const SECRET: &str = "delivery-webhook-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write scan:write destination:write audit:read";
const GIVEN: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    ec_tests::api_call(http, base, method, path, token, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_and_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.json");
    let log = dir.path().join("received.jsonl");
    std::fs::write(&secrets, "{}").unwrap();
    let (_receiver, port) = receivers::start("webhook_receiver.py", &[&secrets, &log]);

    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS", "true"),
            ("EXPORTCENTER_DELIVERY_RETRY_BASE_SECS", "1"),
            ("EXPORTCENTER_DELIVERY_RETRY_CAP_SECS", "1"),
            ("EXPORTCENTER_DELIVERY_MAX_AGE_SECS", "6"),
        ],
    )
    .await;
    let token = stack.mint("alice", "acme", SCOPES, 3600).unwrap();
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let post = |path: &'static str, body: Value| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            call(
                &http,
                &base,
                Method::POST,
                path,
                &token,
                Some(serde_json::to_vec(&body).unwrap()),
            )
            .await
        }
    };

    let post_to = |path: String| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move { call(&http, &base, Method::POST, &path, &token, None).await }
    };

    // Three destinations: a given secret on a receiver that fails twice first, a generated
    // secret, and a port nobody listens on.
    let (s, flaky) = post(
        "/api/v1/destinations",
        json!({"name": "flaky", "type": "webhook",
               "config": {"url": format!("http://127.0.0.1:{port}/a"), "secret": GIVEN}}),
    )
    .await;
    assert_eq!(s, 201, "{flaky}");
    let (s, generated) = post(
        "/api/v1/destinations",
        json!({"name": "generated", "type": "webhook",
               "config": {"url": format!("http://localhost:{port}/b")},
               "events": ["export.ready"]}),
    )
    .await;
    assert_eq!(s, 201, "{generated}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let (s, down) = post(
        "/api/v1/destinations",
        json!({"name": "down", "type": "webhook",
               "config": {"url": format!("http://127.0.0.1:{closed_port}/c")}}),
    )
    .await;
    assert_eq!(s, 201, "{down}");
    let (s, slack) = post(
        "/api/v1/destinations",
        json!({"name": "slack", "type": "slack",
               "config": {"url": format!("http://127.0.0.1:{port}/s/T000/B000/XXXX")}}),
    )
    .await;
    assert_eq!(s, 201, "{slack}");
    let (s, teams) = post(
        "/api/v1/destinations",
        json!({"name": "teams", "type": "teams",
               "config": {"url": format!("http://127.0.0.1:{port}/t/webhookb2/XXXX")}}),
    )
    .await;
    assert_eq!(s, 201, "{teams}");
    std::fs::write(
        &secrets,
        json!({
            "/a": {"secret": GIVEN, "fail_first": 2},
            "/b": {"secret": generated["secret"]},
            "/s/T000/B000/XXXX": {"plain": true},
            "/t/webhookb2/XXXX": {"plain": true, "fail_first": 1},
        })
        .to_string(),
    )
    .unwrap();
    let ids: Vec<String> = [&flaky, &generated, &down, &slack, &teams]
        .iter()
        .map(|d| d["destination_id"].as_str().unwrap().to_string())
        .collect();

    // An unknown destination is refused with the export.
    let scan = ec_tests::ingest_fixture(&http, &base, &token, "trivy", "alpine-310").await;
    let scan_id = scan["scan_id"].as_str().unwrap();
    let (s, refused) = post(
        "/api/v1/exports",
        json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan_id]},
               "options": {"destinations": ["dst-nope"]}}),
    )
    .await;
    assert_eq!(s, 422, "{refused}");
    assert_eq!(refused["details"][0]["field"], "options.destinations[0]");

    let (s, job) = post(
        "/api/v1/exports",
        json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan_id]},
               "options": {"destinations": ids}}),
    )
    .await;
    assert_eq!(s, 202, "{job}");
    let export_id = job["export_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/exports/{export_id}");

    // Wait until every delivery has an outcome.
    let deadline = Instant::now() + Duration::from_secs(90);
    let job = loop {
        let (_, job) = call(&http, &base, Method::GET, &path, &token, None).await;
        let deliveries = job["deliveries"].as_array().cloned().unwrap_or_default();
        if job["status"] == "ready"
            && deliveries.len() == 5
            && deliveries.iter().all(|d| d["status"] != "pending")
        {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not finish: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let by_id = |id: &str| {
        job["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination_id"] == id)
            .cloned()
            .unwrap()
    };
    let a = by_id(&ids[0]);
    assert_eq!(a["status"], "delivered", "{a}");
    assert_eq!(a["attempts"], 3, "{a}");
    assert_eq!(a["type"], "webhook");
    assert!(a["delivered_at"].is_string());
    assert_eq!(by_id(&ids[1])["status"], "delivered");
    assert_eq!(by_id(&ids[1])["attempts"], 1);
    let c = by_id(&ids[2]);
    assert_eq!(c["status"], "failed", "{c}");
    assert!(
        c["last_error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{c}"
    );
    assert!(c["attempts"].as_u64().unwrap() >= 2, "{c}");
    assert_eq!(
        job["status"], "ready",
        "a failed delivery leaves the export ready"
    );
    matches_openapi("Job", &[&job]);

    // What the receiver got: every request verified by the reference library.
    let received = receivers::logged(&log);
    assert!(
        received.iter().all(|r| r["verified"] == true),
        "{received:?}"
    );
    let to_a: Vec<&Value> = received.iter().filter(|r| r["path"] == "/a").collect();
    assert_eq!(
        to_a.iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [500, 500, 204]
    );
    assert!(
        to_a.iter().all(|r| r["id"] == to_a[0]["id"]),
        "one webhook-id"
    );
    let payload = &to_a[2]["payload"];
    assert_eq!(payload["type"], "export.ready");
    assert_eq!(payload["data"]["export_id"], export_id.as_str());
    assert_eq!(payload["data"]["status"], "ready");
    let report_link = payload["data"]["links"]["report"].as_str().unwrap();
    assert_eq!(
        report_link,
        format!("{base}/api/v1/exports/{export_id}/download?artifact=report")
    );
    assert!(
        !payload.to_string().contains("signature="),
        "no presigned URL"
    );
    let to_b: Vec<&Value> = received.iter().filter(|r| r["path"] == "/b").collect();
    assert_eq!(to_b.len(), 1);
    assert_ne!(to_b[0]["id"], to_a[0]["id"]);

    // Slack: Block Kit within its limits, with the counts and the links.
    let chat = |prefix: &str| -> Value {
        let got: Vec<&Value> = received
            .iter()
            .filter(|r| r["path"].as_str().unwrap().starts_with(prefix) && r["status"] == 204)
            .collect();
        assert_eq!(got.len(), 1, "{prefix}: {received:?}");
        got[0]["payload"].clone()
    };
    let s = chat("/s/");
    assert!(s["text"].as_str().unwrap().contains(&export_id));
    let blocks = s["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= 150);
    let counts = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(
        counts.contains(" findings") && counts.contains("policy: "),
        "{counts}"
    );
    let summary = &job["summary"];
    assert!(
        counts.starts_with(&format!("{} findings", summary["findings"])),
        "{counts} vs {summary}"
    );
    let buttons = blocks.last().unwrap()["elements"].as_array().unwrap();
    assert_eq!(buttons[0]["url"], report_link);
    for b in buttons {
        assert_eq!(b["type"], "button");
        assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 75);
    }
    // Teams: one Adaptive Card attachment, retried once.
    let t = chat("/t/");
    assert_eq!(t["type"], "message");
    let card = &t["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["version"], "1.4");
    assert_eq!(card["content"]["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["content"]["actions"][0]["url"], report_link);
    assert_eq!(by_id(&ids[4])["attempts"], 2);
    assert_eq!(by_id(&ids[3])["status"], "delivered");

    // A test message, sent now: verified by the library as type `destination.test`; to the
    // receiver that fails each new message twice first, it reports the failure.
    let (s, tested) = post_to(format!("/api/v1/destinations/{}/test", ids[1])).await;
    assert_eq!(s, 200, "{tested}");
    assert_eq!(tested["delivered"], true, "{tested}");
    let last = receivers::logged(&log).last().cloned().unwrap();
    assert_eq!(last["verified"], true);
    assert_eq!(last["payload"]["type"], "destination.test");
    assert_eq!(last["payload"]["data"]["destination_id"], ids[1].as_str());
    let (s, refused) = post_to(format!("/api/v1/destinations/{}/test", ids[0])).await;
    assert_eq!(s, 200, "{refused}");
    assert_eq!(refused["delivered"], false);
    assert!(
        refused["error"].as_str().unwrap().contains("answered 500"),
        "{refused}"
    );
    let received = receivers::logged(&log);

    // Duplicate messages of done attempts send nothing more.
    for (dst, attempt) in [(&ids[0], 1), (&ids[0], 3), (&ids[1], 1), (&ids[2], 1)] {
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
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receivers::logged(&log).len(),
        received.len(),
        "duplicates sent nothing"
    );
    let (_, again) = call(&http, &base, Method::GET, &path, &token, None).await;
    assert_eq!(again["deliveries"], job["deliveries"]);

    // The audit trail: one `delivery.sent` per delivered destination, one `delivery.failed`.
    let (_, sent) = call(
        &http,
        &base,
        Method::GET,
        "/api/v1/audit?action=delivery.sent",
        &token,
        None,
    )
    .await;
    assert_eq!(sent["items"].as_array().unwrap().len(), 4, "{sent}");
    let (_, failed) = call(
        &http,
        &base,
        Method::GET,
        "/api/v1/audit?action=delivery.failed",
        &token,
        None,
    )
    .await;
    let failed = failed["items"].as_array().unwrap().clone();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["resource"]
            .as_str()
            .unwrap()
            .ends_with(&format!("#deliveries/{}", ids[2]))
    );
    stack.shutdown().await;
}
