//! `POST/GET/DELETE /api/v1/destinations` against the in-process embedded stack: each type
//! created with its secret kept out of every answer but the webhook's first, the SSRF rules
//! (loopback, link-local metadata, private addresses and a name resolving to loopback
//! refused by default, allowed with `EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS=true`), every
//! field problem named, scopes, tenant isolation, and the audit trail.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use ec_tests::{embedded, matches_openapi};
use exportctl::stack::Stack;

const SECRET: &str = "destinations-api-test-secret-0123456789abcdef";
const SCOPES: &str = "export:read export:write destination:write audit:read";

struct Api {
    http: reqwest::Client,
    base: String,
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Api {
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        Answer {
            status,
            headers,
            body,
        }
    }
}

async fn start(dir: &std::path::Path, extra: &[(&str, &str)]) -> (Stack, Api) {
    let mut env = vec![("EXPORTCENTER_JWT_SECRET", SECRET)];
    env.extend_from_slice(extra);
    let stack = embedded::start_with(dir, &env).await;
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        base: stack.base_url.clone(),
    };
    (stack, api)
}

fn fields(a: &Answer) -> Vec<String> {
    a.body["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|d| d["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, api) = start(dir.path(), &[]).await;
    let acme = stack.mint("alice", "acme", SCOPES, 3600).unwrap();
    let globex = stack.mint("bob", "globex", SCOPES, 3600).unwrap();
    let reader = stack.mint("carol", "acme", "export:read", 3600).unwrap();
    let writer = stack
        .mint("dave", "acme", "export:read export:write", 3600)
        .unwrap();
    let post = |token: &str, body: Value| {
        let token = token.to_string();
        let api = &api;
        async move {
            api.call(Method::POST, "/api/v1/destinations", &token, Some(&body))
                .await
        }
    };

    // A webhook: 201, its generated secret once (no-store), never again.
    let hook = post(
        &acme,
        json!({"name": "SIEM", "type": "webhook", "config": {"url": "https://93.184.216.34/hooks/ec"}}),
    )
    .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
    assert_eq!(hook.headers["cache-control"], "no-store");
    let id = hook.body["destination_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("dst-"), "{id}");
    assert_eq!(
        hook.headers["location"].to_str().unwrap(),
        format!("/api/v1/destinations/{id}")
    );
    let secret = hook.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(
        hook.body["events"],
        json!(["export.ready", "export.failed"])
    );
    assert_eq!(hook.body["has_secret"], true);
    let got = api
        .call(
            Method::GET,
            &format!("/api/v1/destinations/{id}"),
            &reader,
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.get("secret").is_none(), "{}", got.body);
    assert!(!got.body.to_string().contains(&secret));

    // Slack: the URL is the credential, shown without its path.
    let slack_url = "https://93.184.216.35/services/T000/B000/XXXXXXXXXXXXXXXX";
    let slack = post(
        &acme,
        json!({"name": "sec-team", "type": "slack", "config": {"url": slack_url}, "events": ["export.failed"]}),
    )
    .await;
    assert_eq!(slack.status, StatusCode::CREATED, "{}", slack.body);
    assert_eq!(slack.body["config"]["url"], "https://93.184.216.35/…");
    assert!(slack.body.get("secret").is_none());
    let email = post(
        &acme,
        json!({"name": "CISO", "type": "email", "config": {"to": ["ciso@acme.example"], "attach": true}}),
    )
    .await;
    assert_eq!(email.status, StatusCode::CREATED, "{}", email.body);
    let gh = post(
        &acme,
        json!({"name": "code scanning", "type": "github_code_scanning", "config": {
            "repository": "acme/app", "ref": "refs/heads/main",
            "commit_sha": "0123456789abcdef0123456789abcdef01234567", "token": "ghp_not-shown"}}),
    )
    .await;
    assert_eq!(gh.status, StatusCode::CREATED, "{}", gh.body);
    assert!(!gh.body.to_string().contains("ghp_not-shown"));
    let s3 = post(
        &acme,
        json!({"name": "vault", "type": "s3", "config": {"bucket": "acme-evidence", "prefix": "ec/",
            "role_arn": "arn:aws:iam::123456789012:role/ec-writer", "external_id": "acme-7"}}),
    )
    .await;
    assert_eq!(s3.status, StatusCode::CREATED, "{}", s3.body);

    let list = api
        .call(Method::GET, "/api/v1/destinations", &reader, None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.body["items"].as_array().unwrap();
    let types: Vec<&str> = items.iter().map(|d| d["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["webhook", "slack", "email", "github_code_scanning", "s3"]
    );
    assert!(!list.body.to_string().contains(slack_url));
    matches_openapi("Destination", &[&hook.body, &got.body, &slack.body]);
    matches_openapi("DestinationList", &[&list.body]);

    // SSRF: internal addresses, and a name that resolves to one, are refused by default.
    for url in [
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/hook",
        "https://[::1]/hook",
        "http://93.184.216.34/plain-http",
    ] {
        for kind in ["webhook", "slack", "teams"] {
            let r = post(
                &acme,
                json!({"name": "x", "type": kind, "config": {"url": url}}),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{url}: {}",
                r.body
            );
            assert_eq!(fields(&r), ["config.url"], "{url}: {}", r.body);
        }
    }

    // Every problem named; nothing stored.
    let bad = post(
        &acme,
        json!({"name": "", "type": "email", "config": {"to": ["not-an-address"], "atach": true}}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(fields(&bad), ["name", "config.atach", "config.to[0]"]);
    assert_eq!(bad.body["code"], "ERR_EXPORT_VALIDATION");
    let not_json = api
        .http
        .post(format!("{}/api/v1/destinations", api.base))
        .bearer_auth(&acme)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let count = api
        .call(Method::GET, "/api/v1/destinations", &acme, None)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, 5, "a refused destination is not stored");

    // Scopes and tenants.
    let r = post(
        &reader,
        json!({"name": "x", "type": "email", "config": {"to": ["a@b.example"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = post(
        &writer,
        json!({"name": "x", "type": "email", "config": {"to": ["a@b.example"]}}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "export:write is not destination:write"
    );
    let path = format!("/api/v1/destinations/{id}");
    let r = api.call(Method::GET, &path, &globex, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api.call(Method::DELETE, &path, &globex, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api.call(Method::DELETE, &path, &reader, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api
        .call(
            Method::GET,
            "/api/v1/destinations/not%20an%20id",
            &acme,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Delete: 204, then gone.
    let r = api.call(Method::DELETE, &path, &acme, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api.call(Method::GET, &path, &acme, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = api.call(Method::DELETE, &path, &acme, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The audit trail has both actions, with the destination as the resource.
    let audit = api
        .call(
            Method::GET,
            "/api/v1/audit?action=destination.create",
            &acme,
            None,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let created: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "success")
        .collect();
    assert_eq!(created.len(), 5, "{}", audit.body);
    let audit = api
        .call(
            Method::GET,
            "/api/v1/audit?action=destination.delete",
            &acme,
            None,
        )
        .await;
    let deleted = audit.body["items"].as_array().unwrap();
    assert!(
        deleted.iter().any(
            |e| e["outcome"] == "success" && e["resource"].as_str().unwrap_or("").contains(&id)
        ),
        "{}",
        audit.body
    );
    assert!(!audit.body.to_string().contains(&secret));
    stack.shutdown().await;

    // With private destinations allowed (tests, local set-ups), loopback and http are fine.
    let dir = tempfile::tempdir().unwrap();
    let (stack, api) = start(
        dir.path(),
        &[("EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS", "true")],
    )
    .await;
    let acme = stack.mint("alice", "acme", SCOPES, 3600).unwrap();
    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let r = api
        .call(
            Method::POST,
            "/api/v1/destinations",
            &acme,
            Some(&json!({"name": "local", "type": "webhook",
                "config": {"url": "http://localhost:9/hook", "secret": given}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["secret"], given, "a given secret is kept");
    stack.shutdown().await;
}
