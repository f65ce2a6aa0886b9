//! `scope.relative` on a one-off export over HTTP (embedded stack): the window is resolved
//! against the export's creation time and recorded on the job with the scans it selected;
//! a retry with the same `Idempotency-Key` a moment later is the same request (the key
//! covers the window as asked, not as resolved); a window without scans, a duration with
//! months and unknown fields are `422` on the field at fault.

use std::time::Duration;

use serde_json::{Value, json};

use ec_tests::{embedded, matches_openapi};

const SECRET: &str = "relative-scope-test-secret-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_windows_resolve_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    let stack = embedded::start_with(dir.path(), &[("EXPORTCENTER_JWT_SECRET", SECRET)]).await;
    let token = stack
        .mint("alice", "acme", "export:read export:write scan:write", 3600)
        .unwrap();
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();

    // One scan from yesterday, one from last month.
    let mut scan_ids = Vec::new();
    for (name, days) in [("alpine-310", 1), ("amazon-2", 40)] {
        let path = ec_tests::fixtures("trivy")
            .into_iter()
            .find(|p| p.to_string_lossy().contains(name))
            .unwrap();
        let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        doc["CreatedAt"] = Value::String(ec_domain::time::rfc3339(
            ec_domain::time::now() - time::Duration::days(days),
        ));
        let (s, receipt) = ec_tests::api_call(
            &http,
            &base,
            reqwest::Method::POST,
            "/api/v1/scans",
            &token,
            Some(serde_json::to_vec(&doc).unwrap()),
        )
        .await;
        assert_eq!(s, 201, "{receipt}");
        scan_ids.push(receipt["scan_id"].clone());
    }

    let post = |body: Value, key: Option<&'static str>| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let mut req = http
                .post(format!("{base}/api/v1/exports"))
                .bearer_auth(&token)
                .json(&body);
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let weekly = json!({"type": "scan_report", "format": "json",
                        "scope": {"relative": {"last": "P7D"}}});

    let before = ec_domain::time::now();
    let (s, job) = post(weekly.clone(), Some("weekly-1")).await;
    assert_eq!(s, 202, "{job}");
    matches_openapi("Job", &[&job]);
    let resolved = &job["request"]["scope"]["relative"]["resolved"];
    let at = |k: &str| ec_domain::time::parse_rfc3339(resolved[k].as_str().unwrap()).unwrap();
    assert_eq!(at("to") - at("from"), time::Duration::days(7), "{resolved}");
    assert!(at("to") >= before - time::Duration::seconds(1) && at("to") <= ec_domain::time::now());

    // The same key a moment later: the same export, not a 409 for a "different" window.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, again) = post(weekly.clone(), Some("weekly-1")).await;
    assert!(s == 200 || s == 202, "{s} {again}");
    assert_eq!(again["export_id"], job["export_id"]);

    // Gathered: the job records the one scan the window selected.
    let path = format!("/api/v1/exports/{}", job["export_id"].as_str().unwrap());
    let mut done = Value::Null;
    for _ in 0..300 {
        let (_, j) =
            ec_tests::api_call(&http, &base, reqwest::Method::GET, &path, &token, None).await;
        if j["status"] == "ready" || j["status"] == "failed" {
            done = j;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "ready", "{done}");
    assert_eq!(done["scope_scan_ids"], json!([scan_ids[0]]), "{done}");
    matches_openapi("Job", &[&done]);

    // Refusals name the field.
    for (scope, field, says) in [
        (
            json!({"relative": {"last": "PT1H"}}),
            "scope.relative",
            "no scans between",
        ),
        (
            json!({"relative": {"last": "P1M"}}),
            "scope.relative.last",
            "months",
        ),
        (
            json!({"relative": {"last": "P7D", "resolved": {}}}),
            "scope.relative.resolved",
            "unknown field",
        ),
        (
            json!({"relative": {"last": "P7D"}, "scan_ids": [scan_ids[0]]}),
            "scope",
            "exactly one",
        ),
    ] {
        let (s, e) = post(
            json!({"type": "scan_report", "format": "json", "scope": scope}),
            None,
        )
        .await;
        assert_eq!(s, 422, "{e}");
        let detail = &e["details"][0];
        assert_eq!(detail["field"], field, "{e}");
        assert!(detail["reason"].as_str().unwrap().contains(says), "{e}");
    }
    stack.shutdown().await;
}
