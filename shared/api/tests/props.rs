//! Property tests of the bearer token check every API route and the WebSocket handshake
//! run first (`ec_api::Auth::verify`): arbitrary strings, real tokens edited character by
//! character, and tokens whose header and claims JSON are mutated by `ec_prop_support`
//! (other types, huge numbers such as `exp: 1e308` or `u64::MAX + 1`, deep nesting, lone
//! surrogates, duplicate keys, invalid UTF-8) and then correctly signed, so the claims
//! reader is reached and not only the signature check; and the `X-Tenant-Id` header,
//! arbitrary or edited.
//!
//! Property: a verified caller is the tenant it named; anything else is a 400/401/403
//! with a sentence; never a panic. `verify` below is the one call of `Auth`, so a change
//! of its signature (async, JWKS) is a change of that function only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ec_api::{Auth, Principal};
use ec_domain::ApiError;
use ec_prop_support::{Mutant, Seed, check, edited_strings, mutants};
use jsonwebtoken::{Algorithm, EncodingKey};
use proptest::prelude::*;
use serde_json::json;

const SECRET: &[u8] = b"props-secret-0123456789abcdef";

fn verify(token: &str, tenant: Option<&str>) -> Result<Principal, ApiError> {
    // One runtime for every case: `verify` is async (a provider's keys may need fetching).
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    });
    rt.block_on(Auth::hs256(SECRET).verify(Some(token), tenant))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `header.claims.signature` over raw bytes, signed with the server's secret.
fn signed(header: &[u8], claims: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let key = EncodingKey::from_secret(SECRET);
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("sign");
    format!("{message}.{signature}")
}

fn claims_seeds() -> Vec<Seed> {
    let exp = now() + 3600;
    vec![
        Seed::new(
            "one tenant",
            json!({"sub": "alice", "tenant": "acme", "scope": "export:read export:write",
                   "exp": exp, "iat": now()}),
        ),
        Seed::new(
            "several tenants",
            json!({"sub": "bob", "tenants": ["acme", "globex"], "scp": ["export:read"],
                   "exp": exp, "nbf": now() - 10, "iat": now()}),
        ),
    ]
}

fn header_seeds() -> Vec<Seed> {
    vec![Seed::new("header", json!({"alg": "HS256", "typ": "JWT"}))]
}

fn tenants() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(Some("acme".to_string())),
        1 => Just(None),
        1 => Just(Some("globex".to_string())),
        1 => any::<String>().prop_map(Some),
        2 => edited_strings(vec!["acme".into(), "globex".into()]).prop_map(Some),
    ]
}

/// Tokens: the claims mutated (signed), the header mutated (signed), a real token edited,
/// or any string.
fn tokens() -> impl Strategy<Value = String> {
    let header = serde_json::to_vec(&header_seeds()[0].doc).expect("header");
    let real: Vec<String> = claims_seeds()
        .iter()
        .map(|s| signed(&header, &serde_json::to_vec(&s.doc).expect("claims")))
        .collect();
    let claims = serde_json::to_vec(&claims_seeds()[0].doc).expect("claims");
    prop_oneof![
        4 => mutants(claims_seeds()).prop_map(move |m: Mutant| signed(&header, &m.bytes)),
        2 => mutants(header_seeds()).prop_map(move |m: Mutant| signed(&m.bytes, &claims)),
        2 => edited_strings(real),
        1 => any::<String>(),
    ]
}

fn token_is_clean(token: &str, tenant: Option<&str>) -> Result<(), String> {
    match verify(token, tenant) {
        Ok(p) => match tenant.filter(|t| !t.is_empty()) {
            Some(t) if p.caller.tenant.as_str() != t => {
                Err(format!("asked for {t:?}, verified as {}", p.caller.tenant))
            }
            _ => Ok(()),
        },
        Err(e) if matches!(e.status(), 400 | 401 | 403) && !e.message.trim().is_empty() => Ok(()),
        Err(e) => Err(format!("unclean refusal {e:?}")),
    }
}

#[test]
fn props_bearer_token() {
    let header = serde_json::to_vec(&header_seeds()[0].doc).expect("header");
    for seed in claims_seeds() {
        let token = signed(&header, &serde_json::to_vec(&seed.doc).expect("claims"));
        assert!(verify(&token, Some("acme")).is_ok(), "{}", seed.name);
    }
    check("bearer-token", (tokens(), tenants()), |(token, tenant)| {
        token_is_clean(token, tenant.as_deref())
    });
}
