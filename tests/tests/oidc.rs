//! Identity-provider tokens on both stacks. The test plays the provider: PyJWT
//! (`tests/python/oidc_tokens.py`) generates RSA and EC keys and signs one token per case,
//! and the key sets are served on loopback (with an OIDC discovery document), switching
//! from "before" to "after" to rotate a key. Every case goes to `exportctl serve` over HTTP
//! and to export-api's router built by the Lambda wiring (`Aws::api_state`) from an
//! API Gateway event: valid tokens pass; wrong issuer, wrong audience, expired, future `nbf`,
//! unknown `kid`, a key outside the set, `alg: none`, HS256 keyed with the public key, a
//! development HS256 token, and a key rotated out are each `401` with a clear message.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tower::ServiceExt;

use ec_tests::serve::{SECRET, Server};
use ec_tests::{python, repo_root};

const AUDIENCE: &str = "exportcenter-api";
const TENANT: &str = "acme";

/// The provider: discovery at `{base}/realms/acme`, keys at `{base}/certs`.
#[derive(Clone)]
struct Provider {
    base: String,
    keys: Arc<Mutex<Value>>,
}

impl Provider {
    async fn start(keys: Value) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = Provider {
            base: format!("http://{}", listener.local_addr().unwrap()),
            keys: Arc::new(Mutex::new(keys)),
        };
        let app =
            Router::new()
                .route(
                    "/realms/acme/.well-known/openid-configuration",
                    get(|State(p): State<Provider>| async move {
                        axum::Json(
                            json!({"issuer": p.issuer(), "jwks_uri": format!("{}/certs", p.base)}),
                        )
                    }),
                )
                .route(
                    "/certs",
                    get(|State(p): State<Provider>| async move {
                        axum::Json(p.keys.lock().await.clone())
                    }),
                )
                .with_state(p.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        p
    }

    fn issuer(&self) -> String {
        format!("{}/realms/acme", self.base)
    }

    /// What either stack needs to verify this provider's tokens.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("EXPORTCENTER_OIDC_ISSUER", self.issuer()),
            ("EXPORTCENTER_JWT_AUDIENCE", AUDIENCE.into()),
            // Every unknown kid may refetch (the default, 60 s, would make the test wait).
            ("EXPORTCENTER_JWKS_MIN_REFETCH_SECS", "0".into()),
        ]
    }
}

/// The provider's key sets and tokens, made by PyJWT.
struct Issued {
    before: Value,
    after: Value,
    tokens: HashMap<String, String>,
}

fn issue(issuer: &str, dir: &Path) -> Issued {
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/python/oidc_tokens.py"))
        .args([
            "--issuer",
            issuer,
            "--audience",
            AUDIENCE,
            "--tenant",
            TENANT,
        ])
        .arg("--out")
        .arg(dir)
        .output()
        .expect("run oidc_tokens.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |n: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(n)).unwrap()).unwrap()
    };
    Issued {
        before: read("jwks-before.json"),
        after: read("jwks-after.json"),
        tokens: serde_json::from_value(read("tokens.json")).unwrap(),
    }
}

/// Sends one token to a stack: the status and the error body.
type Call<'a> = Box<dyn Fn(String) -> futures_util::future::BoxFuture<'a, (u16, Value)> + 'a>;

/// The cases, in order, on one stack.
async fn cases(provider: &Provider, issued: &Issued, call: Call<'_>) {
    let t = |name: &str| issued.tokens[name].clone();
    for ok in ["valid_rs256", "valid_es256"] {
        let (status, body) = call(t(ok)).await;
        assert_eq!(status, 200, "{ok}: {body}");
    }
    let dev = ec_api::auth::mint(SECRET.as_bytes(), "dev", TENANT, "export:read", 600).unwrap();
    let refused = [
        ("wrong_iss", t("wrong_iss"), "issuer"),
        ("wrong_aud", t("wrong_aud"), "audience"),
        ("expired", t("expired"), "expired"),
        ("nbf_future", t("nbf_future"), "not valid yet"),
        (
            "unknown_kid",
            t("unknown_kid"),
            "not in the identity provider's key set",
        ),
        (
            "outsider_known_kid",
            t("outsider_known_kid"),
            "signature is invalid",
        ),
        ("alg_none", t("alg_none"), "alg none"),
        (
            "hs256_public_key",
            t("hs256_public_key"),
            "HS256 tokens are refused",
        ),
        ("development HS256", dev, "HS256 tokens are refused"),
    ];
    for (name, token, why) in refused {
        let (status, body) = call(token.clone()).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["code"], "ERR_UNAUTHENTICATED", "{name}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{name}: {message}");
        assert!(
            !body.to_string().contains(&token),
            "{name}: the token echoed"
        );
    }
    // The provider rotates: the new key verifies after one refetch, the old one no longer.
    *provider.keys.lock().await = issued.after.clone();
    let (status, body) = call(t("rotated_in")).await;
    assert_eq!(status, 200, "rotated_in: {body}");
    let (status, body) = call(t("rotated_out")).await;
    assert_eq!(status, 401, "rotated_out: {body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not in the identity provider's key set")),
        "{body}"
    );
    *provider.keys.lock().await = issued.before.clone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_tokens_on_the_embedded_stack() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::start(Value::Null).await;
    let issued = issue(&provider.issuer(), dir.path());
    *provider.keys.lock().await = issued.before.clone();
    let env = provider.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&dir.path().join("data"), &env);
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/exports", server.base_url);
    let call: Call = Box::new(|token: String| {
        let (http, url) = (http.clone(), url.clone());
        Box::pin(async move {
            let resp = http.get(&url).bearer_auth(token).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    });
    cases(&provider, &issued, call).await;
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_tokens_through_the_lambda_handler() {
    let endpoint = std::env::var("EC_MOTO_ENDPOINT").expect(
        "EC_MOTO_ENDPOINT is not set: run the README's test command, which starts moto_server",
    );
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::start(Value::Null).await;
    let issued = issue(&provider.issuer(), dir.path());
    *provider.keys.lock().await = issued.before.clone();

    // The function's environment: local.env's tables, this emulator, the provider, and no
    // EXPORTCENTER_JWT_SECRET (not needed with a provider).
    let bucket = format!("ec-oidc-{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut env: HashMap<String, String> = ec_tests::local_env();
    env.remove("EXPORTCENTER_JWT_SECRET");
    env.insert("AWS_ENDPOINT_URL".into(), endpoint.clone());
    env.insert("EXPORTCENTER_BUCKET".into(), bucket.clone());
    for (k, v) in provider.env() {
        env.insert(k.into(), v);
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let adapters = ec_aws::wiring::AwsAdapters::from_sdk(sdk);
    let aws = ec_lambda::aws::Aws::new(Arc::new(env), adapters).unwrap();
    let router = ec_api::router(aws.api_state().unwrap());

    // GET /api/v1/templates as API Gateway (HTTP API v2) delivers it.
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/api-list-exports.json")).unwrap(),
    )
    .unwrap();
    let call: Call = Box::new(|token: String| {
        let (router, mut event) = (router.clone(), template.clone());
        Box::pin(async move {
            event["rawPath"] = json!("/api/v1/templates");
            event["rawQueryString"] = json!("");
            event["queryStringParameters"] = json!({});
            event["requestContext"]["http"]["path"] = json!("/api/v1/templates");
            event["headers"]["authorization"] = json!(format!("Bearer {token}"));
            let req = lambda_http::request::from_str(&event.to_string()).unwrap();
            let req = req.map(|b| axum::body::Body::from(b.to_vec()));
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
        })
    });
    cases(&provider, &issued, call).await;
}
