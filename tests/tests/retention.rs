//! Retention on the embedded stack, over HTTP: each tenant's default and maximum (the
//! tenant settings document) and each export's `options.retention_days` decide the job's
//! `expires_at`; asking more than the maximum is `422`. Active expiry: the stack's sweeper
//! (every second here) deletes the artifacts of an export whose retention ended — every
//! object gone, the job `expired` with no artifacts, downloads `410`, `export.expired` in
//! the audit trail — while a held export stays whole past its retention, and expires once
//! released. The retention's end is moved into the past by rewriting the stored job (the
//! stack's own job table), which is what time passing would do.

use reqwest::Method;
use serde_json::{Value, json};

use ec_domain::ports::JobTable;
use ec_domain::{ExportId, Job, TenantId};
use ec_tests::{caller, embedded};

const SECRET: &str = "retention-test-secret-0123456789abcdef";

/// Moves `id`'s retention end (or, when held, the end the hold suspended) into the past.
async fn age(jobs: &dyn JobTable, id: &str) {
    let (tenant, id): (TenantId, ExportId) = ("acme".parse().unwrap(), id.parse().unwrap());
    let job: Job = jobs.get(&tenant, &id).await.unwrap().expect("the job");
    let past = ec_domain::time::now() - time::Duration::seconds(5);
    let mut next = job.clone();
    match next.legal_hold_record.as_mut().filter(|_| job.legal_hold) {
        Some(record) => record.expires_at_before = Some(past),
        None => next.expires_at = Some(past),
    }
    next.version += 1;
    jobs.update(&next, job.version).await.unwrap();
}

/// Polls `id` until the sweeper is done with it: `expired` with no artifacts listed (the
/// job is `expired` a moment before its objects are gone; at most 20 s).
async fn wait_swept(
    call: &impl Fn(Method, String, Option<Value>) -> ec_tests::Answer,
    id: &str,
) -> Value {
    for _ in 0..200 {
        let (_, j) = call(Method::GET, format!("/api/v1/exports/{id}"), None).await;
        if j["status"] == "expired" && j["artifacts"] == json!([]) {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("export {id} was never swept");
}

fn days_kept(job: &Value) -> i64 {
    let at = |k: &str| ec_domain::time::parse_rfc3339(job[k].as_str().unwrap()).unwrap();
    (at("expires_at") - at("updated_at")).whole_days()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_follows_the_tenant_and_the_request_and_the_sweeper_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("tenants.json");
    std::fs::write(
        &settings,
        json!({"tenants": {"acme": {"retention": {"default_days": 7, "max_days": 30}}}})
            .to_string(),
    )
    .unwrap();
    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_TENANT_SETTINGS", settings.to_str().unwrap()),
            ("EXPORTCENTER_SWEEP_INTERVAL_SECS", "1"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let (user, admin) = embedded::user_and_auditor(&stack);
    let call = caller(&http, &base, &user);
    let as_admin = caller(&http, &base, &admin);

    let scan = ec_tests::ingest_fixture(&http, &base, &user, "trivy", "alpine-310").await;
    let body = |options: Value| {
        json!({"type": "scan_report", "format": "json",
               "scope": {"scan_ids": [scan["scan_id"]]}, "options": options})
    };

    // The tenant's maximum.
    let (s, e) = call(
        Method::POST,
        "/api/v1/exports".into(),
        Some(body(json!({"retention_days": 31}))),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["details"][0]["field"], "options.retention_days", "{e}");
    assert!(
        e["details"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("30 days"),
        "{e}"
    );

    // The tenant's default, and what a request asks.
    let (plain, _) = ec_tests::finished_export(&http, &base, &user, &body(json!({}))).await;
    assert_eq!(plain["status"], "ready", "{plain}");
    assert_eq!(days_kept(&plain), 7, "{plain}");
    let (held, _) =
        ec_tests::finished_export(&http, &base, &user, &body(json!({"retention_days": 30}))).await;
    assert_eq!(days_kept(&held), 30, "{held}");
    assert_eq!(held["request"]["options"]["retention_days"], 30, "{held}");
    let plain_id = plain["export_id"].as_str().unwrap().to_string();
    let held_id = held["export_id"].as_str().unwrap().to_string();

    let (s, j) = as_admin(
        Method::PUT,
        format!("/api/v1/exports/{held_id}/legal-hold"),
        Some(json!({"hold": true, "reason": "audit 2026-7"})),
    )
    .await;
    assert_eq!(s, 200, "{j}");

    // Both retentions end; the sweeper takes the one that is not held.
    let jobs = stack.pipeline.app.exports.jobs.clone();
    age(jobs.as_ref(), &plain_id).await;
    age(jobs.as_ref(), &held_id).await;
    wait_swept(&call, &plain_id).await;
    let objects = &stack.pipeline.app.exports.objects;
    for a in plain["artifacts"].as_array().unwrap() {
        let key = a["key"].as_str().unwrap();
        assert_eq!(objects.head(key).await.unwrap(), None, "{key} is deleted");
    }
    let (s, e) = call(
        Method::GET,
        format!("/api/v1/exports/{plain_id}/download?artifact=report"),
        None,
    )
    .await;
    assert_eq!(s, 410, "{e}");

    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, still) = call(Method::GET, format!("/api/v1/exports/{held_id}"), None).await;
    assert_eq!(still["status"], "ready", "held past its retention: {still}");
    let (s, _) = call(
        Method::GET,
        format!("/api/v1/exports/{held_id}/download?artifact=sealed"),
        None,
    )
    .await;
    assert_eq!(s, 200, "a held export still downloads");

    // Released, its retention (already over) applies again.
    let (s, j) = as_admin(
        Method::PUT,
        format!("/api/v1/exports/{held_id}/legal-hold"),
        Some(json!({"hold": false})),
    )
    .await;
    assert_eq!(s, 200, "{j}");
    wait_swept(&call, &held_id).await;
    for a in held["artifacts"].as_array().unwrap() {
        let key = a["key"].as_str().unwrap();
        assert_eq!(objects.head(key).await.unwrap(), None, "{key} is deleted");
    }

    // The trail's entry follows the job's last write.
    let mut want = vec![
        format!("/api/v1/exports/{plain_id}"),
        format!("/api/v1/exports/{held_id}"),
    ];
    want.sort();
    let mut swept = Vec::new();
    for _ in 0..50 {
        let (_, trail) = as_admin(
            Method::GET,
            "/api/v1/audit?action=export.expired".into(),
            None,
        )
        .await;
        swept = trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].as_str().unwrap().to_string())
            .collect();
        swept.sort();
        if swept == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(swept, want);
    stack.shutdown().await;
}
