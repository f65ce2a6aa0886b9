//! The embedded runtime (the mirror of `ec_lambda`): the same API router and stages as on
//! AWS, over the ports [`ec_embedded::Embedded`] wires, served by one process with its
//! worker loops and scheduler. `exportctl serve` and `exportctl demo` both run it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::task::JoinHandle;

use ec_api::auth::AuthConfig;
use ec_api::{ApiState, Auth, CorsOrigins, HttpError, Limits, TraceId};
use ec_domain::ports::QueueConsumer;
use ec_domain::{ApiError, ErrorCode, messages::QueueName};
use ec_embedded::{Embedded, EmbeddedConfig, FsObjectStore, SqliteQueue};
use ec_pipeline::Pipeline;
use ec_pipeline::Settings;
use ec_pipeline::scheduler::run_scheduler;
use ec_pipeline::settings::{Env, parse_var};
use ec_pipeline::sweeper::run_sweeper;
use ec_pipeline::worker::{WorkerConfig, run_worker};

use crate::ws::{self, WsState};

/// File names inside the data directory.
pub const JWT_SECRET_FILE: &str = "jwt.secret";

/// Default of `EXPORTCENTER_SCHEDULER_TICK_SECS`.
pub const DEFAULT_SCHEDULER_TICK_SECS: u64 = 15;
/// Default of `EXPORTCENTER_SWEEP_INTERVAL_SECS`: retention ends are honoured within five
/// minutes.
pub const DEFAULT_SWEEP_INTERVAL_SECS: u64 = 300;

/// Why the embedded stack could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ec_pipeline::settings::ConfigError),
    #[error(transparent)]
    Wiring(#[from] ec_embedded::WiringError),
    #[error(transparent)]
    DataDir(#[from] ec_embedded::DataDirError),
    #[error("{0}")]
    Port(#[from] ec_domain::PortError),
    #[error("{0}")]
    Api(String),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Everything `serve` needs, from flags and the environment (read once).
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// `EXPORTCENTER_JWT_SECRET`; else the data dir's generated secret.
    pub jwt_secret: Option<Vec<u8>>,
    /// How tokens are verified: an identity provider's keys, or (the default) the secret.
    pub auth: AuthConfig,
    /// `EXPORTCENTER_PUBLIC_URL`: base of presigned links; default `http://{bound address}`.
    pub public_url: Option<String>,
    /// `EXPORTCENTER_WORKERS`: pull loops per queue.
    pub workers: usize,
    pub worker: WorkerConfig,
    /// `EXPORTCENTER_SCHEDULER_TICK_SECS`: how often the scheduler looks for due schedules.
    pub scheduler_tick: std::time::Duration,
    /// `EXPORTCENTER_SWEEP_INTERVAL_SECS`: how often the retention sweeper deletes the
    /// artifacts of exports whose retention ended.
    pub sweep_interval: std::time::Duration,
    pub limits: Limits,
    /// `EXPORTCENTER_CORS_ORIGINS`: other origins whose pages may call the API.
    pub cors: CorsOrigins,
    /// The Console's sign-in through the identity provider (`EXPORTCENTER_OIDC_ISSUER`
    /// with `EXPORTCENTER_CONSOLE_OIDC_CLIENT_ID`, `EXPORTCENTER_CONSOLE_OIDC_SCOPE`).
    pub console_oidc: Option<ec_console::Oidc>,
    pub settings: Settings,
}

impl StackConfig {
    pub fn from_env(
        env: &dyn Env,
        addr: SocketAddr,
        data_dir: PathBuf,
    ) -> Result<StackConfig, StartError> {
        let settings = Settings::from_env(env)?;
        let d = WorkerConfig::default();
        Ok(StackConfig {
            addr,
            data_dir,
            jwt_secret: env.var("EXPORTCENTER_JWT_SECRET").map(String::into_bytes),
            auth: AuthConfig::from_env(env)?,
            public_url: env.var("EXPORTCENTER_PUBLIC_URL"),
            workers: parse_var(env, "EXPORTCENTER_WORKERS", 2usize)?.max(1),
            scheduler_tick: std::time::Duration::from_secs(
                parse_var(
                    env,
                    "EXPORTCENTER_SCHEDULER_TICK_SECS",
                    DEFAULT_SCHEDULER_TICK_SECS,
                )?
                .max(1),
            ),
            sweep_interval: std::time::Duration::from_secs(
                parse_var(
                    env,
                    "EXPORTCENTER_SWEEP_INTERVAL_SECS",
                    DEFAULT_SWEEP_INTERVAL_SECS,
                )?
                .max(1),
            ),
            worker: WorkerConfig {
                visibility: std::time::Duration::from_secs(parse_var(
                    env,
                    "EXPORTCENTER_VISIBILITY_TIMEOUT_SECS",
                    d.visibility.as_secs(),
                )?),
                idle_wait: d.idle_wait,
                retry_base: std::time::Duration::from_millis(parse_var(
                    env,
                    "EXPORTCENTER_RETRY_BASE_MS",
                    d.retry_base.as_millis() as u64,
                )?),
            },
            limits: Limits::from_env(env)?,
            cors: CorsOrigins::from_env(env)?,
            console_oidc: console_oidc(env)?,
            settings,
        })
    }
}

/// The Console's identity provider: the API's issuer and the Console's client id.
fn console_oidc(env: &dyn Env) -> Result<Option<ec_console::Oidc>, StartError> {
    let Some(client_id) = env.var("EXPORTCENTER_CONSOLE_OIDC_CLIENT_ID") else {
        return Ok(None);
    };
    let issuer = env.var("EXPORTCENTER_OIDC_ISSUER").ok_or_else(|| {
        StartError::from(ec_pipeline::settings::ConfigError {
            var: "EXPORTCENTER_CONSOLE_OIDC_CLIENT_ID",
            reason: "needs EXPORTCENTER_OIDC_ISSUER (the provider the Console signs in through)"
                .into(),
        })
    })?;
    Ok(Some(ec_console::Oidc {
        issuer: issuer.trim_end_matches('/').to_string(),
        client_id,
        scope: env
            .var("EXPORTCENTER_CONSOLE_OIDC_SCOPE")
            .unwrap_or_else(|| "openid".into()),
    }))
}

/// A running embedded stack.
pub struct Stack {
    pub addr: SocketAddr,
    pub base_url: String,
    /// The shared HS256 secret; `None` when tokens come from an identity provider.
    pub jwt_secret: Option<Vec<u8>>,
    pub pipeline: Pipeline,
    pub queue: Arc<SqliteQueue>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    /// Holds the data directory (its lock) while the stack runs.
    _embedded: Embedded,
}

#[derive(Clone)]
struct ObjectsState {
    store: Arc<FsObjectStore>,
}

#[derive(Deserialize)]
struct Presigned {
    expires: Option<i64>,
    sig: Option<String>,
}

/// `GET /objects/{key}`: serves an object to whoever holds a valid presigned link.
async fn serve_object(
    State(st): State<ObjectsState>,
    axum::Extension(trace): axum::Extension<TraceId>,
    Path(key): Path<String>,
    Query(q): Query<Presigned>,
) -> Response {
    let fail = |code: ErrorCode, msg: &str| {
        HttpError {
            error: ApiError::new(code, msg),
            trace_id: trace.0.clone(),
        }
        .into_response()
    };
    let (Some(expires), Some(sig)) = (q.expires, q.sig) else {
        return fail(
            ErrorCode::Forbidden,
            "a presigned link needs expires and sig",
        );
    };
    if let Err(e) = st.store.check_presigned(&key, expires, &sig) {
        return fail(
            ErrorCode::Forbidden,
            &format!("presigned link refused: {e}"),
        );
    }
    match st.store.get_with_meta(&key).await {
        Ok((meta, bytes)) => {
            let file = key.rsplit('/').next().unwrap_or("download");
            let mut resp = (StatusCode::OK, bytes).into_response();
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&meta.media_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(_) => fail(ErrorCode::NotFound, "object not found"),
    }
}

impl Stack {
    /// Mints a development token with the stack's shared secret (the demo, the bench, tests).
    pub fn mint(
        &self,
        subject: &str,
        tenant: &str,
        scopes: &str,
        ttl_secs: i64,
    ) -> Result<String, StartError> {
        let secret = self.jwt_secret.as_deref().ok_or_else(|| {
            StartError::Api(
                "this stack verifies tokens from an identity provider: get one there".into(),
            )
        })?;
        ec_api::auth::mint(secret, subject, tenant, scopes, ttl_secs)
            .map_err(|e| StartError::Api(format!("minting a token: {e}")))
    }

    pub async fn start(cfg: StackConfig, env: &dyn Env) -> Result<Stack, StartError> {
        let embedded = Embedded::open(
            &cfg.data_dir,
            env,
            &EmbeddedConfig {
                policy: cfg.settings.policy.clone(),
                max_attempts: cfg.settings.max_attempts,
            },
        )
        .await?;
        let jwt_secret = match (cfg.auth.uses_shared_secret(), cfg.jwt_secret.clone()) {
            (false, _) => None,
            (true, Some(s)) => Some(s),
            (true, None) => Some(embedded.data_dir.load_or_create_secret(JWT_SECRET_FILE)?),
        };
        embedded.take_over().await?;
        let listener = tokio::net::TcpListener::bind(cfg.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: cfg.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.addr,
            source,
        })?;
        let base_url = cfg
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        // Deliveries link to the API's routes at this address.
        let mut settings = cfg.settings.clone();
        settings.public_url = Some(base_url.clone());
        let pipeline = Pipeline::new(embedded.ports.clone(), settings);
        // A job whose message a previous process never sent would stay queued forever; a
        // duplicate message for the others is harmless (every stage is idempotent).
        let queued = embedded.jobs.queued().await?;
        for job in &queued {
            pipeline
                .app
                .exports
                .send_gather(job)
                .await
                .map_err(|e| StartError::Api(e.message.clone()))?;
        }
        if !queued.is_empty() {
            tracing::info!(jobs = queued.len(), "re-sent the messages of queued jobs");
        }
        let auth = Arc::new(Auth::new(cfg.auth.clone(), jwt_secret.as_deref())?);

        embedded.objects.set_base_url(&base_url);

        let api = ec_api::routes(ApiState {
            app: pipeline.app.clone(),
            auth: auth.clone(),
            limits: cfg.limits.clone(),
            cors: cfg.cors.clone(),
        });
        let ws_routes = Router::new()
            .route("/ws", get(ws::handler))
            .with_state(WsState {
                hub: embedded.hub.clone(),
                registry: embedded.connections.clone(),
                auth,
                audit: pipeline.app.audit.clone(),
                ttl: cfg.settings.connection_ttl,
            });
        let object_routes = Router::new()
            .route("/objects/{*key}", get(serve_object))
            .with_state(ObjectsState {
                store: embedded.objects.clone(),
            });
        let app = ec_api::finish(
            api.merge(ws_routes)
                .merge(object_routes)
                .merge(crate::console::routes(cfg.console_oidc.as_ref())),
        );

        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // The peer's address reaches the audit trail (`source_ip`).
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });

        let mut tasks = Vec::new();
        for &q in QueueName::ALL {
            for _ in 0..cfg.workers {
                let consumer: Arc<dyn QueueConsumer> = embedded.queue.clone();
                tasks.push(tokio::spawn(run_worker(
                    pipeline.stages.clone(),
                    consumer,
                    q,
                    cfg.worker.clone(),
                )));
            }
        }
        // The first pass runs now: the catch-up of whatever was missed while stopped.
        tasks.push(tokio::spawn(run_scheduler(
            pipeline.scheduler.clone(),
            cfg.scheduler_tick,
        )));
        // Likewise the first sweep: whatever expired while the stack was stopped.
        tasks.push(tokio::spawn(run_sweeper(
            pipeline.sweeper.clone(),
            cfg.sweep_interval,
        )));
        tracing::info!(%addr, data_dir = %cfg.data_dir.display(), "embedded stack listening");
        Ok(Stack {
            addr,
            base_url,
            jwt_secret,
            pipeline,
            queue: embedded.queue.clone(),
            tasks,
            shutdown: Some(tx),
            server: Some(server),
            _embedded: embedded,
        })
    }

    /// Stops accepting requests, then stops the workers. Messages in flight are redelivered
    /// on the next start.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}
