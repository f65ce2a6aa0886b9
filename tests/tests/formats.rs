//! Conformance of the rendered formats: every vendored Trivy and Grype report rendered as
//! the JSON report (checked against `schemas/export-report-v1.schema.json`) and as CSV
//! (RFC 4180, fixed header, neutralised formula cells), the OpenAPI description, and the
//! sealed bundle's DSSE envelope against the official DSSE schema.
//!
//! Run with `EC_PYTHON=<venv>/bin/python cargo test -p ec-tests --test formats`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use ec_domain::policy::{PolicyConfig, evaluate};
use ec_domain::request::ExportRequest;
use ec_domain::scan::{Sbom, Scan, VexStatement, VexStatus};
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_tests::{fixtures, python, repo_root};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const TENANT: &str = "acme-corp";
const EXPORT_ID: &str = "exp-01jg5x3k2m7p9q8r4s6t0v1w2y";
const AT: OffsetDateTime = datetime!(2024-12-29 10:30:00 UTC);
const REPORT_SCHEMA: &str = "schemas/export-report-v1.schema.json";

/// Runs `tests/python/<script> <args>` with the validators' Python; fails the test, with
/// the script's output, unless it exits 0.
fn run_python(script: &str, args: &[&Path]) {
    let out = python_output(script, args);
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn python_output(script: &str, args: &[&Path]) -> std::process::Output {
    let root = repo_root();
    Command::new(python())
        .arg(root.join("tests/python").join(script))
        .args(args)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"))
}

fn validate_json(files: &[PathBuf]) {
    assert!(!files.is_empty(), "nothing to validate");
    let schema = repo_root().join(REPORT_SCHEMA);
    let mut args: Vec<&Path> = vec![&schema];
    args.extend(files.iter().map(PathBuf::as_path));
    run_python("validate_json.py", &args);
}

fn check_csv(file: &Path, rows: usize) {
    let rows = PathBuf::from(rows.to_string());
    run_python("check_csv.py", &[file, &rows]);
}

fn scanner_fixtures() -> Vec<PathBuf> {
    let mut files = fixtures("trivy");
    files.extend(fixtures("grype"));
    assert!(files.len() >= 2, "no Trivy/Grype fixtures found");
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("fixture")
        .to_string()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn scan_of(path: &Path) -> Scan {
    match ec_ingest::parse_document(&read(path), &TENANT.parse().unwrap(), AT) {
        Ok(ec_ingest::Ingested { scan: Some(s), .. }) => s,
        Ok(_) => panic!("{}: no scan", path.display()),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// The inputs gather would collect: built-in verdicts, the given VEX, and an SBOM derived
/// from the scan's own package list.
fn inputs(scan: Scan, vex: Vec<VexStatement>) -> ScanInputs {
    let verdicts = evaluate(&PolicyConfig::default(), &scan, &vex);
    let sbom = Sbom {
        artifact_digest: scan
            .artifact
            .digest
            .clone()
            .unwrap_or_else(|| format!("sha256:{}", scan.document_sha256)),
        source_format: "derived".into(),
        components: scan.components.clone(),
    };
    ScanInputs {
        scan,
        verdicts,
        vex,
        sbom: Some(sbom),
    }
}

fn request(export_type: &str, format: &str, scope: Value) -> ExportRequest {
    let body = json!({
        "type": export_type,
        "format": format,
        "scope": scope,
        "options": { "include_sbom": true, "include_evidence": true },
    });
    match ExportRequest::from_json(&body, TENANT) {
        Ok(r) => r,
        Err(e) => panic!("request {body}: {e:?}"),
    }
}

fn scan_ids(scans: &[ScanInputs]) -> Value {
    json!({ "scan_ids": scans.iter().map(|s| s.scan.scan_id.clone()).collect::<Vec<_>>() })
}

fn snapshot(req: ExportRequest, scans: Vec<ScanInputs>) -> Snapshot {
    Snapshot::new(
        EXPORT_ID.parse().unwrap(),
        TENANT.parse().unwrap(),
        req,
        "alice".into(),
        AT,
        scans,
    )
}

/// Renders twice and checks the bytes are identical.
fn render(snap: &Snapshot) -> Vec<u8> {
    let first = ec_render::render(snap).unwrap_or_else(|e| panic!("render: {e}"));
    let again = ec_render::render(snap).unwrap_or_else(|e| panic!("render: {e}"));
    assert!(
        first == again,
        "rendering {} {} twice gave different bytes",
        snap.request.export_type,
        snap.request.format
    );
    first
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

fn parse_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("report is not JSON: {e}"))
}

/// `(vulnerability id, package, severity)` of every vulnerability in the scanner document
/// itself, read independently of the ingest crate.
fn raw_vulnerabilities(doc: &Value) -> BTreeSet<(String, String, String)> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = BTreeSet::new();
    if let Some(matches) = doc.get("matches").and_then(Value::as_array) {
        for m in matches {
            let vuln = &m["vulnerability"];
            out.insert((
                s(vuln, "id"),
                s(&m["artifact"], "name"),
                s(vuln, "severity").to_ascii_lowercase(),
            ));
        }
        return out;
    }
    let results = match doc {
        Value::Array(items) => items.clone(),
        _ => doc
            .get("Results")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    for r in &results {
        for v in r
            .get("Vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.insert((
                s(v, "VulnerabilityID"),
                s(v, "PkgName"),
                s(v, "Severity").to_ascii_lowercase(),
            ));
        }
    }
    out
}

fn report_triples(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("vulnerability_id"), s("package"), s("severity"))
        })
        .collect()
}

#[test]
fn scanner_reports_render_to_valid_json_and_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut json_files = Vec::new();
    for path in scanner_fixtures() {
        let name = stem(&path);
        let scan = scan_of(&path);
        let findings = scan.findings.len();
        let components = scan.components.len();
        let raw = raw_vulnerabilities(&parse_json(&read(&path)));
        assert!(!raw.is_empty(), "{name}: fixture without vulnerabilities");
        let scans = vec![inputs(scan, Vec::new())];
        let scope = scan_ids(&scans);

        let snap = snapshot(request("scan_report", "json", scope.clone()), scans.clone());
        let bytes = render(&snap);
        let report = parse_json(&bytes);
        assert_eq!(report["schema_version"], "exportcenter.report/v1", "{name}");
        assert_eq!(
            report["summary"]["findings"].as_u64(),
            Some(findings as u64),
            "{name}: summary.findings"
        );
        assert_eq!(
            report["findings"].as_array().map(Vec::len),
            Some(findings),
            "{name}: findings listed"
        );
        assert_eq!(
            report["components"].as_array().map(Vec::len),
            Some(components),
            "{name}: include_sbom lists the components"
        );
        let listed = report_triples(&report);
        let missing: Vec<_> = raw.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "{name}: vulnerabilities of the input missing from the report (id, package, severity): {missing:?}"
        );
        json_files.push(write(dir.path(), &format!("{name}.json"), &bytes));

        let snap = snapshot(request("scan_report", "csv", scope), scans);
        let csv = write(dir.path(), &format!("{name}.csv"), &render(&snap));
        check_csv(&csv, findings);
    }
    validate_json(&json_files);
}

#[test]
fn multi_scan_report_with_vex_and_date_range_validates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scans: Vec<ScanInputs> = scanner_fixtures()
        .iter()
        .map(|p| {
            let scan = scan_of(p);
            let vex = sample_vex(&scan);
            inputs(scan, vex)
        })
        .collect();
    let total: usize = scans.iter().map(|s| s.scan.findings.len()).sum();
    let statements: usize = scans.iter().map(|s| s.vex.len()).sum();

    let snap = snapshot(
        request("scan_report", "json", scan_ids(&scans)),
        scans.clone(),
    );
    let bytes = render(&snap);
    let report = parse_json(&bytes);
    assert_eq!(
        report["summary"]["scans"].as_u64(),
        Some(scans.len() as u64)
    );
    assert_eq!(report["summary"]["findings"].as_u64(), Some(total as u64));
    assert_eq!(
        report["summary"]["vex_statements"].as_u64(),
        Some(statements as u64)
    );
    let with_vex = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| !f["vex"].is_null())
        .count();
    assert!(with_vex > 0, "the sample VEX applies to some findings");
    let mut files = vec![write(dir.path(), "all.json", &bytes)];

    let range = json!({ "date_range": { "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00+01:00" } });
    let snap = snapshot(request("audit_bundle", "json", range), scans.clone());
    let bytes = render(&snap);
    assert!(
        parse_json(&bytes)["export"]["scope"]["date_range"]["from"].is_string(),
        "date_range scope is externally tagged"
    );
    files.push(write(dir.path(), "audit-date-range.json", &bytes));
    validate_json(&files);

    let snap = snapshot(request("scan_report", "csv", scan_ids(&scans)), scans);
    let csv = write(dir.path(), "all.csv", &render(&snap));
    check_csv(&csv, total);
}

/// Statements about the scan's first findings: one suppressing with a justification, one
/// conflicting pair, one for an unknown vulnerability. Cells starting with `-` and `=` test
/// the CSV neutralising.
fn sample_vex(scan: &Scan) -> Vec<VexStatement> {
    let mut out = Vec::new();
    let mut findings = scan.findings.iter();
    if let Some(f) = findings.next() {
        out.push(VexStatement {
            vulnerability_id: f.vulnerability_id.clone(),
            products: f.purl.iter().cloned().collect(),
            status: VexStatus::NotAffected,
            justification: Some("vulnerable_code_not_in_execute_path".into()),
            impact_statement: Some("-the function is never called".into()),
            action_statement: None,
            timestamp: Some(datetime!(2024-06-01 12:00:00 UTC)),
            source: Some("https://vex.example/doc-1".into()),
        });
    }
    if let Some(f) = findings.next() {
        for (status, ts) in [
            (
                VexStatus::UnderInvestigation,
                datetime!(2024-06-01 12:00:00 UTC),
            ),
            (VexStatus::Affected, datetime!(2024-06-02 12:00:00 UTC)),
        ] {
            out.push(VexStatement {
                vulnerability_id: f.vulnerability_id.clone(),
                products: Vec::new(),
                status,
                justification: None,
                impact_statement: None,
                action_statement: Some("=update when a fix ships".into()),
                timestamp: Some(ts),
                source: None,
            });
        }
    }
    out.push(VexStatement {
        vulnerability_id: "CVE-0000-0000".into(),
        products: vec!["pkg:npm/nothing@1.0.0".into(), "pkg:npm/other".into()],
        status: VexStatus::Fixed,
        justification: None,
        impact_statement: None,
        action_statement: None,
        timestamp: None,
        source: None,
    });
    out
}

#[test]
fn sbom_json_and_csv_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scans: Vec<ScanInputs> = scanner_fixtures()
        .iter()
        .map(|p| inputs(scan_of(p), Vec::new()))
        .collect();
    let components: usize = scans
        .iter()
        .map(|s| s.sbom.as_ref().map_or(0, |b| b.components.len()))
        .sum();

    let snap = snapshot(request("sbom", "json", scan_ids(&scans)), scans.clone());
    let bytes = render(&snap);
    let report = parse_json(&bytes);
    assert_eq!(report["export"]["type"], "sbom");
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        report["components"].as_array().map(Vec::len),
        Some(components)
    );
    assert_eq!(
        report["summary"]["components"].as_u64(),
        Some(components as u64)
    );
    validate_json(&[write(dir.path(), "sbom.json", &bytes)]);

    let snap = snapshot(request("sbom", "csv", scan_ids(&scans)), scans);
    let csv = write(dir.path(), "sbom.csv", &render(&snap));
    check_csv(&csv, components);
}

#[test]
fn vex_csv_and_json_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scans: Vec<ScanInputs> = scanner_fixtures()
        .iter()
        .map(|p| {
            let scan = scan_of(p);
            let vex = sample_vex(&scan);
            inputs(scan, vex)
        })
        .collect();
    let statements: usize = scans.iter().map(|s| s.vex.len()).sum();

    let snap = snapshot(request("vex", "csv", scan_ids(&scans)), scans.clone());
    let bytes = render(&snap);
    let csv = write(dir.path(), "vex.csv", &bytes);
    check_csv(&csv, statements);
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.starts_with("scan_id,vulnerability_id,products,status,"),
        "vex header: {}",
        text.lines().next().unwrap_or("")
    );
    assert!(text.contains("'-the function is never called"));
    assert!(text.contains("'=update when a fix ships"));

    let snap = snapshot(request("vex", "json", scan_ids(&scans)), scans);
    let bytes = render(&snap);
    assert_eq!(
        parse_json(&bytes)["vex"].as_array().map(Vec::len),
        Some(statements)
    );
    validate_json(&[write(dir.path(), "vex.json", &bytes)]);
}

#[test]
fn formula_cells_are_neutralised_in_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scanner_fixtures().into_iter().next().expect("a fixture");
    let mut scan = scan_of(&path);
    let title = r#"=HYPERLINK("x")"#;
    {
        let f = scan.findings.first_mut().expect("a finding");
        f.title = Some(title.into());
        f.fixed_version = Some("+1.2.3".into());
        f.status = Some("@SUM(A1)".into());
        f.references = vec!["-x".into()];
    }
    let target_id = scan.findings[0].vulnerability_id.clone();
    let findings = scan.findings.len();
    let scans = vec![inputs(scan, Vec::new())];
    let snap = snapshot(request("scan_report", "csv", scan_ids(&scans)), scans);
    let bytes = render(&snap);
    let csv_path = write(dir.path(), "injection.csv", &bytes);
    check_csv(&csv_path, findings);

    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column"))
    };
    let (c_id, c_title, c_fixed, c_status, c_refs) = (
        col("vulnerability_id"),
        col("title"),
        col("fixed_version"),
        col("status"),
        col("references"),
    );
    // One scan: rows follow the scan's finding order, so the first row is the edited one.
    let row = reader.records().next().expect("a row").expect("a record");
    assert_eq!(&row[c_id], target_id.as_str());
    assert_eq!(&row[c_title], r#"'=HYPERLINK("x")"#);
    assert_eq!(&row[c_fixed], "'+1.2.3");
    assert_eq!(&row[c_status], "'@SUM(A1)");
    assert_eq!(&row[c_refs], "'-x");
}

#[test]
fn openapi_document_is_valid() {
    run_python(
        "validate_openapi.py",
        &[&repo_root().join("shared/api/openapi.json")],
    );
    let doc: Value = serde_json::from_str(ec_api::OPENAPI).expect("served OpenAPI is JSON");
    assert_eq!(doc["openapi"], "3.0.3");
    for (path, method) in [
        ("/healthz", "get"),
        ("/openapi.json", "get"),
        ("/api/v1/exports", "post"),
        ("/api/v1/exports", "get"),
        ("/api/v1/exports/{export_id}", "get"),
        ("/api/v1/exports/{export_id}", "delete"),
        ("/api/v1/exports/{export_id}/download", "get"),
        ("/api/v1/scans", "post"),
        ("/api/v1/templates", "get"),
        ("/api/v1/templates/{name}", "get"),
        ("/api/v1/templates/{name}", "put"),
        ("/api/v1/schedules", "post"),
        ("/api/v1/schedules", "get"),
        ("/api/v1/destinations", "post"),
        ("/api/v1/destinations", "get"),
        ("/api/v1/destinations/{destination_id}", "get"),
        ("/api/v1/destinations/{destination_id}", "delete"),
        ("/ws", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from openapi.json"
        );
    }
}

/// Checks `values` against `components.schemas.<name>` of the OpenAPI document.
fn validate_openapi_schema(dir: &Path, name: &str, values: &[Value]) {
    let doc = repo_root().join("shared/api/openapi.json");
    let name_arg = PathBuf::from(name);
    let files: Vec<PathBuf> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let bytes = serde_json::to_vec_pretty(v).expect("serialise");
            write(dir, &format!("{name}-{i}.json"), &bytes)
        })
        .collect();
    let mut args: Vec<&Path> = vec![&doc, &name_arg];
    args.extend(files.iter().map(PathBuf::as_path));
    run_python("validate_openapi_schema.py", &args);
}

/// What the API serialises (jobs in every state, a list page, error bodies, an ingest
/// receipt, WebSocket events) is what openapi.json describes.
#[test]
fn api_payloads_match_openapi_schemas() {
    use ec_domain::job::{Artifact, ArtifactKind, Job, JobError, Stage, Transition};
    use ec_domain::{ApiError, ErrorCode};
    use ec_pipeline::app::IngestReceipt;
    use ec_pipeline::notify::{Event, EventKind};

    let dir = tempfile::tempdir().expect("tempdir");
    let retention = time::Duration::days(30);
    let req = |body: Value| {
        ExportRequest::from_json(&body, TENANT).unwrap_or_else(|e| panic!("{body}: {e:?}"))
    };
    let queued = Job::new(
        EXPORT_ID.parse().unwrap(),
        TENANT.parse().unwrap(),
        req(
            json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": ["scan-b", "scan-a"]}}),
        ),
        "alice".into(),
        None,
        AT,
    );
    let ranged = Job::new(
        "exp-01jg5x3k2m7p9q8r4s6t0v1w2z".parse().unwrap(),
        TENANT.parse().unwrap(),
        req(json!({"type": "vex", "format": "csv",
            "scope": {"date_range": {"from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00+01:00"}},
            "options": {"include_sbom": null, "include_evidence": false, "template": "custom-acme-corp"}})),
        "bob".into(),
        Some("sched-1".parse().unwrap()),
        AT,
    );
    let step = |j: &Job, t: Transition| {
        j.apply(t, AT, retention)
            .unwrap_or_else(|e| panic!("transition: {e}"))
    };
    let mut running = step(&queued, Transition::Enter(Stage::Gathering));
    for s in [Stage::Rendering, Stage::Storing, Stage::Sealing] {
        running = step(&running, Transition::Enter(s));
    }
    let artifact = |kind, media: &str| Artifact {
        kind,
        key: format!("tenants/{TENANT}/exports/{EXPORT_ID}/x"),
        media_type: media.into(),
        size: 1234,
        sha256: ec_domain::ids::sha256_hex(media.as_bytes()),
    };
    let ready = step(
        &running,
        Transition::Ready {
            artifacts: vec![
                artifact(ArtifactKind::Report, "application/json"),
                artifact(ArtifactKind::Sealed, "application/gzip"),
            ],
        },
    );
    let expired = step(&ready, Transition::Expire);
    let failed = step(
        &step(&queued, Transition::Enter(Stage::Gathering)),
        Transition::Fail(JobError::new(ec_domain::StageCode::RenderUnsupported, "no")),
    );
    let cancelled = step(&ranged, Transition::Cancel);
    let jobs = [
        &queued, &ranged, &running, &ready, &expired, &failed, &cancelled,
    ];
    let job_values: Vec<Value> = jobs
        .iter()
        .map(|j| serde_json::to_value(j).expect("job"))
        .collect();
    validate_openapi_schema(dir.path(), "Job", &job_values);
    validate_openapi_schema(
        dir.path(),
        "JobPage",
        &[
            json!({ "items": job_values, "next_cursor": "c-1" }),
            json!({ "items": [], "next_cursor": null }),
        ],
    );

    let errors: Vec<Value> = [
        ApiError::validation("format", "a sbom export cannot be produced as sarif"),
        ApiError::new(ErrorCode::Quota, "slow down"),
        ApiError::not_found("export"),
    ]
    .iter()
    .map(|e| serde_json::to_value(e.body("trace-1", AT)).expect("error body"))
    .collect();
    validate_openapi_schema(dir.path(), "ErrorBody", &errors);

    let scan = scan_of(&scanner_fixtures()[0]);
    let receipt = IngestReceipt {
        scan_id: scan.scan_id.clone(),
        artifact_digest: scan.artifact.digest.clone(),
        findings: scan.findings.len(),
        components: scan.components.len(),
        source_format: scan.source_format.clone(),
        vex_statements: 0,
    };
    // A VEX-only document's receipt names the stored VEX document.
    let vex_receipt = IngestReceipt {
        scan_id: ec_domain::ScanId::of_vex(&TENANT.parse().unwrap(), b"{}"),
        artifact_digest: None,
        findings: 0,
        components: 0,
        source_format: ec_ingest::OPENVEX_0_2_0.into(),
        vex_statements: 5,
    };
    validate_openapi_schema(
        dir.path(),
        "IngestReceipt",
        &[
            serde_json::to_value(&receipt).expect("receipt"),
            serde_json::to_value(&vex_receipt).expect("receipt"),
        ],
    );

    let events: Vec<Value> = [
        (&running, EventKind::Progress),
        (&ready, EventKind::Ready),
        (&failed, EventKind::Failed),
    ]
    .iter()
    .map(|(j, k)| serde_json::to_value(Event::of(j, *k)).expect("event"))
    .collect();
    validate_openapi_schema(dir.path(), "ExportEvent", &events);

    // Templates: the list as a new tenant sees it, and an uploaded custom template.
    let at = time::OffsetDateTime::UNIX_EPOCH;
    let upload = json!({"pdf": "= Report", "csv": "{{ report.export_id }}"});
    let custom =
        ec_domain::template::CustomTemplate::from_upload(&"acme".parse().unwrap(), &upload, at)
            .expect("upload");
    let mut infos: Vec<Value> = ec_domain::BuiltinTemplate::ALL
        .iter()
        .map(|t| serde_json::to_value(ec_pipeline::app::TemplateInfo::builtin(*t)).expect("info"))
        .collect();
    infos
        .push(serde_json::to_value(ec_pipeline::app::TemplateInfo::custom(&custom)).expect("info"));
    validate_openapi_schema(dir.path(), "TemplateInfo", &infos);
    validate_openapi_schema(
        dir.path(),
        "CustomTemplate",
        &[serde_json::to_value(&custom).expect("template")],
    );
}

/// The sealed bundle's `manifest.dsse.json` against the vendored official DSSE envelope
/// schema; the schema has teeth (an unknown field fails).
#[tokio::test]
async fn dsse_envelope_matches_official_schema() {
    use std::io::Read as _;

    let input = ec_seal::SealInput {
        export_id: EXPORT_ID.into(),
        tenant_id: TENANT.into(),
        created_at: AT,
        inputs: vec![ec_domain::snapshot::InputDigest {
            kind: "scan".into(),
            id: "scan-1".into(),
            sha256: "aa".repeat(32),
        }],
        files: vec![ec_seal::BundleFile {
            path: "report.json".into(),
            media_type: "application/json".into(),
            bytes: bytes::Bytes::from_static(b"{}\n"),
        }],
    };
    let sealed = ec_seal::seal(input, &ec_seal::Ed25519Signer::generate())
        .await
        .expect("seal");
    let gz = flate2::read::GzDecoder::new(&sealed.bytes[..]);
    let mut archive = tar::Archive::new(gz);
    let mut envelope = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        if entry.path_bytes().as_ref() == b"manifest.dsse.json" {
            entry.read_to_end(&mut envelope).expect("read");
        }
    }
    let envelope: Value = serde_json::from_slice(&envelope).expect("manifest.dsse.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = repo_root().join("tests/schemas/dsse-envelope.schema.json");
    let good = write(
        dir.path(),
        "envelope.json",
        &serde_json::to_vec(&envelope).expect("json"),
    );
    run_python("validate_json.py", &[&schema, &good]);
    let mut extra = envelope.clone();
    extra["extra"] = json!(1);
    let bad = write(
        dir.path(),
        "extra.json",
        &serde_json::to_vec(&extra).expect("json"),
    );
    assert!(
        !python_output("validate_json.py", &[&schema, &bad])
            .status
            .success(),
        "an envelope with an unknown field passed the schema"
    );
}
