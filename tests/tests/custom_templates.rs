//! Tenants' own templates through `exportctl serve`: upload, ownership, request-time checks,
//! rendering, and the sandbox (a looping or failing template fails its export with a clear
//! code; the worker carries on).

use std::time::Duration;

use serde_json::{Value, json};

use ec_tests::fixtures;
use ec_tests::serve::{SECRET, Server, TENANT};
use exportctl::client::Client;

const SCOPES: &str = "export:read export:write scan:write template:write";

fn token(tenant: &str, scopes: &str) -> String {
    ec_api::auth::mint(SECRET.as_bytes(), "tpl", tenant, scopes, 600).unwrap()
}

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    tenant: &str,
    scopes: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url))
        .bearer_auth(token(tenant, scopes))
        .header("X-Tenant-Id", tenant);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn put(server: &Server, name: &str, tenant: &str, body: Value) -> (u16, Value) {
    call(
        server,
        reqwest::Method::PUT,
        &format!("/api/v1/templates/{name}"),
        tenant,
        SCOPES,
        Some(body),
    )
    .await
}

/// Exports `scan_id` with the custom template and waits for the job to end.
async fn export(client: &Client, scan_id: &str, format: &str) -> Value {
    let req = json!({"type": "scan_report", "format": format, "scope": {"scan_ids": [scan_id]},
        "options": {"template": format!("custom-{TENANT}")}});
    // Subscribed first, so the readiness message cannot slip by.
    let mut events = client.events().await.unwrap();
    let job = client.create_export(&req, None).await.unwrap();
    let ids = vec![job.export_id.to_string()];
    let finals = events
        .wait_all(&ids, Duration::from_secs(120), |_| {})
        .await
        .unwrap();
    finals[&ids[0]].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_templates_upload_render_and_stay_contained() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("EXPORTCENTER_TEMPLATE_TIMEOUT_SECS", "3"),
            ("EXPORTCENTER_TEMPLATE_MEMORY_MB", "512"),
        ],
    );
    let client = server.client(SCOPES);
    let path = fixtures("trivy")
        .into_iter()
        .find(|p| p.ends_with("trivy-golden_alpine-310.json"))
        .unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let receipt = client.ingest(std::fs::read(&path).unwrap()).await.unwrap();

    // Ownership: only custom-{own tenant}, only with template:write.
    let csv = "id,severity\n{% for f in findings %}{{ f.vulnerability_id }},{{ f.severity }}\n{% endfor %}";
    let (status, body) = put(&server, "custom-globex", TENANT, json!({"csv": csv})).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "ERR_NOT_FOUND");
    let (status, _) = call(
        &server,
        reqwest::Method::PUT,
        &format!("/api/v1/templates/custom-{TENANT}"),
        TENANT,
        "export:read export:write",
        Some(json!({"csv": csv})),
    )
    .await;
    assert_eq!(status, 403);

    // Bad uploads are 422 naming the field, and store nothing.
    let (status, body) = put(&server, "custom-acme", TENANT, json!({"csv": "{% for %}"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["details"][0]["field"], "csv");
    let (status, body) = put(&server, "custom-acme", TENANT, json!({"xlsx": "x"})).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/templates/custom-acme",
        TENANT,
        SCOPES,
        None,
    )
    .await;
    assert_eq!(status, 404, "nothing stored after failed uploads");

    // A good upload is listed with its formats, readable by its owner only.
    let json_tpl = r#"{"export": "{{ export.export_id }}", "count": {{ summary.findings }}}"#;
    let (status, info) = put(
        &server,
        "custom-acme",
        TENANT,
        json!({"csv": csv, "json": json_tpl}),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["formats"], json!(["json", "csv"]));
    let (_, list) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/templates",
        TENANT,
        SCOPES,
        None,
    )
    .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"custom-acme"), "{list}");
    let (status, _) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/templates/custom-acme",
        "globex",
        SCOPES,
        None,
    )
    .await;
    assert_eq!(status, 404, "another tenant cannot read it");
    let (_, other_list) = call(
        &server,
        reqwest::Method::GET,
        "/api/v1/templates",
        "globex",
        SCOPES,
        None,
    )
    .await;
    assert!(!other_list.to_string().contains("custom-acme"));

    // Request-time checks: a format the template lacks, another tenant's template.
    let (status, body) = call(
        &server,
        reqwest::Method::POST,
        "/api/v1/exports",
        TENANT,
        SCOPES,
        Some(json!({"type": "scan_report", "format": "xlsx",
            "scope": {"scan_ids": [receipt.scan_id]}, "options": {"template": "custom-acme"}})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = call(
        &server,
        reqwest::Method::POST,
        "/api/v1/exports",
        "globex",
        SCOPES,
        Some(json!({"type": "scan_report", "format": "csv",
            "scope": {"scan_ids": [receipt.scan_id]}, "options": {"template": "custom-acme"}})),
    )
    .await;
    assert_eq!(status, 422);

    // It renders: one line per finding of the input, in the tenant's own layout.
    let done = export(&client, &receipt.scan_id, "csv").await;
    assert_eq!(done["type"], "export.ready", "{done}");
    let export_id = done["export_id"].as_str().unwrap();
    let report = client.download(export_id, "report").await.unwrap();
    let text = String::from_utf8(report.to_vec()).unwrap();
    let mut expected: Vec<String> = doc["Results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["Vulnerabilities"].as_array().cloned().unwrap_or_default())
        .map(|v| {
            format!(
                "{},{}",
                v["VulnerabilityID"].as_str().unwrap(),
                v["Severity"].as_str().unwrap().to_lowercase()
            )
        })
        .collect();
    let mut lines: Vec<String> = text.lines().skip(1).map(str::to_string).collect();
    expected.sort();
    lines.sort();
    assert_eq!(lines, expected);
    let done = export(&client, &receipt.scan_id, "json").await;
    let report = client
        .download(done["export_id"].as_str().unwrap(), "report")
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(v["export"], done["export_id"]);
    assert_eq!(v["count"].as_u64(), Some(expected.len() as u64));

    // Contained: a runtime error, a secret grab, and an endless template each fail their
    // export with a clear code, and the worker goes on rendering.
    for (source, code) in [
        ("{{ no_such.field }}", "ERR_TEMPLATE"),
        (
            r#"{{ get_env(name="EXPORTCENTER_JWT_SECRET") }}"#,
            "ERR_TEMPLATE",
        ),
        (
            "{% for i in range(end=100000000) %}{% for j in range(end=100000000) %}xxxxxxxx{% endfor %}{% endfor %}",
            "ERR_TEMPLATE_LIMIT",
        ),
    ] {
        let (status, body) = put(&server, "custom-acme", TENANT, json!({"csv": source})).await;
        assert_eq!(status, 200, "{body}");
        let done = export(&client, &receipt.scan_id, "csv").await;
        assert_eq!(done["type"], "export.failed", "{source}: {done}");
        let job = client
            .get_export(done["export_id"].as_str().unwrap())
            .await
            .unwrap();
        let error = serde_json::to_value(&job).unwrap()["error"].clone();
        assert_eq!(error["code"], code, "{source}: {error}");
        assert!(
            !error.to_string().contains(SECRET),
            "the secret never leaks: {error}"
        );
    }
    let (status, _) = put(&server, "custom-acme", TENANT, json!({"csv": csv})).await;
    assert_eq!(status, 200);
    let done = export(&client, &receipt.scan_id, "csv").await;
    assert_eq!(done["type"], "export.ready", "the worker survived: {done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_typst_template_renders_the_report_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let client = server.client(SCOPES);
    let path = fixtures("trivy")
        .into_iter()
        .find(|p| p.ends_with("trivy-golden_alpine-310.json"))
        .unwrap();
    let receipt = client.ingest(std::fs::read(&path).unwrap()).await.unwrap();

    let (status, body) = put(&server, "custom-acme", TENANT, json!({"pdf": "#let x = ("})).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["details"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("main.typ:1:"),
        "{body}"
    );

    let typst = "#let d = json(\"/data.json\")\n= Findings of #d.export.tenant_id\n#for f in d.findings [ - #f.vulnerability_id (#f.severity)\n]";
    let (status, body) = put(&server, "custom-acme", TENANT, json!({"pdf": typst})).await;
    assert_eq!(status, 200, "{body}");
    let done = export(&client, &receipt.scan_id, "pdf").await;
    assert_eq!(done["type"], "export.ready", "{done}");
    let pdf = client
        .download(done["export_id"].as_str().unwrap(), "report")
        .await
        .unwrap();
    let file = dir.path().join("custom.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Findings of acme"), "{text}");
    assert!(text.contains("CVE-2019-1549"), "{text}");
}
