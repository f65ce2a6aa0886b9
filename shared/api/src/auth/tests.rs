//! The verifier's behaviour: the development HS256 path here, the identity-provider path
//! (key sets served on loopback by the test, keys generated in the test) in `tests/provider.rs`.
use super::*;
use jsonwebtoken::{EncodingKey, Header};

const SECRET: &[u8] = b"test-secret";

#[tokio::test]
async fn tokens_are_checked() {
    let auth = Auth::hs256(SECRET);
    let t = mint(SECRET, "alice", "acme", "export:read export:write", 60).unwrap();
    let p = auth.verify(Some(&t), Some("acme")).await.unwrap();
    assert_eq!(p.caller.subject, "alice");
    assert!(p.require("export:write").is_ok());
    assert_eq!(
        p.require("scan:write").unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        auth.verify(Some(&t), Some("globex"))
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        auth.verify(None, Some("acme")).await.unwrap_err().code,
        ErrorCode::Unauthenticated
    );
    let other = mint(b"other", "alice", "acme", "export:read", 60).unwrap();
    assert_eq!(
        auth.verify(Some(&other), Some("acme"))
            .await
            .unwrap_err()
            .code,
        ErrorCode::Unauthenticated
    );
    let expired = mint(SECRET, "alice", "acme", "export:read", -120).unwrap();
    let e = auth.verify(Some(&expired), Some("acme")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthenticated);
    assert!(e.message.contains("expired"));
}

fn sign(claims: &Claims) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn tenant_ids_follow_the_contract() {
    let auth = Auth::hs256(SECRET);
    for bad in ["a/b", "a b", "../../x", "-x", ".x", &"t".repeat(65)] {
        let t = mint(SECRET, "alice", bad, "export:read", 60).unwrap();
        let e = auth.verify(Some(&t), Some(bad)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated, "{bad}");
        assert!(e.message.contains("tenant"), "{bad}: {}", e.message);
        assert!(!e.message.contains(bad) || bad.len() < 20, "{bad}");
    }
    for good in ["acme-corp", "A1.b_c-d", &"t".repeat(64)] {
        let t = mint(SECRET, "alice", good, "export:read", 60).unwrap();
        assert!(auth.verify(Some(&t), Some(good)).await.is_ok(), "{good}");
    }
}

#[tokio::test]
async fn a_single_tenant_token_names_the_tenant() {
    let auth = Auth::hs256(SECRET);
    let t = mint(SECRET, "alice", "acme", "export:read", 60).unwrap();
    assert_eq!(
        auth.verify(Some(&t), None).await.unwrap().caller.tenant,
        "acme"
    );
    let many = sign(&Claims {
        tenants: vec!["a".into(), "b".into()],
        scope: Some("export:read".into()),
        exp: Some(now() + 60),
        ..Claims::default()
    });
    let e = auth.verify(Some(&many), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("X-Tenant-Id"), "{}", e.message);
}

#[tokio::test]
async fn exp_is_required_nbf_is_checked_and_the_leeway_is_configured() {
    let auth = Auth::hs256(SECRET).with_leeway(0);
    let no_exp = sign(&Claims {
        tenant: Some("acme".into()),
        ..Claims::default()
    });
    let e = auth.verify(Some(&no_exp), Some("acme")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthenticated);
    assert!(e.message.contains("exp"), "{}", e.message);
    let later = sign(&Claims {
        tenant: Some("acme".into()),
        exp: Some(now() + 600),
        nbf: Some(now() + 300),
        ..Claims::default()
    });
    let e = auth.verify(Some(&later), Some("acme")).await.unwrap_err();
    assert!(e.message.contains("not valid yet"), "{}", e.message);
    // Just expired: refused with no leeway, accepted within a minute's.
    let just = mint(SECRET, "alice", "acme", "export:read", -5).unwrap();
    assert!(auth.verify(Some(&just), Some("acme")).await.is_err());
    let lenient = Auth::hs256(SECRET).with_leeway(60);
    assert!(lenient.verify(Some(&just), Some("acme")).await.is_ok());
    assert_eq!(Auth::hs256(SECRET).leeway(), DEFAULT_LEEWAY_SECS);
    assert_eq!(DEFAULT_LEEWAY_SECS, 60);
}

#[tokio::test]
async fn tenants_array_and_scp_array_count() {
    let auth = Auth::hs256(SECRET);
    let claims = Claims {
        tenants: vec!["a".into(), "b".into()],
        scp: vec!["export:read".into()],
        exp: Some(time::OffsetDateTime::now_utc().unix_timestamp() + 60),
        ..Claims::default()
    };
    let t = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let p = auth.verify(Some(&t), Some("b")).await.unwrap();
    assert!(p.require("export:read").is_ok());
}
