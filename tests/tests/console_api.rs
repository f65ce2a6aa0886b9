//! The routes a browser client needs (issue 17), over HTTP on the embedded stack, each
//! answer checked against openapi.json: the capabilities matrix (what the render layer
//! supports, the tenant's template included once uploaded), exports filtered by format and
//! type across pages, the download link as JSON, an export's manifest (`409` before it is
//! sealed), the schedule preview (`422` on a bad cron), one template format uploaded at a
//! time (a syntax error at its line and column; the other formats kept), built-in
//! templates readable, the scans listed in pages, read and deleted, and CORS for the
//! configured origin only.

use reqwest::Method;
use serde_json::{Value, json};

use ec_tests::{caller, embedded, matches_openapi};

const SECRET: &str = "console-api-test-secret-0123456789abcdef";
const ORIGIN: &str = "https://console.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routes_a_console_reads() {
    let dir = tempfile::tempdir().unwrap();
    let stack = embedded::start_with(
        dir.path(),
        &[
            ("EXPORTCENTER_JWT_SECRET", SECRET),
            ("EXPORTCENTER_CORS_ORIGINS", ORIGIN),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let base = stack.base_url.clone();
    let token = stack
        .mint(
            "alice",
            "acme",
            "export:read export:write scan:write template:write",
            600,
        )
        .unwrap();
    let call = caller(&http, &base, &token);

    // Capabilities: the matrix the renderers support.
    let (s, caps) = call(Method::GET, "/api/v1/capabilities".into(), None).await;
    assert_eq!(s, 200, "{caps}");
    matches_openapi("Capabilities", &[&caps]);
    let combos = caps["combinations"].as_array().unwrap();
    let find = |t: &str, f: &str| {
        combos
            .iter()
            .find(|c| c["type"] == t && c["format"] == f)
            .cloned()
    };
    let pdf = find("scan_report", "pdf").expect("scan_report pdf");
    assert!(
        pdf["templates"]
            .as_array()
            .unwrap()
            .contains(&json!("compliance-detailed")),
        "{pdf}"
    );
    assert!(find("scan_report", "openvex").is_none(), "not a valid pair");
    for c in combos {
        for t in c["templates"].as_array().unwrap() {
            let name = ec_domain::TemplateName::parse(t.as_str().unwrap()).unwrap();
            let ty = ec_domain::ExportType::parse(c["type"].as_str().unwrap()).unwrap();
            let f = ec_domain::Format::parse(c["format"].as_str().unwrap()).unwrap();
            assert!(ec_render::supports(ty, f, &name), "{c}");
        }
    }

    // Scans: ingested, listed newest first in pages, read, deleted.
    let a = ec_tests::ingest_fixture(&http, &base, &token, "trivy", "alpine-310").await;
    let b = ec_tests::ingest_fixture(&http, &base, &token, "grype", "").await;
    let (s, page) = call(Method::GET, "/api/v1/scans?limit=1".into(), None).await;
    assert_eq!(s, 200, "{page}");
    matches_openapi("ScanListing", &[&page["items"][0]]);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let (_, rest) = call(
        Method::GET,
        format!("/api/v1/scans?limit=1&cursor={cursor}"),
        None,
    )
    .await;
    let mut listed = vec![
        page["items"][0]["scan_id"].clone(),
        rest["items"][0]["scan_id"].clone(),
    ];
    listed.sort_by_key(|v| v.to_string());
    let mut ingested = vec![a["scan_id"].clone(), b["scan_id"].clone()];
    ingested.sort_by_key(|v| v.to_string());
    assert_eq!(listed, ingested);
    assert!(rest["next_cursor"].is_null(), "{rest}");
    let (s, e) = call(Method::GET, "/api/v1/scans?cursor=bogus".into(), None).await;
    assert_eq!(
        (s, e["details"][0]["field"].as_str()),
        (422, Some("cursor"))
    );
    let b_id = b["scan_id"].as_str().unwrap();
    let (s, one) = call(Method::GET, format!("/api/v1/scans/{b_id}"), None).await;
    assert_eq!(s, 200, "{one}");
    assert_eq!(one["findings"], b["findings"]);
    assert!(one["ingested_at"].is_string(), "{one}");
    let (s, _) = call(Method::DELETE, format!("/api/v1/scans/{b_id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = call(Method::GET, format!("/api/v1/scans/{b_id}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = call(Method::DELETE, format!("/api/v1/scans/{b_id}"), None).await;
    assert_eq!(s, 404);
    let gone = json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [b_id]}});
    let (s, e) = call(Method::POST, "/api/v1/exports".into(), Some(gone)).await;
    assert_eq!(s, 404, "a deleted scan is not exportable: {e}");

    // Exports filtered by format and type, and the manifest once sealed.
    let scope = json!({"scan_ids": [a["scan_id"]]});
    let mut ids = std::collections::BTreeMap::new();
    for (ty, f) in [
        ("scan_report", "json"),
        ("scan_report", "csv"),
        ("sbom", "json"),
    ] {
        let body = json!({"type": ty, "format": f, "scope": scope});
        let (job, _) = ec_tests::finished_export(&http, &base, &token, &body).await;
        assert_eq!(job["status"], "ready", "{job}");
        ids.insert((ty, f), job["export_id"].as_str().unwrap().to_string());
    }
    let listed = |query: &'static str| {
        let call = &call;
        async move {
            let mut out = Vec::new();
            let mut cursor = String::new();
            loop {
                let (s, page) = call(
                    Method::GET,
                    format!("/api/v1/exports?limit=1&{query}{cursor}"),
                    None,
                )
                .await;
                assert_eq!(s, 200, "{page}");
                for j in page["items"].as_array().unwrap() {
                    out.push(j["export_id"].as_str().unwrap().to_string());
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = format!("&cursor={c}"),
                    None => return out,
                }
            }
        }
    };
    assert_eq!(
        listed("format=json").await,
        [
            ids[&("sbom", "json")].clone(),
            ids[&("scan_report", "json")].clone()
        ]
    );
    assert_eq!(
        listed("type=scan_report&format=csv").await,
        [ids[&("scan_report", "csv")].clone()]
    );
    let (s, e) = call(Method::GET, "/api/v1/exports?format=docx".into(), None).await;
    assert_eq!(
        (s, e["details"][0]["field"].as_str()),
        (422, Some("format"))
    );

    let id = &ids[&("scan_report", "json")];
    let (s, link) = call(
        Method::GET,
        format!("/api/v1/exports/{id}/download?artifact=report&redirect=false"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{link}");
    matches_openapi("DownloadLink", &[&link]);
    let via_link = http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let via_redirect = http
        .get(format!(
            "{base}/api/v1/exports/{id}/download?artifact=report"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(via_link, via_redirect);
    let (s, manifest) = call(Method::GET, format!("/api/v1/exports/{id}/manifest"), None).await;
    assert_eq!(s, 200, "{manifest}");
    matches_openapi("Manifest", &[&manifest]);
    assert_eq!(manifest["export_id"], id.as_str());
    assert!(manifest["merkle_root"].is_string(), "{manifest}");

    // Preview of a schedule's run times.
    let (s, p) = call(
        Method::GET,
        "/api/v1/schedules/preview?cron=0%209%20*%20*%201&timezone=Europe/Paris&count=3".into(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let next: Vec<&str> = p["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(next.len(), 3);
    for t in &next {
        let at = ec_domain::time::parse_rfc3339(t).unwrap();
        assert_eq!(at.weekday(), time::Weekday::Monday, "{t}");
        assert!(
            [7, 8].contains(&at.hour()),
            "09:00 in Paris is 07:00 or 08:00 UTC: {t}"
        );
    }
    let (s, e) = call(
        Method::GET,
        "/api/v1/schedules/preview?cron=61%20*%20*%20*%20*".into(),
        None,
    )
    .await;
    assert_eq!((s, e["details"][0]["field"].as_str()), (422, Some("cron")));

    // Templates: a built-in one reads; one format at a time, a syntax error located.
    let (s, t) = call(
        Method::GET,
        "/api/v1/templates/compliance-detailed".into(),
        None,
    )
    .await;
    assert_eq!((s, t["kind"].as_str()), (200, Some("builtin")), "{t}");
    let put = |format: &'static str, source: &'static str| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let resp = http
                .put(format!("{base}/api/v1/templates/custom-acme/{format}"))
                .bearer_auth(&token)
                .header("content-type", "text/plain; charset=utf-8")
                .body(source)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, info) = put("csv", "id\n{% for f in findings %}{{ f.id }}\n{% endfor %}").await;
    assert_eq!(s, 200, "{info}");
    let (s, info) = put("json", "{\"n\": {{ findings | length }}}").await;
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["formats"], json!(["json", "csv"]), "both kept: {info}");
    let (s, e) = put("csv", "id\n{% for f in findings %}{{ f.id }\n").await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["details"][0]["field"], "csv");
    assert_eq!(
        (
            e["details"][0]["line"].as_u64(),
            e["details"][0]["column"].as_u64()
        ),
        (Some(2), Some(32)),
        "{e}"
    );
    let (s, _) = call(
        Method::PUT,
        "/api/v1/templates/custom-globex/csv".into(),
        None,
    )
    .await;
    assert_eq!(s, 404, "another tenant's template");
    let (_, caps) = call(Method::GET, "/api/v1/capabilities".into(), None).await;
    let csv = caps["combinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "scan_report" && c["format"] == "csv")
        .cloned()
        .unwrap();
    assert!(
        csv["templates"]
            .as_array()
            .unwrap()
            .contains(&json!("custom-acme")),
        "{csv}"
    );

    // CORS: the configured origin gets a preflight answer; another does not.
    let preflight = |origin: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.request(Method::OPTIONS, format!("{base}/api/v1/exports"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,idempotency-key,content-type",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let allowed = preflight(ORIGIN).await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], ORIGIN);
    let other = preflight("https://evil.example").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    stack.shutdown().await;
}
