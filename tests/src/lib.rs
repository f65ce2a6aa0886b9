//! Helpers shared by the end-to-end tests: fixture paths, the exportctl binary, and the
//! Python and npm validators the test command installs.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Vendored real scanner outputs (byte-identical copies; see `fixtures/real/MANIFEST.tsv`).
pub fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/fixtures/real").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Inputs made by hand for a document shape no real fixture has (each described in
/// `fixtures/handmade/MANIFEST.tsv`); empty when there are none of `kind`.
pub fn handmade(kind: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/fixtures/handmade").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "json"));
    files.sort();
    files
}

/// The `exportctl` binary of this build (the test command builds it first).
pub fn exportctl_bin() -> PathBuf {
    if let Ok(p) = std::env::var("EXPORTCTL_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    let bin = target.join("debug/exportctl");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p exportctl` first (the test command does)",
        bin.display()
    );
    bin
}

/// A `cargo` command in the repository without the variables `cargo test` sets for this
/// test process: a nested build must look like the test command's own, or it rebuilds
/// every dependency.
pub fn cargo() -> std::process::Command {
    let mut cmd = std::process::Command::new("cargo");
    cmd.current_dir(repo_root());
    for (k, _) in std::env::vars() {
        let keep = matches!(k.as_str(), "CARGO_HOME" | "CARGO_TARGET_DIR");
        if !keep && (k == "CARGO" || k.starts_with("CARGO_") || k == "RUST_RECURSION_COUNT") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The virtualenv's Python with the validators (`EC_PYTHON`, set by the test command).
/// Tests that validate outputs fail, never skip, without it.
pub fn python() -> PathBuf {
    let p = std::env::var("EC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} missing: run the README's test command (scripts/test.sh), which creates it",
        p.display()
    );
    p
}

/// Checks `values` against `components.schemas.<name>` of openapi.json (with the Python
/// validator of `tests/python/validate_openapi_schema.py`).
pub fn matches_openapi(name: &str, values: &[&serde_json::Value]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = repo_root();
    let mut cmd = std::process::Command::new(python());
    cmd.arg(root.join("tests/python/validate_openapi_schema.py"))
        .arg(root.join("shared/api/openapi.json"))
        .arg(name)
        .current_dir(&root);
    for (i, v) in values.iter().enumerate() {
        let path = dir.path().join(format!("{name}-{i}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(v).expect("JSON")).expect("write");
        cmd.arg(path);
    }
    let out = cmd.output().expect("run python");
    assert!(
        out.status.success(),
        "{name} does not match openapi.json:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The npm validators' `node_modules` (`EC_NODE_MODULES`, which the test command sets after
/// `npm ci --prefix tests/node`). Tests that validate outputs fail, never skip, without it.
pub fn node_modules() -> PathBuf {
    let dir = std::env::var_os("EC_NODE_MODULES").map(PathBuf::from);
    let dir = dir.unwrap_or_else(|| {
        panic!(
            "EC_NODE_MODULES is not set: run the README's test command (scripts/test.sh), which \
             installs tests/node with `npm ci` and sets it"
        )
    });
    assert!(
        dir.is_dir(),
        "EC_NODE_MODULES={} is not a directory: run `npm ci --prefix tests/node` \
         (scripts/test.sh does)",
        dir.display()
    );
    dir
}

/// `node` (Debian's nodejs; `EC_NODE` overrides the one on `PATH`) with `EC_NODE_MODULES` and
/// `NODE_PATH` set to [`node_modules`], so a CommonJS script can `require` the validators by
/// name. An ES module script imports by path instead:
/// `await import(path.join(process.env.EC_NODE_MODULES, "<package>/<file>.js"))`.
pub fn node() -> std::process::Command {
    let modules = node_modules();
    let node = std::env::var_os("EC_NODE").unwrap_or_else(|| "node".into());
    let mut cmd = std::process::Command::new(node);
    cmd.env("EC_NODE_MODULES", &modules)
        .env("NODE_PATH", &modules)
        .current_dir(repo_root());
    cmd
}

/// Evaluates `require(package)` in [`node`] and returns the string it exports: the way a
/// package that wraps a native tool names its executable (`@microsoft/sarif-multitool`
/// exports the path of the platform's `Sarif.Multitool`). Fails the test unless the path
/// exists.
pub fn node_module_main(package: &str) -> PathBuf {
    let out = node()
        .arg("-p")
        .arg(format!("require({})", serde_json::Value::from(package)))
        .output()
        .unwrap_or_else(|e| panic!("running node (Debian's nodejs): {e}"));
    assert!(
        out.status.success(),
        "node could not require {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        path.exists(),
        "require({package}) named {}, which does not exist",
        path.display()
    );
    path
}

/// The command-line entry point `name` of an installed npm package
/// (`<node_modules>/.bin/<name>`); fails the test unless it exists.
pub fn node_module_bin(name: &str) -> PathBuf {
    let bin = node_modules().join(".bin").join(name);
    assert!(
        bin.exists(),
        "{} missing: is the package that provides `{name}` in tests/node/package.json?",
        bin.display()
    );
    bin
}

/// `exportctl serve` as a child process on an ephemeral port.
/// Runs `tests/python/<script>` with [`python`] on `args` and returns its stdout; fails
/// the test with everything it printed unless it exits 0.
pub fn python_check<I, A>(script: &str, args: I) -> String
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/python").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The text of a PDF as poppler's `pdftotext` extracts it (poppler-utils; the test command
/// installs it).
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).expect("write PDF");
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; scripts/test.sh installs it)");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every real scanner report (Trivy, Grype) and the hand-made Grype ones: the documents the
/// field-by-field tests read.
pub fn scanner_documents() -> Vec<PathBuf> {
    let mut files = fixtures("trivy");
    files.extend(fixtures("grype"));
    files.extend(handmade("grype"));
    files
}

/// The snapshot `exportctl render` would build of one document for a scan report in
/// `format`, at a fixed time.
pub fn offline_snapshot(doc: &Path, format: ec_domain::Format) -> ec_domain::snapshot::Snapshot {
    let req = ec_pipeline::offline::OfflineRequest::new(
        ec_domain::ExportType::ScanReport,
        format,
        time::macros::datetime!(2025-03-04 05:06:07 UTC),
    );
    let bytes = std::fs::read(doc).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
    ec_pipeline::offline::snapshot_from_documents(&[bytes], &req)
        .unwrap_or_else(|e| panic!("{}: {e:?}", doc.display()))
}

/// What the PDF tests share: the snapshot of documents for a template, a render checked to
/// be deterministic, and the command-line tools (qpdf, poppler) they read PDFs with.
pub mod pdf {
    use std::path::{Path, PathBuf};

    use ec_domain::snapshot::Snapshot;
    use ec_domain::{BuiltinTemplate, ExportType, Format, TemplateName};
    use ec_pipeline::offline::{OfflineRequest, snapshot_from_documents};

    /// The snapshot `exportctl render` builds of `documents` for a PDF in `template`.
    pub fn snapshot(documents: &[Vec<u8>], template: BuiltinTemplate) -> Snapshot {
        let mut req = OfflineRequest::new(
            ExportType::ScanReport,
            Format::Pdf,
            time::macros::datetime!(2024-12-29 10:30:00 UTC),
        );
        req.template = Some(TemplateName::Builtin(template));
        snapshot_from_documents(documents, &req).unwrap_or_else(|e| panic!("snapshot: {e:?}"))
    }

    /// Renders twice, checks the bytes are identical and a PDF, and writes `dir/name.pdf`.
    pub fn render(snap: &Snapshot, dir: &Path, name: &str) -> PathBuf {
        let first = ec_render::render(snap).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = ec_render::render(snap).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            first == again,
            "{name}: rendering twice gave different bytes"
        );
        assert!(first.starts_with(b"%PDF-"), "{name}: not a PDF");
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, &first).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Runs `program ARGS FILE` (`pdftotext` writes to stdout) and returns its stdout;
    /// fails the test unless it exits 0.
    pub fn tool(program: &str, args: &[&str], file: &Path) -> String {
        let out = std::process::Command::new(program)
            .args(args)
            .arg(file)
            .args(if program == "pdftotext" {
                &["-"][..]
            } else {
                &[][..]
            })
            .output()
            .unwrap_or_else(|e| panic!("running {program} (install qpdf and poppler-utils): {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} {} failed ({}):\n{}\n{}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The embedded stack in this process, for tests that go through the API.
pub mod embedded {
    use std::path::Path;
    use std::time::Duration;

    use exportctl::client::Client;
    use exportctl::stack::{Stack, StackConfig};

    /// Starts a stack on a loopback port with `secret` as its HS256 secret, and a client of
    /// `tenant` with `scopes`.
    pub async fn start(dir: &Path, secret: &str, tenant: &str, scopes: &str) -> (Stack, Client) {
        let env = [("EXPORTCENTER_JWT_SECRET", secret)];
        let addr = "127.0.0.1:0".parse().expect("loopback");
        let cfg = StackConfig::from_env(&env, addr, dir.join("data")).expect("config");
        let stack = Stack::start(cfg, &env)
            .await
            .expect("start the embedded stack");
        let token =
            ec_api::auth::mint(secret.as_bytes(), "alice", tenant, scopes, 3600).expect("mint");
        let client = Client::new(&stack.base_url, &token, tenant).expect("client");
        (stack, client)
    }

    /// Starts a stack on a loopback port, its data under `dir`, configured by `env` alone.
    pub async fn start_with(dir: &Path, env: &[(&str, &str)]) -> Stack {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let addr = "127.0.0.1:0".parse().expect("loopback");
        let cfg = StackConfig::from_env(&env, addr, dir.join("data")).expect("config");
        Stack::start(cfg, &env)
            .await
            .expect("start the embedded stack")
    }

    /// Tokens of acme for the legal-hold and retention tests: alice (`export:read
    /// export:write scan:write`) and an auditor (`export:read export:admin audit:read`).
    pub fn user_and_auditor(stack: &Stack) -> (String, String) {
        let mint = |who: &str, scopes: &str| stack.mint(who, "acme", scopes, 600).expect("mint");
        (
            mint("alice", "export:read export:write scan:write"),
            mint("auditor", "export:read export:admin audit:read"),
        )
    }

    /// Requests the export, waits for `export.ready` over the WebSocket and downloads the
    /// report.
    pub async fn export_report(client: &Client, request: &serde_json::Value) -> bytes::Bytes {
        let mut events = client.events().await.expect("WebSocket");
        let job = client.create_export(request, None).await.expect("export");
        let id = job.export_id.to_string();
        let finals = events
            .wait_all(std::slice::from_ref(&id), Duration::from_secs(120), |_| {})
            .await
            .expect("readiness");
        assert_eq!(finals[&id]["type"], "export.ready", "{}", finals[&id]);
        client
            .download(&job.export_id, "report")
            .await
            .expect("download")
    }
}

pub mod serve {
    use std::io::{BufRead, BufReader};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};

    use exportctl::client::Client;

    use super::exportctl_bin;

    pub const SECRET: &str = "e2e-test-secret-0123456789";
    pub const TENANT: &str = "acme";

    pub struct Server {
        pub child: Child,
        pub base_url: String,
    }

    impl Server {
        /// Starts `exportctl serve` and waits for its "listening on" line.
        pub fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
            let mut cmd = Command::new(exportctl_bin());
            cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
                .arg(data_dir)
                .env("EXPORTCENTER_JWT_SECRET", SECRET)
                .env("EXPORTCENTER_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            for (k, v) in extra_env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().expect("spawn exportctl serve");
            let stdout = child.stdout.take().expect("stdout");
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("read serve banner");
            let base_url = line
                .trim()
                .rsplit(' ')
                .next()
                .filter(|u| u.starts_with("http://"))
                .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
                .to_string();
            Server { child, base_url }
        }

        pub fn client(&self, scopes: &str) -> Client {
            let token =
                ec_api::auth::mint(SECRET.as_bytes(), "e2e", TENANT, scopes, 600).expect("mint");
            Client::new(&self.base_url, &token, TENANT).expect("client")
        }

        pub fn kill(mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
        }
    }
}

/// Test servers in Python (webhook, SMTP receivers): started on loopback, killed when
/// dropped.
pub mod receivers {
    use std::io::{BufRead, BufReader};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};

    /// A running receiver; killed on drop.
    pub struct Receiver(Child);

    impl Drop for Receiver {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Runs `tests/python/{script}` with `args`; it prints its port on its first line.
    pub fn start(script: &str, args: &[&Path]) -> (Receiver, u16) {
        let mut child = Command::new(super::python())
            .arg(super::repo_root().join("tests/python").join(script))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the receiver");
        let mut first = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut first).expect("its port");
        }
        let receiver = Receiver(child);
        let port = first
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{script} printed no port: {first:?}"));
        (receiver, port)
    }

    /// The JSON lines a receiver logged so far.
    pub fn logged(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

/// The variables `events/local.env` gives the functions locally (comments and blank lines
/// skipped): what the AWS tests start from before naming their own tables and queues.
pub fn local_env() -> std::collections::HashMap<String, String> {
    std::fs::read_to_string(repo_root().join("events/local.env"))
        .expect("events/local.env")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// One API call with a bearer token: the status and the JSON answer (`null` for none).
pub async fn api_call(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Vec<u8>>,
) -> (u16, serde_json::Value) {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req.send().await.expect("the API answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// What [`caller`]'s function answers: (status, JSON body), later.
pub type Answer =
    std::pin::Pin<Box<dyn std::future::Future<Output = (u16, serde_json::Value)> + Send>>;

/// The API as one caller sees it: `caller(http, base, token)` answers a function of (method,
/// path, JSON body) to (status, JSON) whose futures own what they use, so a test can hold
/// several at once.
pub fn caller(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> impl Fn(reqwest::Method, String, Option<serde_json::Value>) -> Answer {
    let (http, base, token) = (http.clone(), base.to_string(), token.to_string());
    move |method, path, body| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        Box::pin(async move {
            let body = body.map(|b| serde_json::to_vec(&b).unwrap_or_default());
            api_call(&http, &base, method, &path, &token, body).await
        })
    }
}

/// Moves a stored, queued `job` through every stage to `sealing` with `steps` (as the
/// workers would), for tests that then finish it their own way.
pub async fn walk_to_sealing(
    steps: &ec_pipeline::jobs::JobSteps,
    mut job: ec_domain::Job,
) -> ec_domain::Job {
    for stage in ec_domain::Stage::ALL {
        job = steps
            .transition(&job, ec_domain::Transition::Enter(*stage))
            .await
            .expect("the next stage");
    }
    job
}

/// The SQS event Lambda hands a function for `records` (messages received from the
/// emulator), for driving the functions' batch handlers in the AWS tests.
pub fn sqs_event(
    records: &[ec_domain::ports::Delivery],
) -> aws_lambda_events::event::sqs::SqsEvent {
    let records = records
        .iter()
        .enumerate()
        .map(|(i, d)| {
            serde_json::from_value(serde_json::json!({
                "messageId": format!("m-{i}-{}", d.receipt.len()), "receiptHandle": d.receipt,
                "body": d.body, "eventSource": "aws:sqs",
                "attributes": {"ApproximateReceiveCount": d.receive_count.to_string()},
                "messageAttributes": {}}))
            .expect("an SQS message")
        })
        .collect();
    let mut e = aws_lambda_events::event::sqs::SqsEvent::default();
    e.records = records;
    e
}

/// Requests the export `body` over HTTP, waits for it to end, and answers its final job and,
/// when ready, its sealed bundle.
pub async fn finished_export(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: &serde_json::Value,
) -> (serde_json::Value, Option<Vec<u8>>) {
    let (s, job) = api_call(
        http,
        base,
        reqwest::Method::POST,
        "/api/v1/exports",
        token,
        Some(body.to_string().into_bytes()),
    )
    .await;
    assert_eq!(s, 202, "{job}");
    let id = job["export_id"].as_str().expect("an export id").to_string();
    let path = format!("/api/v1/exports/{id}");
    for _ in 0..1200 {
        let (_, j) = api_call(http, base, reqwest::Method::GET, &path, token, None).await;
        match j["status"].as_str() {
            Some("ready") => {
                let bundle = http
                    .get(format!("{base}{path}/download?artifact=sealed"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("the download")
                    .bytes()
                    .await
                    .expect("the bundle");
                return (j, Some(bundle.to_vec()));
            }
            Some("failed" | "cancelled") => return (j, None),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("export {id} never finished");
}

/// Ingests the `kind` fixture whose path contains `name` through `POST /api/v1/scans` and
/// returns its receipt (asserting `201`).
pub async fn ingest_fixture(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    kind: &str,
    name: &str,
) -> serde_json::Value {
    let path = fixtures(kind)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(name))
        .unwrap_or_else(|| panic!("fixture {kind}/{name} missing"));
    let doc = std::fs::read(path).expect("the fixture");
    let (status, receipt) = api_call(
        http,
        base,
        reqwest::Method::POST,
        "/api/v1/scans",
        token,
        Some(doc),
    )
    .await;
    assert_eq!(status, 201, "ingesting {kind}/{name}: {receipt}");
    receipt
}
