//! Cancelling an export pushes `export.cancelled` on the tenant's WebSocket (a client that
//! waits for `export.ready` would otherwise wait forever), and `exportctl`'s client stops
//! waiting on it. The message matches the contract's `ExportEvent` schema.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use ec_tests::{api_call, embedded, fixtures, matches_openapi};

const SECRET: &str = "cancel-event-test-secret-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_export_is_announced() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, client) = embedded::start(
        dir.path(),
        SECRET,
        "acme",
        "export:read export:write scan:write",
    )
    .await;
    let token = stack
        .mint("alice", "acme", "export:read export:write", 600)
        .unwrap();
    let doc = std::fs::read(fixtures("trivy").into_iter().next().unwrap()).unwrap();
    let scan = client.ingest(doc).await.unwrap();
    let http = reqwest::Client::new();
    let mut events = client.events().await.unwrap();
    // The pipeline may finish a small export before the cancel lands (409): try again.
    let mut cancelled = None;
    for _ in 0..10 {
        let job = client
            .create_export(
                &json!({"type": "scan_report", "format": "pdf",
                        "scope": {"scan_ids": [scan.scan_id]}}),
                None,
            )
            .await
            .unwrap();
        let id = job.export_id.to_string();
        let path = format!("/api/v1/exports/{id}");
        let (status, body) =
            api_call(&http, &stack.base_url, Method::DELETE, &path, &token, None).await;
        match status {
            202 => {
                assert_eq!(body["status"], "cancelled", "{body}");
                cancelled = Some(id);
                break;
            }
            409 => continue,
            other => panic!("cancel answered {other}: {body}"),
        }
    }
    let id = cancelled.expect("one export cancelled before it finished");
    let finals = events
        .wait_all(std::slice::from_ref(&id), Duration::from_secs(30), |_| {})
        .await
        .expect("the client stops waiting");
    let event = &finals[&id];
    assert_eq!(event["type"], "export.cancelled", "{event}");
    assert_eq!(event["status"], "cancelled");
    matches_openapi("ExportEvent", &[event]);
    stack.shutdown().await;
}
