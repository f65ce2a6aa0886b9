//! exportctl: serve, demo, render, token, verify, audit, bench.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use ec_pipeline::settings::ProcessEnv;
use exportctl::stack::{JWT_SECRET_FILE, Stack, StackConfig};

#[derive(Parser)]
#[command(
    name = "exportctl",
    version,
    about = "ExportCenter: security exports on one machine or on AWS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded stack: API, WebSocket, workers, sealing and presigned downloads.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, env = "EXPORTCENTER_DATA_DIR", default_value = ".exportcenter")]
        data_dir: PathBuf,
    },
    /// Ingest bundled real scans, export every format, verify the sealed bundles.
    Demo {
        /// Where the reports and bundles are written.
        #[arg(long, default_value = "exportcenter-demo")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Render scanner documents offline into one report (the render stage, no server).
    /// Timestamps come from SOURCE_DATE_EPOCH when set, so two runs give identical bytes.
    Render {
        /// Scanner reports, SBOMs and VEX documents (Trivy, Grype, CycloneDX, SPDX, OpenVEX, CSAF).
        #[arg(long = "input", required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// pdf, xlsx, json, sarif, cyclonedx, spdx, csv, openvex or csaf.
        #[arg(long)]
        format: String,
        /// scan_report, sbom, vex or audit_bundle.
        #[arg(long = "type", default_value = "scan_report")]
        export_type: String,
        /// Built-in template (default: the format's usual one).
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        output: PathBuf,
        /// The tenant the report names (default `local`).
        #[arg(long)]
        tenant: Option<ec_domain::TenantId>,
        /// The report's title.
        #[arg(long)]
        title: Option<String>,
        /// Who the report says requested it (default the tenant).
        #[arg(long = "requested-by")]
        requested_by: Option<String>,
        /// options.filters as JSON, as the API takes it (`{"min_severity":"high"}`).
        #[arg(long)]
        filters: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a JWT that `serve` on the same data dir (or JWT secret) accepts, signed with
    /// `EXPORTCENTER_JWT_SECRET` or the data dir's `jwt.secret` (stderr says which).
    Token {
        /// The tenant the token speaks for: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
        #[arg(long)]
        tenant: ec_domain::TenantId,
        /// Space-separated scopes the token grants, of: export:read export:write
        /// export:admin scan:write template:write destination:write audit:read audit:system.
        #[arg(long, default_value = "export:read export:write scan:write")]
        scopes: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
        /// The token's subject (`sub`), recorded as the requester of its exports.
        #[arg(long, default_value = "exportctl")]
        subject: String,
        /// The data dir of the `serve` that is to accept the token.
        #[arg(long, env = "EXPORTCENTER_DATA_DIR", default_value = ".exportcenter")]
        data_dir: PathBuf,
        /// Create the data dir's secret when it has none (otherwise that is an error: a
        /// token signed with a new secret is one no running server accepts).
        #[arg(long)]
        create_secret: bool,
    },
    /// Print benchmark figures and their ratio to the targets (build with --release;
    /// scripts/bench.sh installs the tools compared with and runs all of it).
    Bench {
        /// `pipeline` (request → sealed over the WebSocket), `formats` (render speed and
        /// memory against Chromium and XlsxWriter), `whole` (whole processes at 100,000
        /// findings against Python's json.load), `stages` (each worker stage's time and
        /// peak at 1k, 10k and 100k findings), or `all`.
        #[arg(long, default_value = "all")]
        suite: String,
        /// Findings in the generated scan of the pipeline suite.
        #[arg(long, default_value_t = 1000)]
        findings: usize,
        /// Exports per format in the pipeline suite.
        #[arg(long, default_value_t = 50)]
        exports: usize,
        /// Python with XlsxWriter, for the XLSX comparison.
        #[arg(long, env = "EXPORTCENTER_BENCH_PYTHON")]
        python: Option<PathBuf>,
        /// Chromium, for the PDF comparison (default /usr/bin/chromium when present).
        #[arg(long, env = "EXPORTCENTER_BENCH_CHROMIUM")]
        chromium: Option<PathBuf>,
        /// Where generated inputs and outputs go.
        #[arg(long, default_value = "target/bench")]
        work: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// (for `bench`) Render one generated input and print the render's own time and memory.
    #[command(name = "__bench-render", hide = true)]
    BenchRender {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        format: String,
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        output: PathBuf,
    },
    /// (for `bench`) One worker stage's work on prepared files, measured from outside.
    #[command(name = "__bench-stage", hide = true)]
    BenchStage {
        #[arg(long)]
        stage: String,
        #[arg(long)]
        findings: usize,
        #[arg(long)]
        work: PathBuf,
    },
    /// Write a generated Trivy report (real findings repeated under distinct ids).
    GenScan {
        #[arg(long)]
        findings: usize,
        #[arg(long)]
        output: PathBuf,
    },
    /// Export or verify the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Verify a sealed bundle offline; exits non-zero with the reason on any mismatch.
    /// Without trusted keys the bundle is checked against the key it carries
    /// ("self-asserted").
    Verify {
        bundle: PathBuf,
        /// Also require the bundle to be signed by this public key (PEM).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Keys to trust: the service's key set (`GET /api/v1/keys`, or `keys.json` beside
        /// the bundles) or PEM public keys; repeatable. The bundle's key must be among them
        /// and valid when the bundle was sealed.
        #[arg(long = "trusted-keys")]
        trusted_keys: Vec<PathBuf>,
        /// The TSA's CA certificate (PEM; repeatable): the bundle's timestamp must be
        /// issued under it, and its time is then the sealing time.
        #[arg(long = "tsa-ca")]
        tsa_ca: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write the Console as a static site (for an S3 bucket behind CloudFront in front of
    /// the AWS stack): its files, config.json naming the endpoints, and the CSP as a meta
    /// element. `exportctl serve` serves the same Console at / by itself.
    Console {
        /// Directory to write (its root is the site's root).
        #[arg(long)]
        out: PathBuf,
        /// The HTTP API's URL (the stack's ApiUrl output).
        #[arg(long)]
        api_url: String,
        /// The WebSocket URL (the stack's WebSocketUrl output, `wss://…/live`).
        #[arg(long)]
        ws_url: String,
        /// Sign in through this OpenID Connect issuer (authorization code with PKCE)...
        #[arg(long, requires = "oidc_client_id")]
        oidc_issuer: Option<String>,
        /// ...as this public client.
        #[arg(long, requires = "oidc_issuer")]
        oidc_client_id: Option<String>,
        /// Scopes the Console asks the provider for.
        #[arg(long, default_value = "openid")]
        oidc_scope: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check a chain exported as JSON lines: one chain, consecutive seq, every prev_sha256
    /// the hash of the entry before. Exits non-zero naming the first broken entry.
    Verify {
        /// JSON lines of entries (what `audit export` writes), or one `GET /api/v1/audit` page.
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write a tenant's whole audit chain from a running server as JSON lines.
    Export {
        /// The server's base URL, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// A token with the audit:read scope (or set EXPORTCENTER_TOKEN).
        #[arg(long, env = "EXPORTCENTER_TOKEN", hide_env_values = true)]
        token: String,
        /// The tenant whose chain to export.
        #[arg(long)]
        tenant: String,
        /// The operators' _system chain instead (needs the audit:system scope).
        #[arg(long)]
        system: bool,
        /// Where to write the JSON lines (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EXPORTCENTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if std::env::var("EXPORTCENTER_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The secret `exportctl token` signs with, saying on stderr where it came from:
/// `EXPORTCENTER_JWT_SECRET`, else the data dir's file, else (only with `--create-secret`) a
/// new file.
fn token_secret(data_dir: &Path, create: bool) -> anyhow::Result<Vec<u8>> {
    if let Ok(s) = std::env::var("EXPORTCENTER_JWT_SECRET")
        && !s.is_empty()
    {
        eprintln!("token signed with EXPORTCENTER_JWT_SECRET");
        return Ok(s.into_bytes());
    }
    let file = data_dir.join(JWT_SECRET_FILE);
    if file.exists() {
        // `serve` may hold the data dir's lock: read the file without taking it.
        let hex_text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let secret = hex::decode(hex_text.trim())
            .with_context(|| format!("{} is not hex", file.display()))?;
        eprintln!("token signed with the secret in {}", file.display());
        return Ok(secret);
    }
    if !create {
        anyhow::bail!(
            "{} does not exist: start `exportctl serve --data-dir {}` first, point --data-dir \
             at the server's data dir, or pass --create-secret to make a new one",
            file.display(),
            data_dir.display()
        );
    }
    let secret = ec_embedded::DataDir::open(data_dir)?.load_or_create_secret(JWT_SECRET_FILE)?;
    eprintln!(
        "created a new secret in {}; token signed with it",
        file.display()
    );
    Ok(secret)
}

fn main() -> anyhow::Result<()> {
    // A custom template renders in a child of this very binary (ec_adapters::sandbox).
    ec_adapters::sandbox::serve_if_requested();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(Cli::parse()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { addr, data_dir } => {
            init_logging("info");
            let cfg = StackConfig::from_env(&ProcessEnv, addr, data_dir)?;
            let stack = Stack::start(cfg, &ProcessEnv).await?;
            println!("exportctl serve listening on {}", stack.base_url);
            tokio::signal::ctrl_c().await?;
            tracing::info!("shutting down");
            stack.shutdown().await;
        }
        Command::Demo { out, json } => {
            init_logging("warn");
            let rows = exportctl::demo::run(out).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                exportctl::demo::print_table(&rows);
            }
        }
        Command::Console {
            out,
            api_url,
            ws_url,
            oidc_issuer,
            oidc_client_id,
            oidc_scope,
        } => {
            let oidc = match (oidc_issuer, oidc_client_id) {
                (Some(issuer), Some(client_id)) => Some(ec_console::Oidc {
                    issuer: issuer.trim_end_matches('/').to_string(),
                    client_id,
                    scope: oidc_scope,
                }),
                _ => None,
            };
            let cfg = ec_console::site::SiteConfig {
                api_url,
                ws_url,
                oidc,
            };
            let written = ec_console::site::write_site(&out, &cfg).map_err(anyhow::Error::msg)?;
            println!("wrote {} files to {}", written.len(), out.display());
        }
        Command::Render {
            inputs,
            format,
            export_type,
            template,
            output,
            tenant,
            title,
            requested_by,
            filters,
            json,
        } => {
            init_logging("warn");
            let summary = exportctl::render::run(&exportctl::render::Args {
                inputs,
                format,
                export_type,
                template,
                output,
                tenant,
                title,
                requested_by,
                filters,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "{}: {} bytes, sha256 {}",
                    summary.output, summary.bytes, summary.sha256
                );
            }
        }
        Command::Token {
            tenant,
            scopes,
            ttl,
            subject,
            data_dir,
            create_secret,
        } => {
            let unknown: Vec<&str> = scopes
                .split_whitespace()
                .filter(|s| !ec_api::auth::KNOWN_SCOPES.contains(s))
                .collect();
            if !unknown.is_empty() {
                anyhow::bail!(
                    "unknown scope(s) {}: the scopes are {}",
                    unknown.join(", "),
                    ec_api::auth::KNOWN_SCOPES.join(" ")
                );
            }
            let secret = token_secret(&data_dir, create_secret)?;
            println!(
                "{}",
                ec_api::auth::mint(&secret, &subject, tenant.as_str(), &scopes, ttl)?
            );
        }
        Command::Bench {
            suite,
            findings,
            exports,
            python,
            chromium,
            work,
            json,
        } => {
            init_logging("warn");
            let (pipeline, formats, whole, stages) = match suite.as_str() {
                "pipeline" => (true, false, false, false),
                "formats" => (false, true, false, false),
                "whole" => (false, false, true, false),
                "stages" => (false, false, false, true),
                "all" => (true, true, true, true),
                other => anyhow::bail!(
                    "unknown suite {other:?}: pipeline, formats, whole, stages or all"
                ),
            };
            let mut report = serde_json::Map::new();
            if pipeline {
                let rows =
                    exportctl::bench::pipeline_latency(findings, exports, &["json", "csv"]).await?;
                if !json {
                    exportctl::bench::print_latency(&rows);
                    println!();
                }
                report.insert("pipeline".into(), serde_json::to_value(&rows)?);
            }
            if formats {
                let chromium = chromium.or_else(|| {
                    let p = PathBuf::from("/usr/bin/chromium");
                    p.exists().then_some(p)
                });
                let tools = exportctl::bench_formats::Tools {
                    exportctl: std::env::current_exe()?,
                    python: python.clone(),
                    chromium,
                    work: work.clone(),
                };
                let rows =
                    tokio::task::spawn_blocking(move || exportctl::bench_formats::run(&tools))
                        .await??;
                if !json {
                    exportctl::bench_formats::print(&rows);
                }
                report.insert("formats".into(), serde_json::to_value(&rows)?);
            }
            if whole {
                let tools = exportctl::bench_whole::Tools {
                    exportctl: std::env::current_exe()?,
                    python: python.clone().unwrap_or_else(|| PathBuf::from("python3")),
                    work: work.clone(),
                    runs: 3,
                };
                let rows = tokio::task::spawn_blocking(move || exportctl::bench_whole::run(&tools))
                    .await??;
                if !json {
                    println!();
                    exportctl::bench_whole::print(&rows);
                }
                report.insert("whole".into(), serde_json::to_value(&rows)?);
            }
            if stages {
                let exe = std::env::current_exe()?;
                let dir = work.clone();
                let rows = tokio::task::spawn_blocking(move || {
                    exportctl::bench_stages::run(&exe, &dir, 3)
                })
                .await??;
                if !json {
                    println!();
                    exportctl::bench_stages::print(&rows);
                }
                report.insert("stages".into(), serde_json::to_value(&rows)?);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
        }
        Command::BenchRender {
            input,
            format,
            template,
            output,
        } => {
            let format = ec_domain::Format::parse(&format)
                .with_context(|| format!("unknown format {format:?}"))?;
            let template = template
                .map(|t| {
                    ec_domain::TemplateName::parse(&t)
                        .with_context(|| format!("unknown template {t:?}"))
                })
                .transpose()?;
            let run = exportctl::bench_formats::render_once(&input, format, template, &output)?;
            println!("{}", serde_json::to_string(&run)?);
        }
        Command::BenchStage {
            stage,
            findings,
            work,
        } => {
            exportctl::bench_stages::stage(&stage, findings, &work).await?;
        }
        Command::GenScan { findings, output } => {
            std::fs::write(&output, exportctl::bench::generate_trivy(findings)?)?;
        }
        Command::Audit(AuditCommand::Verify { file, json }) => {
            match exportctl::audit::verify_file(&file)? {
                Ok(r) if json => println!(
                    "{}",
                    serde_json::json!({"ok": true, "chain": r.chain, "entries": r.entries,
                        "first_seq": r.first_seq, "last_seq": r.last_seq, "head_sha256": r.head_sha256})
                ),
                Ok(r) => println!(
                    "OK: chain {}: {} entries, seq {} to {}, head sha256 {}",
                    r.chain, r.entries, r.first_seq, r.last_seq, r.head_sha256
                ),
                Err(b) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"ok": false, "index": b.index, "seq": b.seq, "reason": b.why})
                        );
                    } else {
                        eprintln!("FAILED: {b}");
                    }
                    std::process::exit(1);
                }
            }
        }
        Command::Audit(AuditCommand::Export {
            url,
            token,
            tenant,
            system,
            output,
        }) => {
            let client = exportctl::client::Client::new(&url, &token, &tenant)?;
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            let n = exportctl::audit::export(&client, system, &mut out).await?;
            out.flush()?;
            eprintln!("{n} audit entries");
        }
        Command::Verify {
            bundle,
            key,
            trusted_keys,
            tsa_ca,
            json,
        } => exportctl::verify::run(&bundle, key.as_deref(), &trusted_keys, &tsa_ca, json)?,
    }
    Ok(())
}
