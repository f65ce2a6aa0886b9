//! The tenant-swap suite (issue 12, proof): tenant A (`acme`) makes an export, a scan, a
//! schedule and a custom template on a real `exportctl serve`; tenant B (`globex`) then
//! calls every endpoint with A's ids, and must get exactly what it gets for an id that
//! does not exist (404 with the contract's error body: nothing tells B that A's id is
//! real), never A's data; a token for B naming `X-Tenant-Id: acme` is 403 everywhere; a
//! token for both tenants sees only the tenant its `X-Tenant-Id` names; and over the
//! WebSocket, B's subscribers never receive A's pushes while A's do.
//!
//! Why: every resource is keyed by tenant in every store; one handler or adapter that
//! looks an id up without its tenant would leak another customer's vulnerabilities.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use ec_tests::fixtures;
use ec_tests::serve::{SECRET, Server};
use exportctl::client::{Client, Events};

const A: &str = "acme";
const B: &str = "globex";
const SCOPES: &str = "export:read export:write scan:write template:write";
/// How long a subscriber must stay silent to count as having received nothing.
const GRACE: Duration = Duration::from_secs(3);

fn token(tenant: &str) -> String {
    ec_api::auth::mint(SECRET.as_bytes(), "swap", tenant, SCOPES, 600).expect("mint")
}

/// A token for several tenants (`tenants` claim).
fn multi_tenant_token(tenants: &[&str]) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = ec_api::auth::Claims {
        sub: Some("both".into()),
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
        scope: Some(SCOPES.into()),
        exp: Some(now + 600),
        iat: now,
        ..Default::default()
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: Value,
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        tenant: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("X-Tenant-Id", tenant);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer {
            status,
            location,
            body,
        }
    }
}

/// The contract's error body with `status` and `code`.
fn assert_error(what: &str, a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "{what}: {}", a.body);
    assert_eq!(a.body["code"], code, "{what}: {}", a.body);
    for field in ["message", "trace_id", "timestamp"] {
        assert!(
            a.body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: no {field}: {}",
            a.body
        );
    }
    assert!(a.body["details"].is_array(), "{what}: {}", a.body);
}

/// Nothing arrives on `events` for `GRACE`.
async fn silent(what: &str, events: &mut Events) {
    if let Ok(msg) = events.next(GRACE).await {
        panic!("{what} received {msg}");
    }
}

/// Waits for `export.ready` of every id on `events`; returns the messages by id.
async fn wait_ready(
    events: &mut Events,
    ids: &[&String],
) -> std::collections::HashMap<String, Value> {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    let done = events
        .wait_all(&ids, Duration::from_secs(120), |_| {})
        .await
        .expect("exports finished");
    for msg in done.values() {
        assert_eq!(msg["type"], "export.ready", "{msg}");
    }
    done
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures("trivy")
        .into_iter()
        .find(|p| p.to_string_lossy().contains(name))
        .expect("fixture");
    std::fs::read(path).expect("read fixture")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_ids_are_not_found_and_its_pushes_never_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = Api {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        base: server.base_url.clone(),
    };
    let (ta, tb, both) = (token(A), token(B), multi_tenant_token(&[A, B]));
    let a = Client::new(&server.base_url, &ta, A).unwrap();
    let b = Client::new(&server.base_url, &tb, B).unwrap();

    // --- Subscribers first: A's, B's, and the two-tenant token's as B. ----------------------
    let mut a_ws = a.events().await.expect("A subscribes");
    let mut b_ws = b.events().await.expect("B subscribes");
    let mut both_as_b = Client::new(&server.base_url, &both, B)
        .unwrap()
        .events()
        .await
        .expect("two-tenant token subscribes as B");
    // B's token cannot subscribe as A (header or query form).
    let refused = Client::new(&server.base_url, &tb, A)
        .unwrap()
        .events()
        .await;
    assert!(refused.is_err(), "B's token subscribed as A");
    let ws = server.base_url.replacen("http", "ws", 1);
    let query = format!("{ws}/ws?token={tb}&tenant={A}");
    assert!(
        tokio_tungstenite::connect_async(query.as_str())
            .await
            .is_err(),
        "B's token subscribed as A through the query string"
    );

    // --- Tenant A's resources. ---------------------------------------------------------------
    let alpine = fixture("alpine-310");
    let scan_a = a.ingest(alpine.clone()).await.unwrap().scan_id.to_string();
    let scan_b = b
        .ingest(fixture("amazon-2"))
        .await
        .unwrap()
        .scan_id
        .to_string();
    // The same document ingested by B is B's own scan, under another id.
    let scan_b_alpine = b.ingest(alpine).await.unwrap().scan_id.to_string();
    assert_ne!(
        scan_a, scan_b_alpine,
        "scan ids must not collide across tenants"
    );

    let put = api
        .call(
            Method::PUT,
            &format!("/api/v1/templates/custom-{A}"),
            &ta,
            A,
            Some(json!({"csv": "id\r\n{% for f in findings %}{{ f.vulnerability_id }}\r\n{% endfor %}"})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);

    let request = |scan: &str| json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan]}});
    let export_a = a
        .create_export(&request(&scan_a), Some("nightly-1"))
        .await
        .unwrap()
        .export_id
        .to_string();
    let custom_a = a
        .create_export(
            &json!({"type": "scan_report", "format": "csv", "scope": {"scan_ids": [&scan_a]},
                    "options": {"template": format!("custom-{A}")}}),
            None,
        )
        .await
        .unwrap()
        .export_id
        .to_string();
    let ready = wait_ready(&mut a_ws, &[&export_a, &custom_a]).await;
    assert!(ready.values().all(|m| m["tenant_id"] == A), "{ready:?}");
    // A's pushes reached A; B's subscribers got nothing at all.
    silent("B's subscriber", &mut b_ws).await;
    silent("the two-tenant subscriber as B", &mut both_as_b).await;

    let schedule = api
        .call(
            Method::POST,
            "/api/v1/schedules",
            &ta,
            A,
            Some(json!({"cron": "0 6 * * 1", "request": request(&scan_a)})),
        )
        .await;
    assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.body);
    let schedule_a = schedule.body["schedule_id"].as_str().unwrap().to_string();

    // --- B (and the two-tenant token naming B) with A's ids on every endpoint. -------------
    let exp = |id: &str| format!("/api/v1/exports/{id}");
    let dl =
        |id: &str, artifact: &str| format!("/api/v1/exports/{id}/download?artifact={artifact}");
    let sch = |id: &str| format!("/api/v1/schedules/{id}");
    let missing_exp = "exp-01jzzzzzzzzzzzzzzzzzzzzzzz";
    let missing_sch = "sch-01jzzzzzzzzzzzzzzzzzzzzzzz";
    // (what, method, path with A's id, the same path with an id nobody has, body)
    let swaps: Vec<(&str, Method, String, String, Option<Value>)> = vec![
        (
            "GET export",
            Method::GET,
            exp(&export_a),
            exp(missing_exp),
            None,
        ),
        (
            "DELETE export",
            Method::DELETE,
            exp(&export_a),
            exp(missing_exp),
            None,
        ),
        (
            "download",
            Method::GET,
            format!("{}/download", exp(&export_a)),
            format!("{}/download", exp(missing_exp)),
            None,
        ),
        (
            "download report",
            Method::GET,
            dl(&export_a, "report"),
            dl(missing_exp, "report"),
            None,
        ),
        (
            "download sealed",
            Method::GET,
            dl(&export_a, "sealed"),
            dl(missing_exp, "sealed"),
            None,
        ),
        (
            "download custom report",
            Method::GET,
            dl(&custom_a, "report"),
            dl(missing_exp, "report"),
            None,
        ),
        (
            "download other artifact",
            Method::GET,
            dl(&export_a, "evidence"),
            dl(missing_exp, "evidence"),
            None,
        ),
        (
            "GET schedule",
            Method::GET,
            sch(&schedule_a),
            sch(missing_sch),
            None,
        ),
        (
            "DELETE schedule",
            Method::DELETE,
            sch(&schedule_a),
            sch(missing_sch),
            None,
        ),
        (
            "GET custom template",
            Method::GET,
            format!("/api/v1/templates/custom-{A}"),
            "/api/v1/templates/custom-nobody".into(),
            None,
        ),
        (
            "PUT custom template",
            Method::PUT,
            format!("/api/v1/templates/custom-{A}"),
            "/api/v1/templates/custom-nobody".into(),
            Some(json!({"csv": "stolen {{ 1 }}"})),
        ),
        (
            "export of A's scan",
            Method::POST,
            "/api/v1/exports".into(),
            "/api/v1/exports".into(),
            Some(request(&scan_a)),
        ),
        (
            "schedule of A's scan",
            Method::POST,
            "/api/v1/schedules".into(),
            "/api/v1/schedules".into(),
            Some(json!({"cron": "0 6 * * 1", "request": request(&scan_a)})),
        ),
    ];
    for (token, who) in [(&tb, "B"), (&both, "two-tenant token as B")] {
        for (what, method, path, missing, body) in &swaps {
            let what = format!("{who}: {what}");
            // An export or schedule of A's scan is refused like one of a scan nobody has.
            let missing_body = body.as_ref().map(|b| {
                let text = b.to_string().replace(scan_a.as_str(), "scan-nobody0000");
                serde_json::from_str(&text).unwrap()
            });
            let got = api.call(method.clone(), path, token, B, body.clone()).await;
            let control = api
                .call(method.clone(), missing, token, B, missing_body)
                .await;
            assert!(
                got.status.is_client_error(),
                "{what}: {} {}",
                got.status,
                got.body
            );
            assert_eq!(
                (got.status, &got.body["code"]),
                (control.status, &control.body["code"]),
                "{what}: A's id answers otherwise than an unknown id: {}",
                got.body
            );
            assert!(
                got.location.is_none(),
                "{what}: redirected to {:?}",
                got.location
            );
            let code = got.body["code"].as_str().unwrap_or_default().to_string();
            assert_error(&what, &got, got.status.as_u16(), &code);
            if !what.ends_with("other artifact") {
                assert_error(&what, &got, 404, "ERR_NOT_FOUND");
            }
            assert!(
                !got.body.to_string().contains(&scan_a) || what.contains("A's scan"),
                "{what}: {}",
                got.body
            );
        }

        // Listings show none of A's.
        for path in [
            "/api/v1/exports",
            "/api/v1/exports?status=ready",
            "/api/v1/schedules",
            "/api/v1/templates",
        ] {
            let list = api.call(Method::GET, path, token, B, None).await;
            assert_eq!(list.status, StatusCode::OK, "{who} {path}: {}", list.body);
            let text = list.body.to_string();
            for id in [
                &export_a,
                &custom_a,
                &schedule_a,
                &scan_a,
                &format!("custom-{A}"),
            ] {
                assert!(
                    !text.contains(id.as_str()),
                    "{who} {path} lists {id}: {text}"
                );
            }
        }
    }

    // A's list cursor does not open A's jobs to B.
    let page = api
        .call(Method::GET, "/api/v1/exports?limit=1", &ta, A, None)
        .await;
    let cursor = page.body["next_cursor"]
        .as_str()
        .expect("A has a second page")
        .to_string();
    let stolen = api
        .call(
            Method::GET,
            &format!("/api/v1/exports?limit=1&cursor={cursor}"),
            &tb,
            B,
            None,
        )
        .await;
    assert!(
        !stolen.body.to_string().contains(&export_a)
            && !stolen.body.to_string().contains(&custom_a),
        "A's cursor showed A's jobs to B: {}",
        stolen.body
    );

    // A's Idempotency-Key is not B's: B gets its own job, no conflict with A's body.
    let own = b
        .create_export(&request(&scan_b), Some("nightly-1"))
        .await
        .expect("B's request under A's key");
    assert_ne!(own.export_id.as_str(), export_a);
    assert_eq!(own.tenant_id.as_str(), B);

    // B's token naming A: 403 on every route, A's ids or not.
    for (what, method, path, _, body) in &swaps {
        let got = api.call(method.clone(), path, &tb, A, body.clone()).await;
        assert_error(
            &format!("B's token as A: {what}"),
            &got,
            403,
            "ERR_FORBIDDEN",
        );
    }
    for path in ["/api/v1/exports", "/api/v1/schedules", "/api/v1/templates"] {
        let got = api.call(Method::GET, path, &tb, A, None).await;
        assert_error(
            &format!("B's token as A: GET {path}"),
            &got,
            403,
            "ERR_FORBIDDEN",
        );
    }

    // The two-tenant token naming A sees A's (the same paths work for their owner)…
    let mine = api.call(Method::GET, &exp(&export_a), &both, A, None).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["tenant_id"], A);
    let report = api
        .call(Method::GET, &dl(&export_a, "sealed"), &both, A, None)
        .await;
    assert_eq!(report.status, StatusCode::FOUND, "{}", report.body);
    // …and without X-Tenant-Id must say which tenant.
    let none = api
        .http
        .get(format!("{}/api/v1/exports", api.base))
        .bearer_auth(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);

    // Nothing B did changed A's: the export is still ready, schedule and template remain.
    let job = a.get_export(&export_a).await.unwrap();
    assert_eq!(job.status.as_str(), "ready");
    let kept = api.call(Method::GET, &sch(&schedule_a), &ta, A, None).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    let tpl = api
        .call(
            Method::GET,
            &format!("/api/v1/templates/custom-{A}"),
            &ta,
            A,
            None,
        )
        .await;
    assert_eq!(tpl.status, StatusCode::OK, "{}", tpl.body);
    assert!(
        !tpl.body.to_string().contains("stolen"),
        "B overwrote A's template: {}",
        tpl.body
    );

    // B's own export reaches B's subscribers (they were listening all along) and not A's.
    wait_ready(&mut b_ws, &[&own.export_id.to_string()]).await;
    wait_ready(&mut both_as_b, &[&own.export_id.to_string()]).await;
    silent("A's subscriber", &mut a_ws).await;
    server.kill();
}
