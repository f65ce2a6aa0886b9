//! `POST/GET/DELETE /api/v1/schedules` against the in-process embedded stack: statuses and
//! error bodies, tenant isolation, nothing stored by a rejected request, and the stack's
//! scheduler loop firing a due schedule into an ordinary export.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use ec_tests::{fixtures, matches_openapi};
use exportctl::stack::{Stack, StackConfig};

const SECRET: &str = "schedules-api-test-secret-0123456789abcdef";
const ALL_SCOPES: &str = "export:read export:write scan:write";

struct Client {
    http: reqwest::Client,
    base: String,
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts an error answer: status, code, and (when given) a detail on `field`.
    fn error(&self, what: &str, status: u16, code: &str, field: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{what}: {}", self.text);
        let b = self.json();
        assert_eq!(b["code"], code, "{what}: {b}");
        assert!(
            b["trace_id"].as_str().is_some_and(|t| !t.is_empty()),
            "{what}: {b}"
        );
        if let Some(field) = field {
            let details = b["details"].as_array().cloned().unwrap_or_default();
            assert!(
                details.iter().any(|d| d["field"] == field),
                "{what}: expected a detail on {field}: {b}"
            );
        }
    }
}

impl Client {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        tenant: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Tenant-Id", tenant);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap();
        Answer {
            status,
            location,
            text,
        }
    }

    async fn post(&self, path: &str, token: &str, tenant: &str, body: &Value) -> Answer {
        self.call(
            Method::POST,
            path,
            Some(token),
            tenant,
            Some("application/json"),
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }

    async fn get(&self, path: &str, token: &str, tenant: &str) -> Answer {
        self.call(Method::GET, path, Some(token), tenant, None, None)
            .await
    }

    async fn delete(&self, path: &str, token: &str, tenant: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), tenant, None, None)
            .await
    }
}

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    let path = fixtures(kind)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(name))
        .unwrap_or_else(|| panic!("fixture {kind}/{name} missing"));
    std::fs::read(path).unwrap()
}

fn request(scan_id: &str) -> Value {
    json!({ "type": "scan_report", "format": "json", "scope": { "scan_ids": [scan_id] } })
}

/// `PATCH path` with a JSON body, for `tenant`.
async fn patch(c: &Client, path: &str, token: &str, tenant: &str, body: Value) -> Answer {
    let body = serde_json::to_vec(&body).unwrap();
    c.call(
        Method::PATCH,
        path,
        Some(token),
        tenant,
        Some("application/json"),
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedules_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("EXPORTCENTER_JWT_SECRET", SECRET),
        ("EXPORTCENTER_SCHEDULER_TICK_SECS", "1"),
    ];
    let mut cfg = StackConfig::from_env(
        &env,
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("data"),
    )
    .unwrap();
    assert_eq!(cfg.scheduler_tick, Duration::from_secs(1));
    cfg.limits.request_bytes = 16 * 1024;
    let stack = Stack::start(cfg, &env).await.unwrap();
    let c = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        base: stack.base_url.clone(),
    };
    let mint = |tenant: &str, scopes: &str| stack.mint("alice", tenant, scopes, 3600).unwrap();
    let acme = mint("acme", ALL_SCOPES);
    let globex = mint("globex", ALL_SCOPES);
    let read_only = mint("acme", "export:read");
    let write_only = mint("acme", "export:write");

    let scan = c
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&acme),
            "acme",
            Some("application/json"),
            Some(fixture("trivy", "alpine-310")),
        )
        .await;
    assert_eq!(scan.status, StatusCode::CREATED, "{}", scan.text);
    let scan_id = scan.json()["scan_id"].as_str().unwrap().to_string();
    let globex_scan = c
        .call(
            Method::POST,
            "/api/v1/scans",
            Some(&globex),
            "globex",
            Some("application/json"),
            Some(fixture("trivy", "amazon-2")),
        )
        .await
        .json()["scan_id"]
        .as_str()
        .unwrap()
        .to_string();

    // --- Rejected creations: status, code, field; none stored. ---------------------------
    let sch = "/api/v1/schedules";
    for (what, body, status, code, field) in [
        (
            "bad cron",
            json!({"cron": "0 6 * *", "request": request(&scan_id)}),
            422,
            "ERR_EXPORT_VALIDATION",
            Some("cron"),
        ),
        (
            "out-of-range cron",
            json!({"cron": "0 25 * * *", "request": request(&scan_id)}),
            422,
            "ERR_EXPORT_VALIDATION",
            Some("cron"),
        ),
        (
            "both day fields",
            json!({"cron": "0 6 1 * 1", "request": request(&scan_id)}),
            422,
            "ERR_EXPORT_VALIDATION",
            Some("cron"),
        ),
        (
            "bad time zone",
            json!({"cron": "0 6 * * 1", "timezone": "Nowhere/Special", "request": request(&scan_id)}),
            422,
            "ERR_EXPORT_VALIDATION",
            Some("timezone"),
        ),
        (
            "unknown field",
            json!({"cron": "0 6 * * 1", "request": request(&scan_id), "enabled": true}),
            422,
            "ERR_EXPORT_VALIDATION",
            Some("enabled"),
        ),
        (
            "no request",
            json!({"cron": "0 6 * * 1"}),
            422,
            "ERR_EXPORT_VALIDATION",
            Some("request"),
        ),
        (
            "bad request format",
            json!({"cron": "0 6 * * 1", "request": {"type": "scan_report", "format": "docx", "scope": {"scan_ids": [&scan_id]}}}),
            422,
            "ERR_EXPORT_VALIDATION",
            Some("request.format"),
        ),
        (
            "unknown scan",
            json!({"cron": "0 6 * * 1", "request": request("scan-nope")}),
            404,
            "ERR_NOT_FOUND",
            Some("request.scope.scan_ids"),
        ),
        (
            "another tenant's scan",
            json!({"cron": "0 6 * * 1", "request": request(&globex_scan)}),
            404,
            "ERR_NOT_FOUND",
            Some("request.scope.scan_ids"),
        ),
    ] {
        c.post(sch, &acme, "acme", &body)
            .await
            .error(what, status, code, field);
    }
    let good =
        json!({"cron": "0 6 * * 1", "timezone": "Europe/Berlin", "request": request(&scan_id)});
    let good_bytes = serde_json::to_vec(&good).unwrap();
    c.call(
        Method::POST,
        sch,
        Some(&acme),
        "acme",
        Some("text/plain"),
        Some(good_bytes.clone()),
    )
    .await
    .error("wrong media type", 415, "ERR_UNSUPPORTED_MEDIA_TYPE", None);
    c.call(
        Method::POST,
        sch,
        Some(&acme),
        "acme",
        Some("application/json"),
        Some(b"{\"cron\":".to_vec()),
    )
    .await
    .error("malformed JSON", 400, "ERR_MALFORMED_BODY", None);
    let mut big = good_bytes.clone();
    big.resize(17 * 1024, b' ');
    c.call(
        Method::POST,
        sch,
        Some(&acme),
        "acme",
        Some("application/json"),
        Some(big),
    )
    .await
    .error("too large", 413, "ERR_PAYLOAD_TOO_LARGE", None);
    c.post(sch, &read_only, "acme", &good).await.error(
        "read-only token",
        403,
        "ERR_FORBIDDEN",
        None,
    );
    c.call(
        Method::POST,
        sch,
        None,
        "acme",
        Some("application/json"),
        Some(good_bytes),
    )
    .await
    .error("no token", 401, "ERR_UNAUTHENTICATED", None);
    c.post(sch, &acme, "globex", &good).await.error(
        "token for another tenant",
        403,
        "ERR_FORBIDDEN",
        None,
    );
    assert_eq!(c.get(sch, &acme, "acme").await.json(), json!({"items": []}));

    // --- Create, read, list, tenant isolation. ------------------------------------------
    let created = c.post(sch, &acme, "acme", &good).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let s = created.json();
    let id = s["schedule_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sch-"), "{s}");
    assert_eq!(
        created.location.as_deref(),
        Some(format!("{sch}/{id}").as_str())
    );
    assert_eq!(s["tenant_id"], "acme");
    assert_eq!(s["cron"], "0 6 * * 1");
    assert_eq!(s["timezone"], "Europe/Berlin");
    assert_eq!(s["request"], request(&scan_id));
    assert_eq!(s["created_by"], "alice");
    assert!(s["next_run_at"].is_string(), "{s}");
    assert!(
        s["last_run_at"].is_null() && s["last_export_id"].is_null(),
        "{s}"
    );
    let one = format!("{sch}/{id}");

    let got = c.get(&one, &read_only, "acme").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.json(), s);
    let list = c.get(sch, &read_only, "acme").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json(), json!({ "items": [s.clone()] }));
    c.get(sch, &write_only, "acme").await.error(
        "list without export:read",
        403,
        "ERR_FORBIDDEN",
        None,
    );

    assert_eq!(
        c.get(sch, &globex, "globex").await.json(),
        json!({"items": []})
    );
    c.get(&one, &globex, "globex").await.error(
        "GET another tenant's schedule",
        404,
        "ERR_NOT_FOUND",
        None,
    );
    c.delete(&one, &globex, "globex").await.error(
        "DELETE another tenant's schedule",
        404,
        "ERR_NOT_FOUND",
        None,
    );
    c.get(&format!("{sch}/sch-unknown"), &acme, "acme")
        .await
        .error("unknown id", 404, "ERR_NOT_FOUND", None);
    c.delete(&one, &read_only, "acme").await.error(
        "DELETE without export:write",
        403,
        "ERR_FORBIDDEN",
        None,
    );
    c.call(Method::PUT, &one, Some(&acme), "acme", None, None)
        .await
        .error("PUT", 405, "ERR_METHOD_NOT_ALLOWED", None);
    assert_eq!(
        c.get(&one, &acme, "acme").await.status,
        StatusCode::OK,
        "still there"
    );

    // --- The stack's scheduler fires a due schedule into one ordinary export. -----------
    let store = &stack.pipeline.scheduler.store;
    let stored = store
        .get(&"acme".parse().unwrap(), &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut past = stored.clone();
    past.next_run_at = Some(stored.created_at - time::Duration::days(20));
    past.version = stored.version + 1;
    store.update(&past, stored.version).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let fired = loop {
        let s = c.get(&one, &acme, "acme").await.json();
        if s["last_export_id"].is_string() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler never fired: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let export_id = fired["last_export_id"].as_str().unwrap();
    let job = c
        .get(&format!("/api/v1/exports/{export_id}"), &acme, "acme")
        .await
        .json();
    assert_eq!(job["schedule_id"], id.as_str(), "{job}");
    assert!(fired["last_error"].is_null(), "{fired}");
    let next = ec_domain::time::parse_rfc3339(fired["next_run_at"].as_str().unwrap()).unwrap();
    assert!(next > ec_domain::time::now(), "continues from now: {fired}");
    // Three weekly slots were missed: one catch-up run, and no more on later ticks.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let exports = c.get("/api/v1/exports", &acme, "acme").await.json();
    let scheduled: Vec<&Value> = exports["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["schedule_id"] == id.as_str())
        .collect();
    assert_eq!(scheduled.len(), 1, "{exports}");

    // --- Pause, run now, change, resume (PATCH, POST …/run). ----------------------------
    let paused = patch(&c, &one, &acme, "acme", json!({"paused": true})).await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.text);
    let paused = paused.json();
    assert_eq!(paused["paused"], true);
    assert!(paused["next_run_at"].is_null(), "{paused}");
    let ran = c
        .post(&format!("{one}/run"), &acme, "acme", &json!({}))
        .await;
    assert_eq!(ran.status, StatusCode::ACCEPTED, "{}", ran.text);
    let run_job = ran.json();
    assert_eq!(run_job["schedule_id"], id.as_str());
    let after = c.get(&one, &acme, "acme").await.json();
    assert_eq!(after["last_export_id"], run_job["export_id"]);
    assert!(
        after["next_run_at"].is_null(),
        "a run now keeps it paused: {after}"
    );
    patch(&c, &one, &acme, "acme", json!({"cron": "61 * * * *"}))
        .await
        .error("PATCH bad cron", 422, "ERR_EXPORT_VALIDATION", Some("cron"));
    patch(&c, &one, &acme, "acme", json!({"colour": 1}))
        .await
        .error(
            "PATCH unknown field",
            422,
            "ERR_EXPORT_VALIDATION",
            Some("colour"),
        );
    patch(&c, &one, &globex, "globex", json!({"paused": false}))
        .await
        .error("PATCH another tenant's", 404, "ERR_NOT_FOUND", None);
    assert_eq!(
        c.get(&one, &acme, "acme").await.json()["cron"],
        after["cron"]
    );
    let resumed = patch(
        &c,
        &one,
        &acme,
        "acme",
        json!({"paused": false, "cron": "0 7 * * 2"}),
    )
    .await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.text);
    let resumed = resumed.json();
    assert_eq!(resumed["paused"], false);
    assert_eq!(resumed["cron"], "0 7 * * 2");
    assert!(resumed["next_run_at"].is_string(), "{resumed}");

    // What the routes answer is what openapi.json describes.
    let listed = c.get(sch, &acme, "acme").await.json();
    matches_openapi("Schedule", &[&s, &fired, &paused, &resumed]);
    matches_openapi("Job", &[&run_job]);
    matches_openapi("ScheduleList", &[&listed]);
    matches_openapi("ScheduleRequest", &[&good]);

    // --- Delete: 204, then gone. ---------------------------------------------------------
    let del = c.delete(&one, &acme, "acme").await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);
    assert!(del.text.is_empty());
    c.get(&one, &acme, "acme")
        .await
        .error("GET after DELETE", 404, "ERR_NOT_FOUND", None);
    c.delete(&one, &acme, "acme")
        .await
        .error("DELETE twice", 404, "ERR_NOT_FOUND", None);
    assert_eq!(c.get(sch, &acme, "acme").await.json(), json!({"items": []}));
    // Its export stays.
    assert_eq!(
        c.get(&format!("/api/v1/exports/{export_id}"), &acme, "acme")
            .await
            .status,
        StatusCode::OK
    );

    stack.shutdown().await;
}
