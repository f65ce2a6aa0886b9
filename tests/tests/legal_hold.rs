//! Legal hold and purge over HTTP on the embedded stack: holding needs `export:admin` and a
//! reason, suspends the export's expiry and holds its objects (a held object cannot be
//! deleted); a held export cannot be purged (`409`) and still downloads; released, it is
//! purged — every object gone, the job `purged`, downloads `410`, a second purge a no-op,
//! a purged export not holdable; every hold, release and purge is in the audit trail.

use reqwest::Method;
use serde_json::{Value, json};

use ec_tests::{api_call, embedded, matches_openapi};

const SECRET: &str = "legal-hold-test-secret-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_exports_stay_and_released_ones_can_be_purged() {
    let dir = tempfile::tempdir().unwrap();
    let stack = embedded::start_with(dir.path(), &[("EXPORTCENTER_JWT_SECRET", SECRET)]).await;
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let (user, admin) = embedded::user_and_auditor(&stack);
    let call = |method: Method, path: String, token: String, body: Option<Value>| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            api_call(
                &http,
                &base,
                method,
                &path,
                &token,
                body.map(|b| b.to_string().into_bytes()),
            )
            .await
        }
    };

    let scan = ec_tests::ingest_fixture(&http, &base, &user, "trivy", "alpine-310").await;
    let body =
        json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan["scan_id"]]}});
    let (ready, _) = ec_tests::finished_export(&http, &base, &user, &body).await;
    let id = ready["export_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/exports/{id}");
    assert_eq!(ready["status"], "ready", "{ready}");
    let expires = ready["expires_at"].clone();
    assert!(expires.is_string());
    let hold = format!("{path}/legal-hold");

    // Scope and body rules.
    let (s, _) = call(
        Method::PUT,
        hold.clone(),
        user.clone(),
        Some(json!({"hold": true, "reason": "x"})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, e) = call(
        Method::PUT,
        hold.clone(),
        admin.clone(),
        Some(json!({"hold": true})),
    )
    .await;
    assert_eq!(
        (s, e["details"][0]["field"].as_str()),
        (422, Some("reason")),
        "{e}"
    );
    let (s, e) = call(
        Method::PUT,
        hold.clone(),
        admin.clone(),
        Some(json!({"hold": "yes"})),
    )
    .await;
    assert_eq!(
        (s, e["details"][0]["field"].as_str()),
        (422, Some("hold")),
        "{e}"
    );

    // Hold: expiry suspended, objects held.
    let (s, held) = call(
        Method::PUT,
        hold.clone(),
        admin.clone(),
        Some(json!({"hold": true, "reason": "litigation 2026-114"})),
    )
    .await;
    assert_eq!(s, 200, "{held}");
    matches_openapi("Job", &[&held]);
    assert_eq!(held["legal_hold"], true);
    assert!(held["expires_at"].is_null(), "{held}");
    assert_eq!(held["legal_hold_record"]["reason"], "litigation 2026-114");
    assert_eq!(held["legal_hold_record"]["by"], "auditor");
    let objects = &stack.pipeline.app.exports.objects;
    let sealed_key = held["artifacts"][1]["key"].as_str().unwrap().to_string();
    assert!(
        objects.delete(&sealed_key).await.is_err(),
        "a held object cannot be deleted"
    );

    let (s, e) = call(
        Method::DELETE,
        format!("{path}?purge=true"),
        admin.clone(),
        None,
    )
    .await;
    assert_eq!(s, 409, "{e}");
    let (s, _) = call(
        Method::GET,
        format!("{path}/download?artifact=sealed"),
        user.clone(),
        None,
    )
    .await;
    assert_eq!(s, 200, "a held export still downloads");
    let (s, _) = call(
        Method::DELETE,
        format!("{path}?purge=true"),
        user.clone(),
        None,
    )
    .await;
    assert_eq!(s, 403, "purging needs export:admin");

    // Release: the expiry comes back; then purge.
    let (s, released) = call(
        Method::PUT,
        hold.clone(),
        admin.clone(),
        Some(json!({"hold": false})),
    )
    .await;
    assert_eq!(s, 200, "{released}");
    assert_eq!(released["legal_hold"], false);
    assert_eq!(released["expires_at"], expires);
    let (s, purged) = call(
        Method::DELETE,
        format!("{path}?purge=true"),
        admin.clone(),
        None,
    )
    .await;
    assert_eq!(s, 202, "{purged}");
    assert_eq!(purged["status"], "purged");
    matches_openapi("Job", &[&purged]);
    for a in ready["artifacts"].as_array().unwrap() {
        let key = a["key"].as_str().unwrap();
        assert_eq!(objects.head(key).await.unwrap(), None, "{key} is gone");
    }
    let (s, e) = call(
        Method::GET,
        format!("{path}/download?artifact=report"),
        user.clone(),
        None,
    )
    .await;
    assert_eq!(s, 410, "{e}");
    let (s, again) = call(
        Method::DELETE,
        format!("{path}?purge=true"),
        admin.clone(),
        None,
    )
    .await;
    assert_eq!(
        (s, again["status"].as_str()),
        (202, Some("purged")),
        "idempotent"
    );
    let (s, e) = call(
        Method::PUT,
        hold.clone(),
        admin.clone(),
        Some(json!({"hold": true, "reason": "too late"})),
    )
    .await;
    assert_eq!(s, 409, "{e}");

    // The audit trail.
    let (_, trail) = call(
        Method::GET,
        "/api/v1/audit?limit=200".into(),
        admin.clone(),
        None,
    )
    .await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"].as_str().is_some_and(|r| r.contains(&id)))
        .filter(|e| e["outcome"] == "success")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "export.hold").count(),
        2,
        "hold and release: {actions:?}"
    );
    assert!(actions.contains(&"export.purge"), "{actions:?}");
    stack.shutdown().await;
}
