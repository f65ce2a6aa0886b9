//! Tokens from an identity provider: the test generates EC P-256 and Ed25519 keys, serves
//! their key set (and an OIDC discovery document) on loopback, signs tokens with the
//! `jsonwebtoken` crate, and checks every way a token can be wrong is a 401 with a clear
//! message, that an unknown key id refetches the set at most once per interval, and that a
//! key rotated out stops verifying. (The end-to-end proof with RSA keys and PyJWT-signed tokens
//! through the HTTP stacks is `tests/tests/oidc.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use ec_api::auth::{Auth, AuthConfig, JwksSource};
use ec_domain::ErrorCode;

const ISSUER_PATH: &str = "/realms/acme";
const AUDIENCE: &str = "exportcenter";

/// A key pair of the test: its JWK (public) and what signs with it.
struct TestKey {
    kid: String,
    alg: Algorithm,
    jwk: Value,
    signing: EncodingKey,
}

fn ec_key(kid: &str) -> TestKey {
    use p256::pkcs8::EncodePrivateKey;
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        panic!("an uncompressed point has coordinates")
    };
    TestKey {
        kid: kid.into(),
        alg: Algorithm::ES256,
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                    "x": B64.encode(x), "y": B64.encode(y)}),
        signing: EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes()),
    }
}

fn ed_key(kid: &str) -> TestKey {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    TestKey {
        kid: kid.into(),
        alg: Algorithm::EdDSA,
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
                    "x": B64.encode(key.verifying_key().as_bytes())}),
        signing: EncodingKey::from_ed_der(key.to_pkcs8_der().unwrap().as_bytes()),
    }
}

/// The provider: a key set it can change, and how often it was fetched.
#[derive(Clone)]
struct Provider {
    keys: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    base: String,
}

impl Provider {
    async fn start(keys: &[&TestKey]) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let p = Provider {
            keys: Arc::new(Mutex::new(Value::Null)),
            fetches: Arc::new(AtomicUsize::new(0)),
            base,
        };
        p.serve(keys).await;
        let app = Router::new()
            .route(
                "/realms/acme/.well-known/openid-configuration",
                get(|State(p): State<Provider>| async move {
                    axum::Json(json!({
                        "issuer": p.issuer(),
                        "jwks_uri": format!("{}/certs", p.base),
                    }))
                }),
            )
            .route(
                "/certs",
                get(|State(p): State<Provider>| async move {
                    p.fetches.fetch_add(1, Ordering::SeqCst);
                    axum::Json(p.keys.lock().await.clone())
                }),
            )
            .with_state(p.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        p
    }

    async fn serve(&self, keys: &[&TestKey]) {
        *self.keys.lock().await =
            json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()});
    }

    fn issuer(&self) -> String {
        format!("{}{ISSUER_PATH}", self.base)
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn auth(&self, min_refetch_secs: u64) -> Auth {
        let config = AuthConfig::from_env(&[
            ("EXPORTCENTER_OIDC_ISSUER", self.issuer().as_str()),
            ("EXPORTCENTER_JWT_AUDIENCE", AUDIENCE),
            (
                "EXPORTCENTER_JWKS_MIN_REFETCH_SECS",
                &min_refetch_secs.to_string(),
            ),
        ])
        .unwrap();
        assert!(matches!(
            config.provider,
            Some(JwksSource::Discovery { .. })
        ));
        Auth::new(config, None).unwrap()
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims(p: &Provider) -> Value {
    json!({"iss": p.issuer(), "aud": AUDIENCE, "sub": "alice", "tenant": "acme",
           "scope": "export:read", "exp": now() + 300, "iat": now()})
}

fn sign(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.signing).unwrap()
}

fn with(mut v: Value, k: &str, x: Value) -> Value {
    v[k] = x;
    v
}

/// A token with this header and claims and a signature of junk (for algorithms the service
/// never verifies).
fn forged(header: Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string()),
        B64.encode(signature)
    )
}

async fn refused(auth: &Auth, token: &str, expect: &str) {
    let e = auth.verify(Some(token), None).await.unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::Unauthenticated,
        "{expect}: {}",
        e.message
    );
    assert!(e.message.contains(expect), "{expect}: {}", e.message);
    assert!(!e.message.contains(token));
}

#[tokio::test]
async fn provider_tokens_pass_and_every_wrong_one_is_refused_with_a_reason() {
    let (ec, ed) = (ec_key("ec-1"), ed_key("ed-1"));
    let p = Provider::start(&[&ec, &ed]).await;
    let auth = p.auth(60);
    let c = claims(&p);
    for key in [&ec, &ed] {
        let ok = auth.verify(Some(&sign(key, &c)), None).await.unwrap();
        assert_eq!(ok.caller.tenant, "acme");
        assert_eq!(ok.caller.subject, "alice");
        assert!(ok.require("export:read").is_ok());
    }
    assert_eq!(p.fetches(), 1, "the key set is cached");
    refused(
        &auth,
        &sign(&ec, &with(c.clone(), "iss", json!("https://evil.example"))),
        "issuer",
    )
    .await;
    refused(
        &auth,
        &sign(&ec, &with(c.clone(), "aud", json!("other-api"))),
        "audience",
    )
    .await;
    refused(
        &auth,
        &sign(&ec, &with(c.clone(), "exp", json!(now() - 600))),
        "expired",
    )
    .await;
    refused(
        &auth,
        &sign(&ec, &with(c.clone(), "nbf", json!(now() + 600))),
        "not valid yet",
    )
    .await;
    refused(
        &auth,
        &sign(&ec, &with(c.clone(), "iat", json!(now() + 600))),
        "issued in the future",
    )
    .await;
    let mut no_aud = c.clone();
    no_aud.as_object_mut().unwrap().remove("aud");
    refused(&auth, &sign(&ec, &no_aud), "no aud").await;
    // Unsigned, HS256 with the public key as the secret, a key not in the set.
    refused(
        &auth,
        &forged(json!({"alg": "none", "typ": "JWT"}), &c, b""),
        "alg none",
    )
    .await;
    let public_as_secret = EncodingKey::from_secret(ec.jwk.to_string().as_bytes());
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("ec-1".into());
    let confused = jsonwebtoken::encode(&hs, &c, &public_as_secret).unwrap();
    refused(&auth, &confused, "HS256 tokens are refused").await;
    let stranger = ec_key("ec-1");
    refused(&auth, &sign(&stranger, &c), "signature is invalid").await;
    // An EdDSA header on the EC key's id: the key decides, not the header.
    refused(
        &auth,
        &forged(json!({"alg": "EdDSA", "kid": "ec-1"}), &c, &[0; 64]),
        "its key",
    )
    .await;
    refused(
        &auth,
        &forged(json!({"alg": "PS256", "kid": "ec-1"}), &c, &[0; 64]),
        "refused",
    )
    .await;
    refused(&auth, "not-a-token", "not a JWT").await;
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_interval() {
    let (old, new) = (ec_key("old"), ec_key("new"));
    let p = Provider::start(&[&old]).await;
    let auth = p.auth(60);
    let c = claims(&p);
    auth.verify(Some(&sign(&old, &c)), None).await.unwrap();
    assert_eq!(p.fetches(), 1);
    // A new key appears; within the minute its tokens are refused without asking again.
    p.serve(&[&old, &new]).await;
    for _ in 0..5 {
        refused(
            &auth,
            &sign(&new, &c),
            "not in the identity provider's key set",
        )
        .await;
    }
    assert_eq!(p.fetches(), 1, "no refetch within the interval");
}

#[tokio::test]
async fn a_rotated_key_verifies_after_one_refetch_and_a_retired_one_stops() {
    let (old, new) = (ec_key("old"), ed_key("new"));
    let p = Provider::start(&[&old]).await;
    let auth = p.auth(0);
    let c = claims(&p);
    auth.verify(Some(&sign(&old, &c)), None).await.unwrap();
    p.serve(&[&new]).await;
    auth.verify(Some(&sign(&new, &c)), None).await.unwrap();
    assert_eq!(p.fetches(), 2, "one refetch for the unknown kid");
    refused(
        &auth,
        &sign(&old, &c),
        "not in the identity provider's key set",
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_not_a_bad_token() {
    let key = ec_key("k");
    let config = AuthConfig::from_env(&[
        ("EXPORTCENTER_JWKS_URL", "http://127.0.0.1:9/certs"),
        ("EXPORTCENTER_JWT_ISSUER", "https://idp.example"),
        ("EXPORTCENTER_JWT_AUDIENCE", AUDIENCE),
    ])
    .unwrap();
    let auth = Auth::new(config, None).unwrap();
    let token = sign(
        &key,
        &json!({"iss": "https://idp.example", "aud": AUDIENCE, "tenant": "acme", "exp": now() + 60}),
    );
    let e = auth.verify(Some(&token), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable, "{}", e.message);
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test]
async fn configured_claims_name_tenants_and_scopes() {
    let key = ed_key("k");
    let p = Provider::start(&[&key]).await;
    let config = AuthConfig::from_env(&[
        (
            "EXPORTCENTER_JWKS_URL",
            format!("{}/certs", p.base).as_str(),
        ),
        ("EXPORTCENTER_JWT_ISSUER", p.issuer().as_str()),
        ("EXPORTCENTER_JWT_AUDIENCE", AUDIENCE),
        (
            "EXPORTCENTER_TENANT_CLAIM",
            "https://exportcenter.example/tenants",
        ),
        ("EXPORTCENTER_SCOPE_CLAIM", "permissions"),
    ])
    .unwrap();
    let auth = Auth::new(config, None).unwrap();
    let c = json!({"iss": p.issuer(), "aud": [AUDIENCE, "account"], "sub": "svc",
                   "https://exportcenter.example/tenants": ["acme", "globex"],
                   "permissions": ["export:read", "audit:read"], "exp": now() + 60});
    let token = sign(&key, &c);
    let ok = auth.verify(Some(&token), Some("globex")).await.unwrap();
    assert_eq!(ok.caller.tenant, "globex");
    assert!(ok.require("audit:read").is_ok());
    assert!(ok.require("export:write").is_err());
    let e = auth
        .verify(Some(&token), Some("initech"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
}
