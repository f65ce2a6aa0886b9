//! The HTTP data-source adapter against a real local HTTP server playing the StellaOps
//! Scanner, Policy, VexLens and SBOM services.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use ec_adapters::http_sources::{HttpSboms, HttpScans, HttpVerdicts, HttpVex, Service};
use ec_domain::ports::{SbomSource, ScanSource, VerdictSource, VexSource};
use ec_domain::scan::*;

fn scan(tenant: &str) -> Scan {
    let t = ec_domain::time::parse_rfc3339("2024-12-29T10:30:00Z").unwrap();
    Scan {
        scan_id: "scan-1".parse().unwrap(),
        tenant_id: tenant.parse().unwrap(),
        artifact: ScannedArtifact {
            name: "alpine:3.10".into(),
            kind: "container_image".into(),
            digest: Some("sha256:abc".into()),
            os: None,
        },
        scanner: Scanner {
            name: "trivy".into(),
            version: None,
        },
        source_format: "trivy-json-v2".into(),
        scanned_at: t,
        ingested_at: t,
        scanned_at_known: true,
        assessed: true,
        document_sha256: "0".repeat(64),
        document_name: None,
        document_size: None,
        components: vec![],
        dependencies: vec![],
        findings: vec![],
    }
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

async fn serve(seen: Seen) -> String {
    async fn scans(State(seen): State<Seen>, h: HeaderMap, Path(id): Path<String>) -> Response {
        let tenant = h
            .get("x-tenant-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        seen.0
            .lock()
            .unwrap()
            .push(format!("scan {id} {tenant} {:?}", h.get("authorization")));
        match id.as_str() {
            "scan-1" => axum::Json(scan("acme")).into_response(),
            "scan-flaky" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            "scan-garbage" => "not json".into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    async fn list(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
        assert!(q.contains_key("from") && q.contains_key("to"));
        axum::Json(serde_json::json!({"scan_ids": ["scan-1", "scan-2"]})).into_response()
    }
    async fn verdicts(Path(id): Path<String>) -> Response {
        axum::Json(Verdicts {
            scan_id: id.parse().unwrap(),
            policy: "corp/v7".into(),
            decision: Decision::Warn,
            findings: vec![],
            thresholds: None,
        })
        .into_response()
    }
    async fn vex(Path(_id): Path<String>) -> Response {
        axum::Json(vec![VexStatement {
            vulnerability_id: "CVE-2024-1".into(),
            products: vec!["pkg:apk/alpine/musl".into()],
            status: VexStatus::NotAffected,
            justification: Some("vulnerable_code_not_present".into()),
            impact_statement: None,
            action_statement: None,
            timestamp: None,
            source: Some("vexlens".into()),
        }])
        .into_response()
    }
    async fn sbom(Path(digest): Path<String>) -> Response {
        axum::Json(Sbom {
            artifact_digest: digest,
            source_format: "cyclonedx".into(),
            components: vec![],
        })
        .into_response()
    }
    let app = Router::new()
        .route("/base/internal/scans", get(list))
        .route("/base/internal/scans/{id}", get(scans))
        .route("/base/internal/verdicts/{id}", get(verdicts))
        .route("/base/internal/vex/applied/{id}", get(vex))
        .route("/base/internal/sboms/{digest}", get(sbom))
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/base")
}

fn service(base: &str) -> Service {
    Service::new(base, Some("svc-token".into()), Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn reads_all_four_internal_endpoints() {
    let seen = Seen::default();
    let base = serve(seen.clone()).await;
    let scans = HttpScans(service(&base));
    let got = scans
        .scan(&"acme".parse().unwrap(), &"scan-1".parse().unwrap())
        .await
        .unwrap()
        .expect("scan-1 exists");
    assert_eq!(got.artifact.digest.as_deref(), Some("sha256:abc"));
    assert!(
        scans
            .exists(&"acme".parse().unwrap(), &"scan-1".parse().unwrap())
            .await
            .unwrap()
    );
    assert!(
        scans
            .scan(&"acme".parse().unwrap(), &"scan-404".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let calls = seen.0.lock().unwrap().clone();
    assert!(
        calls[0].contains("scan scan-1 acme") && calls[0].contains("Bearer svc-token"),
        "{calls:?}"
    );

    let t = ec_domain::time::now();
    assert_eq!(
        scans
            .scans_between(&"acme".parse().unwrap(), t, t, 10)
            .await
            .unwrap(),
        ["scan-1", "scan-2"]
    );

    let v = HttpVerdicts(service(&base))
        .verdicts(&"acme".parse().unwrap(), &got, &[])
        .await
        .unwrap();
    assert_eq!((v.policy.as_str(), v.decision), ("corp/v7", Decision::Warn));
    let vex = HttpVex(service(&base))
        .applied(&"acme".parse().unwrap(), &got)
        .await
        .unwrap();
    assert_eq!(vex[0].status, VexStatus::NotAffected);
    let sbom = HttpSboms(service(&base))
        .sbom(&"acme".parse().unwrap(), &got)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sbom.artifact_digest, "sha256:abc");
}

#[tokio::test]
async fn errors_are_classified_and_tenants_isolated() {
    let base = serve(Seen::default()).await;
    let scans = HttpScans(service(&base));
    // The service answered with another tenant's scan: treated as absent.
    assert!(
        scans
            .scan(&"globex".parse().unwrap(), &"scan-1".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        scans
            .scan(&"acme".parse().unwrap(), &"scan-flaky".parse().unwrap())
            .await,
        Err(ec_domain::PortError::Unavailable(_))
    ));
    assert!(matches!(
        scans
            .scan(&"acme".parse().unwrap(), &"scan-garbage".parse().unwrap())
            .await,
        Err(ec_domain::PortError::Invalid(_))
    ));
    let down = HttpScans(service("http://127.0.0.1:9/"));
    assert!(matches!(
        down.scan(&"acme".parse().unwrap(), &"scan-1".parse().unwrap())
            .await,
        Err(ec_domain::PortError::Unavailable(_))
    ));
}
