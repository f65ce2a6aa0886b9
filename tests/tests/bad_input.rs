//! Bad input against the embedded stack: every rejected request answers with the
//! contract's status and error body, and leaves nothing behind (no job, no scan, no
//! object, no claimed Idempotency-Key).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use ec_domain::messages::QueueName;
use ec_domain::{ExportRequest, Job};
use ec_tests::fixtures;
use exportctl::stack::{Stack, StackConfig};

const SECRET: &str = "bad-input-test-secret-0123456789abcdef";
const ALL_SCOPES: &str = "export:read export:write scan:write";
const REQUEST_LIMIT: usize = 64 * 1024;
const SCAN_LIMIT: usize = 64 * 1024;

/// One rejected request and the answer the contract promises.
struct Row {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Send the body with `Transfer-Encoding: chunked` (no Content-Length) over a raw socket.
    chunked: bool,
    status: u16,
    code: &'static str,
    /// Each must be the `field` of some entry of `details`.
    fields: Vec<&'static str>,
    /// Each must occur in `message`.
    message_has: Vec<&'static str>,
}

impl Row {
    fn new(name: &'static str, method: Method, path: impl Into<String>) -> Row {
        Row {
            name,
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            chunked: false,
            status: 0,
            code: "",
            fields: Vec::new(),
            message_has: Vec::new(),
        }
    }

    fn headers(mut self, h: Vec<(&'static str, String)>) -> Row {
        self.headers = h;
        self
    }

    fn body(mut self, b: impl Into<Vec<u8>>) -> Row {
        self.body = b.into();
        self
    }

    fn chunked(mut self) -> Row {
        self.chunked = true;
        self
    }

    fn expect(mut self, status: u16, code: &'static str) -> Row {
        self.status = status;
        self.code = code;
        self
    }

    fn fields(mut self, f: &[&'static str]) -> Row {
        self.fields = f.to_vec();
        self
    }

    fn message_has(mut self, m: &[&'static str]) -> Row {
        self.message_has = m.to_vec();
        self
    }
}

/// `Authorization` and `X-Tenant-Id`.
fn auth(token: &str, tenant: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Authorization", format!("Bearer {token}")),
        ("X-Tenant-Id", tenant.to_string()),
    ]
}

/// [`auth`] plus `Content-Type: application/json`.
fn auth_json(token: &str, tenant: &str) -> Vec<(&'static str, String)> {
    let mut h = auth(token, tenant);
    h.push(("Content-Type", "application/json".into()));
    h
}

fn with(
    mut h: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    h.push((name, value.to_string()));
    h
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn export_body(scan_ids: &[&str], format: &str) -> Value {
    json!({ "type": "scan_report", "format": format, "scope": { "scan_ids": scan_ids } })
}

/// `doc` padded with trailing whitespace (still valid JSON) to `len` bytes.
fn padded(doc: &[u8], len: usize) -> Vec<u8> {
    assert!(doc.len() < len);
    let mut b = doc.to_vec();
    b.resize(len, b' ');
    b
}

struct Answer {
    status: u16,
    request_id: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

async fn send(http: &reqwest::Client, base: &str, row: &Row) -> Result<Answer, String> {
    if row.chunked {
        return send_chunked(base, row).await;
    }
    let mut req = http.request(row.method.clone(), format!("{base}{}", row.path));
    for (k, v) in &row.headers {
        req = req.header(*k, v);
    }
    if !row.body.is_empty() {
        req = req.body(row.body.clone());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (request_id, content_type) = (header("x-request-id"), header("content-type"));
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_vec();
    Ok(Answer {
        status,
        request_id,
        content_type,
        body,
    })
}

/// HTTP/1.1 by hand, so the body goes out chunked with no `Content-Length`: the server must
/// enforce the limit while reading, not only from the declared length.
async fn send_chunked(base: &str, row: &Row) -> Result<Answer, String> {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n",
        row.method, row.path
    );
    for (k, v) in &row.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    for chunk in row.body.chunks(8 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything: a failed write is fine.
    let _ = s.write_all(&out).await;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .map_err(|_| "no answer within 30 s".to_string())?
        .or_else(|e| {
            if raw.is_empty() {
                Err(format!("read: {e}"))
            } else {
                Ok(0)
            }
        })?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {:?}", String::from_utf8_lossy(&raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(Answer {
        status,
        request_id: headers.get("x-request-id").cloned(),
        content_type: headers.get("content-type").cloned(),
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}

/// Checks status, the contract's error body and `X-Request-Id == trace_id`.
fn check(row: &Row, a: &Answer) -> Result<(), String> {
    let text = String::from_utf8_lossy(&a.body);
    if a.status != row.status {
        return Err(format!(
            "status {} (want {}), body {text}",
            a.status, row.status
        ));
    }
    if !a
        .content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return Err(format!("content-type {:?}, body {text}", a.content_type));
    }
    let body: Value =
        serde_json::from_slice(&a.body).map_err(|e| format!("body is not JSON ({e}): {text}"))?;
    let Some(obj) = body.as_object() else {
        return Err(format!("body is not an object: {text}"));
    };
    if body["code"] != row.code {
        return Err(format!(
            "code {} (want {}), body {text}",
            body["code"], row.code
        ));
    }
    let message = body["message"].as_str().unwrap_or_default();
    if message.trim().is_empty() {
        return Err(format!("empty or missing message: {text}"));
    }
    for m in &row.message_has {
        if !message.contains(m) {
            return Err(format!("message does not mention {m:?}: {message}"));
        }
    }
    let Some(details) = body["details"].as_array() else {
        return Err(format!("details is not an array: {text}"));
    };
    for d in details {
        if !d["field"].is_string() || !d["reason"].is_string() {
            return Err(format!("a detail lacks field or reason: {d}"));
        }
    }
    let got: Vec<&str> = details.iter().filter_map(|d| d["field"].as_str()).collect();
    for f in &row.fields {
        if !got.contains(f) {
            return Err(format!(
                "details[].field {got:?} does not name {f:?}: {text}"
            ));
        }
    }
    let trace = body["trace_id"].as_str().unwrap_or_default();
    if trace.is_empty() {
        return Err(format!("empty or missing trace_id: {text}"));
    }
    let ts = body["timestamp"].as_str().unwrap_or_default();
    if OffsetDateTime::parse(ts, &Rfc3339).is_err() {
        return Err(format!("timestamp {ts:?} is not RFC 3339"));
    }
    if a.request_id.as_deref() != Some(trace) {
        return Err(format!(
            "X-Request-Id {:?} differs from trace_id {trace:?}",
            a.request_id
        ));
    }
    let extra: Vec<&String> = obj
        .keys()
        .filter(|k| !["code", "message", "details", "trace_id", "timestamp"].contains(&k.as_str()))
        .collect();
    if !extra.is_empty() {
        // Additions are allowed by the contract; only note them.
        eprintln!("note: {}: extra error body fields {extra:?}", row.name);
    }
    Ok(())
}

async fn run_rows(http: &reqwest::Client, base: &str, rows: &[Row], failures: &mut Vec<String>) {
    for row in rows {
        let outcome = match send(http, base, row).await {
            Ok(a) => check(row, &a),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => eprintln!("ok   {} -> {} {}", row.name, row.status, row.code),
            Err(e) => {
                eprintln!("FAIL {}: {e}", row.name);
                failures.push(format!(
                    "row {:?} ({} {}): {e}",
                    row.name, row.method, row.path
                ));
            }
        }
    }
}

/// A successful JSON call; panics naming `what` otherwise.
async fn ok_json(
    http: &reqwest::Client,
    what: &str,
    method: Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    want: u16,
) -> Value {
    let mut req = http.request(method, url);
    for (k, v) in &headers {
        req = req.header(*k, v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, want, "{what}: HTTP {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    let path = fixtures(kind)
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(name))
        })
        .unwrap_or_else(|| panic!("fixture {kind}/{name} missing"));
    std::fs::read(&path).unwrap()
}

/// Every file under `root`, as `/`-separated keys relative to it (sidecars and temp files,
/// whose names start with a dot, are skipped).
fn object_keys(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p: PathBuf = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                let rel = p.strip_prefix(root).unwrap();
                out.push(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().to_string())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_rejected_with_the_contract_error_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let env = [("EXPORTCENTER_JWT_SECRET", SECRET)];
    let mut cfg =
        StackConfig::from_env(&env, "127.0.0.1:0".parse().unwrap(), data_dir.clone()).unwrap();
    cfg.limits.request_bytes = REQUEST_LIMIT;
    cfg.limits.scan_bytes = SCAN_LIMIT;
    let stack = Stack::start(cfg, &env).await.unwrap();
    let base = stack.base_url.clone();
    // A fresh connection per row: a server that answers 413 before reading an oversize
    // body closes the connection, and a pooled one would fail the next row by chance.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let secret = stack.jwt_secret.clone().expect("the development secret");
    let mint = |tenant: &str, scopes: &str, ttl: i64| {
        ec_api::auth::mint(&secret, "alice", tenant, scopes, ttl).unwrap()
    };
    let acme = mint("acme", ALL_SCOPES, 3600);
    let globex = mint("globex", ALL_SCOPES, 3600);
    let read_only = mint("acme", "export:read", 3600);
    let auditor = mint("acme", "audit:read", 3600);
    let write_only = mint("acme", "export:write", 3600);
    let no_scan_write = mint("acme", "export:read export:write", 3600);
    let expired = mint("acme", ALL_SCOPES, -3600);
    // Tenants the contract does not allow, in a token signed with the right secret.
    let slashed = mint("a/b", ALL_SCOPES, 3600);
    let spaced = mint("a b", ALL_SCOPES, 3600);
    let climbing = mint("../../x", ALL_SCOPES, 3600);
    let long_tenant = "t".repeat(300);
    let too_long = mint(&long_tenant, ALL_SCOPES, 3600);
    let badly_signed = ec_api::auth::mint(
        b"another-secret-entirely-0123456789",
        "alice",
        "acme",
        ALL_SCOPES,
        3600,
    )
    .unwrap();

    // --- Setup: two real scans for acme, one for globex. ---------------------------------
    let trivy_alpine = fixture("trivy", "alpine-310");
    let grype_ruby = fixture("grype", "chainguard-ruby");
    let trivy_amazon = fixture("trivy", "amazon-2");
    let trivy_centos = fixture("trivy", "centos-7"); // never accepted: only in rejected rows
    let mut scans: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut ingest = async |tenant: &'static str, token: &str, doc: &[u8]| -> String {
        let r = ok_json(
            &http,
            &format!("ingest for {tenant}"),
            Method::POST,
            format!("{base}/api/v1/scans"),
            auth_json(token, tenant),
            Some(doc.to_vec()),
            201,
        )
        .await;
        let id = r["scan_id"].as_str().expect("scan_id").to_string();
        scans.entry(tenant).or_default().insert(id.clone());
        id
    };
    let acme_scan_1 = ingest("acme", &acme, &trivy_alpine).await;
    let acme_scan_2 = ingest("acme", &acme, &grype_ruby).await;
    let globex_scan = ingest("globex", &globex, &trivy_amazon).await;
    assert_eq!(scans["acme"].len(), 2, "two distinct acme scans");

    // --- Successful requests: the only jobs that may exist at the end. -------------------
    let mut acme_jobs: BTreeSet<String> = BTreeSet::new();
    let exports = format!("{base}/api/v1/exports");
    let body_a = export_body(&[&acme_scan_1, &acme_scan_2], "json");
    let job_a = ok_json(
        &http,
        "export with Idempotency-Key k-1",
        Method::POST,
        exports.clone(),
        with(auth_json(&acme, "acme"), "Idempotency-Key", "k-1"),
        Some(bytes(&body_a)),
        202,
    )
    .await;
    let id_a = job_a["export_id"].as_str().unwrap().to_string();
    acme_jobs.insert(id_a.clone());

    // The same key and the same body (keys reordered, other whitespace): the same job.
    let same_body = format!(
        "{{ \"scope\": {{ \"scan_ids\": [\"{acme_scan_1}\", \"{acme_scan_2}\"] }},\n  \"format\": \"json\", \"type\": \"scan_report\" }}"
    );
    let same_again = ok_json(
        &http,
        "same Idempotency-Key, same body",
        Method::POST,
        exports.clone(),
        with(auth_json(&acme, "acme"), "Idempotency-Key", "k-1"),
        Some(same_body.into_bytes()),
        202,
    )
    .await;
    assert_eq!(
        same_again["export_id"], job_a["export_id"],
        "an Idempotency-Key retry with the same body must return the same job"
    );

    let globex_job = ok_json(
        &http,
        "globex export",
        Method::POST,
        exports.clone(),
        auth_json(&globex, "globex"),
        Some(bytes(&export_body(&[&globex_scan], "csv"))),
        202,
    )
    .await;
    let globex_id = globex_job["export_id"].as_str().unwrap().to_string();

    // A queued job no worker will ever pick up (written to the job table without a queue
    // message), so "not ready" and "cancel" are deterministic rather than a race with the
    // workers.
    let parked = Job::new(
        ec_domain::ExportId::generate(),
        "acme".parse().unwrap(),
        ExportRequest::from_json(&export_body(&[&acme_scan_1], "json"), "acme").unwrap(),
        "alice".into(),
        None,
        ec_domain::time::now(),
    );
    stack
        .pipeline
        .app
        .exports
        .jobs
        .create(&parked)
        .await
        .unwrap();
    let parked_id = parked.export_id.to_string();
    acme_jobs.insert(parked_id.clone());

    // --- The table of rejected requests. ---------------------------------------------------
    let good = bytes(&export_body(&[&acme_scan_1], "json"));
    let many: Vec<String> = (0..1001).map(|i| format!("scan-{i:04}")).collect();
    let many_refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let body_with = |patch: Value| {
        let mut v = export_body(&[&acme_scan_1], "json");
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        bytes(&v)
    };
    let aj = || auth_json(&acme, "acme");
    let a = || auth(&acme, "acme");
    let p_exports = "/api/v1/exports";
    let p_scans = "/api/v1/scans";
    let p_globex = format!("/api/v1/exports/{globex_id}");
    let p_parked = format!("/api/v1/exports/{parked_id}");
    let oversize_export = padded(&good, REQUEST_LIMIT + 1);
    let oversize_scan = padded(&trivy_centos, SCAN_LIMIT + 1);
    assert!(bytes(&export_body(&many_refs, "json")).len() < REQUEST_LIMIT);

    let rows = vec![
        // Bodies.
        Row::new("malformed JSON", Method::POST, p_exports)
            .headers(aj())
            .body(&b"{\"type\": \"scan_report\", "[..])
            .expect(400, "ERR_MALFORMED_BODY"),
        Row::new("malformed JSON (not UTF-8)", Method::POST, p_exports)
            .headers(aj())
            .body(vec![0xff, 0xfe, b'{'])
            .expect(400, "ERR_MALFORMED_BODY"),
        Row::new("wrong content type text/plain", Method::POST, p_exports)
            .headers(with(a(), "Content-Type", "text/plain"))
            .body(good.clone())
            .expect(415, "ERR_UNSUPPORTED_MEDIA_TYPE"),
        Row::new("no content type", Method::POST, p_exports)
            .headers(a())
            .body(good.clone())
            .expect(415, "ERR_UNSUPPORTED_MEDIA_TYPE"),
        Row::new("scan with wrong content type", Method::POST, p_scans)
            .headers(with(a(), "Content-Type", "application/xml"))
            .body(trivy_centos.clone())
            .expect(415, "ERR_UNSUPPORTED_MEDIA_TYPE"),
        Row::new("body is a JSON array", Method::POST, p_exports)
            .headers(aj())
            .body(&b"[]"[..])
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["body"]),
        // Validation.
        Row::new("unknown type", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"type": "everything"})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["type"]),
        Row::new("unknown format", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"format": "docx"})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["format"]),
        Row::new("unknown template", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"options": {"template": "fancy"}})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["options.template"]),
        Row::new("unknown filter severity", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(
                json!({"options": {"filters": {"min_severity": "huge"}}}),
            ))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["options.filters.min_severity"]),
        Row::new("filter glob that does not parse", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(
                json!({"options": {"filters": {"packages": ["a[b"]}}}),
            ))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["options.filters.packages[0]"]),
        Row::new(
            "previous_run baseline on a one-off export",
            Method::POST,
            p_exports,
        )
        .headers(aj())
        .body(body_with(json!({"options": {"baseline": "previous_run"}})))
        .expect(422, "ERR_EXPORT_VALIDATION")
        .fields(&["options.baseline"]),
        Row::new("baseline scan that does not exist", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(
                json!({"options": {"baseline": {"scan_ids": ["scan-nope"]}}}),
            ))
            .expect(404, "ERR_NOT_FOUND")
            .fields(&["options.baseline.scan_ids"]),
        Row::new("openvex for a scan report", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"format": "openvex"})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["format"]),
        Row::new("missing type and format", Method::POST, p_exports)
            .headers(aj())
            .body(bytes(&json!({"scope": {"scan_ids": [&acme_scan_1]}})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["type", "format"]),
        Row::new("invalid pair sbom + sarif", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"type": "sbom", "format": "sarif"})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["format"]),
        Row::new("invalid pair audit_bundle + csv", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"type": "audit_bundle", "format": "csv"})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["format"]),
        Row::new("both scan_ids and date_range", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"scope": {
                "scan_ids": [&acme_scan_1],
                "date_range": {"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}}})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["scope"]),
        Row::new("neither scan_ids nor date_range", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"scope": {}})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["scope"]),
        Row::new("scope missing", Method::POST, p_exports)
            .headers(aj())
            .body(bytes(&json!({"type": "scan_report", "format": "json"})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["scope"]),
        Row::new("empty scan_ids", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"scope": {"scan_ids": []}})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["scope.scan_ids"]),
        Row::new("1001 scan_ids", Method::POST, p_exports)
            .headers(aj())
            .body(bytes(&export_body(&many_refs, "json")))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["scope.scan_ids"]),
        Row::new("date_range from after to", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"scope": {"date_range":
                {"from": "2030-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}}})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["scope.date_range"]),
        Row::new("unknown top-level field", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"priority": "high"})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["priority"]),
        Row::new("another tenant's custom template", Method::POST, p_exports)
            .headers(aj())
            .body(body_with(json!({"options": {"template": "custom-globex"}})))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["options.template"]),
        Row::new("unknown scan id", Method::POST, p_exports)
            .headers(with(aj(), "Idempotency-Key", "k-2"))
            .body(bytes(&export_body(&["scan-does-not-exist"], "json")))
            .expect(404, "ERR_NOT_FOUND")
            .fields(&["scope.scan_ids"]),
        Row::new("another tenant's scan id", Method::POST, p_exports)
            .headers(aj())
            .body(bytes(&export_body(&[&acme_scan_1, &globex_scan], "json")))
            .expect(404, "ERR_NOT_FOUND")
            .fields(&["scope.scan_ids"]),
        Row::new("invalid Idempotency-Key", Method::POST, p_exports)
            .headers(with(aj(), "Idempotency-Key", &"k".repeat(300)))
            .body(good.clone())
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["Idempotency-Key"]),
        Row::new(
            "Idempotency-Key reused with another body",
            Method::POST,
            p_exports,
        )
        .headers(with(aj(), "Idempotency-Key", "k-1"))
        .body(bytes(&export_body(&[&acme_scan_1, &acme_scan_2], "csv")))
        .expect(409, "ERR_IDEMPOTENCY_MISMATCH"),
        // Other tenants' exports and unknown ids.
        Row::new("GET another tenant's export", Method::GET, p_globex.clone())
            .headers(a())
            .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "DELETE another tenant's export",
            Method::DELETE,
            p_globex.clone(),
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "download another tenant's export",
            Method::GET,
            format!("{p_globex}/download?artifact=report"),
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "download another tenant's sealed bundle",
            Method::GET,
            format!("{p_globex}/download?artifact=sealed"),
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "GET unknown export id",
            Method::GET,
            "/api/v1/exports/exp-nope",
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "GET unsafe export id",
            Method::GET,
            "/api/v1/exports/exp%2F..%2Fx",
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "download with an unknown artifact",
            Method::GET,
            format!("/api/v1/exports/{id_a}/download?artifact=everything"),
        )
        .headers(a())
        .expect(422, "ERR_EXPORT_VALIDATION")
        .fields(&["artifact"]),
        Row::new(
            "download before ready (queued)",
            Method::GET,
            format!("{p_parked}/download?artifact=report"),
        )
        .headers(a())
        .expect(409, "ERR_NOT_READY"),
        // Tokens.
        Row::new("missing token", Method::POST, p_exports)
            .headers(vec![
                ("X-Tenant-Id", "acme".into()),
                ("Content-Type", "application/json".into()),
            ])
            .body(good.clone())
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("empty Bearer token", Method::GET, p_exports)
            .headers(vec![
                ("Authorization", "Bearer ".into()),
                ("X-Tenant-Id", "acme".into()),
            ])
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("Basic credentials", Method::GET, p_exports)
            .headers(vec![
                ("Authorization", "Basic YWxpY2U6cHc=".into()),
                ("X-Tenant-Id", "acme".into()),
            ])
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("not a JWT", Method::GET, p_exports)
            .headers(auth("not.a.jwt", "acme"))
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("expired token", Method::POST, p_exports)
            .headers(auth_json(&expired, "acme"))
            .body(good.clone())
            .expect(401, "ERR_UNAUTHENTICATED")
            .message_has(&["expired"]),
        Row::new("badly signed token", Method::POST, p_exports)
            .headers(auth_json(&badly_signed, "acme"))
            .body(good.clone())
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("missing token on scan ingest", Method::POST, p_scans)
            .headers(vec![
                ("X-Tenant-Id", "acme".into()),
                ("Content-Type", "application/json".into()),
            ])
            .body(trivy_centos.clone())
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new(
            "missing token on download",
            Method::GET,
            format!("{p_parked}/download"),
        )
        .headers(vec![("X-Tenant-Id", "acme".into())])
        .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("tenant with a slash", Method::POST, p_exports)
            .headers(auth_json(&slashed, "a/b"))
            .body(good.clone())
            .expect(401, "ERR_UNAUTHENTICATED")
            .message_has(&["tenant"]),
        Row::new("tenant with a space", Method::GET, p_exports)
            .headers(auth(&spaced, "a b"))
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("tenant climbing out of its prefix", Method::GET, p_exports)
            .headers(auth(&climbing, "../../x"))
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("300-character tenant", Method::GET, p_exports)
            .headers(auth(&too_long, &long_tenant))
            .expect(401, "ERR_UNAUTHENTICATED"),
        Row::new("tenant with a slash, no header", Method::GET, p_exports)
            .headers(vec![("Authorization", format!("Bearer {slashed}"))])
            .expect(401, "ERR_UNAUTHENTICATED"),
        // Paths that do not decode get the error body too.
        Row::new(
            "export id that does not decode",
            Method::GET,
            "/api/v1/exports/%ff%fe",
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "download of an id that does not decode",
            Method::GET,
            "/api/v1/exports/%ff%fe/download",
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "schedule id that does not decode",
            Method::DELETE,
            "/api/v1/schedules/%ff",
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "template name that does not decode",
            Method::GET,
            "/api/v1/templates/%ff",
        )
        .headers(a())
        .expect(404, "ERR_NOT_FOUND"),
        Row::new(
            "tenant header not matching the token",
            Method::POST,
            p_exports,
        )
        .headers(auth_json(&acme, "globex"))
        .body(good.clone())
        .expect(403, "ERR_FORBIDDEN")
        .fields(&["X-Tenant-Id"]),
        Row::new(
            "tenant header not matching the token (GET)",
            Method::GET,
            p_globex.clone(),
        )
        .headers(auth(&acme, "globex"))
        .expect(403, "ERR_FORBIDDEN"),
        Row::new("export:read only POSTs an export", Method::POST, p_exports)
            .headers(auth_json(&read_only, "acme"))
            .body(good.clone())
            .expect(403, "ERR_FORBIDDEN")
            .fields(&["scope"]),
        Row::new(
            "export:read only DELETEs an export",
            Method::DELETE,
            p_parked.clone(),
        )
        .headers(auth(&read_only, "acme"))
        .expect(403, "ERR_FORBIDDEN"),
        Row::new("export:write only lists exports", Method::GET, p_exports)
            .headers(auth(&write_only, "acme"))
            .expect(403, "ERR_FORBIDDEN"),
        Row::new("scan ingest without scan:write", Method::POST, p_scans)
            .headers(auth_json(&no_scan_write, "acme"))
            .body(trivy_centos.clone())
            .expect(403, "ERR_FORBIDDEN")
            .fields(&["scope"]),
        // Sizes.
        Row::new("oversize export body", Method::POST, p_exports)
            .headers(aj())
            .body(oversize_export.clone())
            .expect(413, "ERR_PAYLOAD_TOO_LARGE"),
        Row::new("oversize export body, chunked", Method::POST, p_exports)
            .headers(aj())
            .body(oversize_export.clone())
            .chunked()
            .expect(413, "ERR_PAYLOAD_TOO_LARGE"),
        Row::new("oversize scan", Method::POST, p_scans)
            .headers(aj())
            .body(oversize_scan.clone())
            .expect(413, "ERR_PAYLOAD_TOO_LARGE"),
        Row::new("oversize scan, chunked", Method::POST, p_scans)
            .headers(aj())
            .body(oversize_scan.clone())
            .chunked()
            .expect(413, "ERR_PAYLOAD_TOO_LARGE"),
        // Ingest.
        Row::new("unrecognised scanner document", Method::POST, p_scans)
            .headers(aj())
            .body(bytes(&json!({"hello": "world", "results": []})))
            .expect(422, "ERR_UNRECOGNISED_DOCUMENT")
            .message_has(&["Trivy", "Grype"]),
        Row::new("empty JSON array as a scan", Method::POST, p_scans)
            .headers(aj())
            .body(&b"[]"[..])
            .expect(422, "ERR_UNRECOGNISED_DOCUMENT")
            .message_has(&["Trivy", "Grype"]),
        Row::new("scan that is not JSON", Method::POST, p_scans)
            .headers(aj())
            .body(&b"SchemaVersion: 2\nResults: []\n"[..])
            .expect(400, "ERR_MALFORMED_BODY"),
        // Listing.
        Row::new("list limit=0", Method::GET, "/api/v1/exports?limit=0")
            .headers(a())
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["limit"]),
        Row::new("list limit=500", Method::GET, "/api/v1/exports?limit=500")
            .headers(a())
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["limit"]),
        Row::new("list limit=abc", Method::GET, "/api/v1/exports?limit=abc")
            .headers(a())
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["limit"]),
        Row::new(
            "list bad status",
            Method::GET,
            "/api/v1/exports?status=done",
        )
        .headers(a())
        .expect(422, "ERR_EXPORT_VALIDATION")
        .fields(&["status"]),
        Row::new(
            "list bad cursor",
            Method::GET,
            "/api/v1/exports?cursor=not-a-cursor",
        )
        .headers(a())
        .expect(422, "ERR_EXPORT_VALIDATION")
        .fields(&["cursor"]),
        // The audit trail.
        Row::new("audit without audit:read", Method::GET, "/api/v1/audit")
            .headers(a())
            .expect(403, "ERR_FORBIDDEN")
            .message_has(&["audit:read"]),
        Row::new(
            "audit _system without audit:system",
            Method::GET,
            "/api/v1/audit?chain=_system",
        )
        .headers(auth(&auditor, "acme"))
        .expect(403, "ERR_FORBIDDEN")
        .message_has(&["audit:system"]),
        Row::new(
            "audit of another chain",
            Method::GET,
            "/api/v1/audit?chain=globex",
        )
        .headers(auth(&auditor, "acme"))
        .expect(422, "ERR_EXPORT_VALIDATION")
        .fields(&["chain"]),
        Row::new(
            "audit bad action",
            Method::GET,
            "/api/v1/audit?action=export.delete",
        )
        .headers(auth(&auditor, "acme"))
        .expect(422, "ERR_EXPORT_VALIDATION")
        .fields(&["action"]),
        Row::new(
            "audit bad from",
            Method::GET,
            "/api/v1/audit?from=yesterday",
        )
        .headers(auth(&auditor, "acme"))
        .expect(422, "ERR_EXPORT_VALIDATION")
        .fields(&["from"]),
        Row::new("audit limit=0", Method::GET, "/api/v1/audit?limit=0")
            .headers(auth(&auditor, "acme"))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["limit"]),
        Row::new("audit bad cursor", Method::GET, "/api/v1/audit?cursor=-1")
            .headers(auth(&auditor, "acme"))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["cursor"]),
        Row::new("audit bad order", Method::GET, "/api/v1/audit?order=random")
            .headers(auth(&auditor, "acme"))
            .expect(422, "ERR_EXPORT_VALIDATION")
            .fields(&["order"]),
        // Routes.
        Row::new("unknown route", Method::GET, "/api/v1/nothing-here")
            .headers(a())
            .expect(404, "ERR_NOT_FOUND"),
        Row::new("unknown route without a token", Method::GET, "/nope")
            .expect(404, "ERR_NOT_FOUND"),
        Row::new("method not allowed", Method::PATCH, p_exports)
            .headers(aj())
            .body(good.clone())
            .expect(405, "ERR_METHOD_NOT_ALLOWED"),
    ];

    let mut failures = Vec::new();
    run_rows(&http, &base, &rows, &mut failures).await;

    // A rejected request with Idempotency-Key k-2 must not have claimed the key.
    let k2 = ok_json(
        &http,
        "Idempotency-Key k-2 after its rejected use",
        Method::POST,
        exports.clone(),
        with(auth_json(&acme, "acme"), "Idempotency-Key", "k-2"),
        Some(bytes(&export_body(&[&acme_scan_2], "csv"))),
        202,
    )
    .await;
    let id_k2 = k2["export_id"].as_str().unwrap().to_string();
    assert_ne!(id_k2, id_a);
    acme_jobs.insert(id_k2.clone());

    // Cancel the parked job: 202; then it is not ready (409) and cannot be cancelled again (409).
    let cancelled = ok_json(
        &http,
        "cancel the parked job",
        Method::DELETE,
        format!("{base}{p_parked}"),
        auth(&acme, "acme"),
        None,
        202,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let after_cancel = vec![
        Row::new(
            "download a cancelled export",
            Method::GET,
            format!("{p_parked}/download?artifact=report"),
        )
        .headers(a())
        .expect(409, "ERR_NOT_READY"),
        Row::new(
            "DELETE an export that already ended",
            Method::DELETE,
            p_parked.clone(),
        )
        .headers(a())
        .expect(409, "ERR_CONFLICT"),
    ];
    run_rows(&http, &base, &after_cancel, &mut failures).await;

    // --- Nothing left behind. --------------------------------------------------------------
    // Let the workers finish the real jobs, so every object they write exists now.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    for (tenant, token, id) in [
        ("acme", &acme, &id_a),
        ("acme", &acme, &id_k2),
        ("globex", &globex, &globex_id),
    ] {
        loop {
            let job = ok_json(
                &http,
                "poll job",
                Method::GET,
                format!("{exports}/{id}"),
                auth(token, tenant),
                None,
                200,
            )
            .await;
            let status = job["status"].as_str().unwrap_or_default().to_string();
            if !["queued", "running"].contains(&status.as_str()) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} still {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    let listed = |tenant: &'static str, token: String| {
        let http = http.clone();
        let exports = exports.clone();
        async move {
            let page = ok_json(
                &http,
                "list",
                Method::GET,
                format!("{exports}?limit=200"),
                auth(&token, tenant),
                None,
                200,
            )
            .await;
            assert!(page["next_cursor"].is_null(), "{page}");
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|j| j["export_id"].as_str().unwrap().to_string())
                .collect::<BTreeSet<String>>()
        }
    };
    let acme_listed = listed("acme", acme.clone()).await;
    if acme_listed != acme_jobs {
        failures.push(format!(
            "acme's jobs are {acme_listed:?}, but only {acme_jobs:?} were accepted"
        ));
    }
    let globex_listed = listed("globex", globex.clone()).await;
    let globex_jobs = BTreeSet::from([globex_id.clone()]);
    if globex_listed != globex_jobs {
        failures.push(format!(
            "globex's jobs are {globex_listed:?}, but only {globex_jobs:?} was accepted"
        ));
    }

    let gather = stack.queue.depth(QueueName::Gather).await.unwrap();
    if gather.total() != 0 || gather.dead != 0 {
        failures.push(format!(
            "the gather queue still holds messages once every accepted job ended: {gather:?}"
        ));
    }

    let all_jobs: BTreeMap<String, &str> = acme_jobs
        .iter()
        .map(|id| (id.clone(), "acme"))
        .chain([(globex_id.clone(), "globex")])
        .collect();
    let mut stored_scans: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let keys = object_keys(&data_dir.join("objects"));
    for key in &keys {
        let parts: Vec<&str> = key.split('/').collect();
        if let ["scans", tenant @ ("acme" | "globex"), file] = parts.as_slice()
            && let Some(id) = file.strip_suffix(".json")
        {
            stored_scans
                .entry(tenant)
                .or_default()
                .insert(id.to_string());
        }
        let fine = match parts.as_slice() {
            ["reports" | "inputs" | "sealed", tenant, export_id, ..] => {
                all_jobs.get(*export_id) == Some(tenant)
            }
            ["scans", tenant, file] => file
                .strip_suffix(".json")
                .is_some_and(|id| scans.get(tenant).is_some_and(|s| s.contains(id))),
            _ => true,
        };
        if !fine {
            failures.push(format!("object {key} belongs to no accepted request"));
        }
    }

    // Proves the walk sees the store: exactly the accepted scans are there.
    if stored_scans != scans {
        failures.push(format!(
            "stored scans {stored_scans:?} differ from the accepted ones {scans:?} (keys: {keys:?})"
        ));
    }

    stack.shutdown().await;
    assert!(
        failures.is_empty(),
        "{} check(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
