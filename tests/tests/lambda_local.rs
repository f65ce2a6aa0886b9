//! The documented local flow, so it cannot rot: `cargo lambda watch` with `events/local.env`
//! (pointed at the test emulator) and `cargo lambda invoke export-api --data-file events/...`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use ec_tests::{cargo, repo_root};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the watcher (and the function processes it started) when the test ends.
struct Watch(std::process::Child);

impl Drop for Watch {
    fn drop(&mut self) {
        // The watcher runs in its own process group: end the whole group. The `--` is
        // needed: procps-ng's kill reads `-TERM -18188` as a signal to group -1, that is
        // to every process (it kept only the first digit).
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn invoke(port: u16, event: &str) -> Value {
    let out = cargo()
        .args([
            "lambda",
            "invoke",
            "export-api",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .args(["--data-file", &format!("events/{event}")])
        .output()
        .expect("cargo lambda invoke");
    assert!(
        out.status.success(),
        "invoke {event}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watch_and_invoke_export_api() {
    let endpoint = std::env::var("EC_MOTO_ENDPOINT").expect(
        "EC_MOTO_ENDPOINT is not set: run the README's test command, which starts moto_server",
    );
    let version = cargo().args(["lambda", "--version"]).output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "cargo-lambda missing: the test command installs it into .venv/bin and puts that on PATH"
    );

    // events/local.env, with the emulator's address.
    let env_file = tempfile::NamedTempFile::new().unwrap();
    let local = std::fs::read_to_string(repo_root().join("events/local.env")).unwrap();
    let pointed: String = local
        .lines()
        .map(|l| match l.split_once('=') {
            Some((k, _))
                if k == "AWS_ENDPOINT_URL" || k == "EXPORTCENTER_WS_MANAGEMENT_ENDPOINT" =>
            {
                format!("{k}={endpoint}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(env_file.path(), pointed).unwrap();

    // The jobs table local.env names, for the list call.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    use aws_sdk_dynamodb::types::*;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let created = ddb
        .create_table()
        .table_name("exportcenter-jobs")
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("tenant_id", KeyType::Hash))
        .key_schema(key("export_id", KeyType::Range))
        .attribute_definitions(attr("tenant_id"))
        .attribute_definitions(attr("export_id"))
        .attribute_definitions(attr("created_key"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_created")
                .key_schema(key("tenant_id", KeyType::Hash))
                .key_schema(key("created_key", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await;
    if let Err(e) = created {
        let already = format!("{e:?}").contains("ResourceInUse");
        assert!(already, "create table: {e:?}");
    }

    let port = free_port();
    let mut cmd = cargo();
    cmd.args([
        "lambda",
        "watch",
        "--invoke-address",
        "127.0.0.1",
        "--invoke-port",
    ])
    .arg(port.to_string())
    .arg("--env-file")
    .arg(env_file.path())
    // No stdin: the watcher must not read from, or reconfigure, the test's terminal.
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut watch = Watch(cmd.spawn().expect("cargo lambda watch"));
    // cargo-lambda logs to stdout.
    let stderr = watch.0.stdout.take().unwrap();
    let started = Instant::now();
    let mut lines = BufReader::new(stderr).lines();
    loop {
        let line = lines.next().expect("cargo lambda watch ended").unwrap();
        if line.contains("starting Runtime server") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "watch did not start"
        );
    }
    // Keep draining the watcher's output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    let health = tokio::task::spawn_blocking(move || invoke(port, "api-healthz.json"))
        .await
        .unwrap();
    assert_eq!(health["statusCode"], 200, "{health}");
    let body: Value = serde_json::from_str(health["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["status"], "ok");

    let list = tokio::task::spawn_blocking(move || invoke(port, "api-list-exports.json"))
        .await
        .unwrap();
    assert_eq!(list["statusCode"], 200, "{list}");
    let body: Value = serde_json::from_str(list["body"].as_str().unwrap()).unwrap();
    assert!(body["items"].is_array(), "{body}");
    drop(watch);
}
