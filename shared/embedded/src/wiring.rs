//! The embedded stack's builder: opens a data directory and wires every port to the
//! filesystem, SQLite and the in-process WebSocket [`Hub`], once, for `exportctl serve`,
//! `exportctl demo` and every test that runs the pipeline on real adapters. The AWS mirror
//! is `ec_aws::wiring`.

use std::path::Path;
use std::sync::Arc;

use ec_adapters::renderer::LocalRenderer;
use ec_adapters::sources::Sources;
use ec_domain::env::{ConfigError, Env};
use ec_domain::policy::PolicyConfig;
use ec_domain::ports::{ConnectionPush, Ports};

use crate::{
    DataDir, DataDirError, Db, DbError, FsObjectStore, Hub, NoopTrigger, SqliteAuditLog,
    SqliteConnections, SqliteDestinationSecrets, SqliteDestinations, SqliteIdempotency,
    SqliteJobTable, SqliteQueue, SqliteQuotas, SqliteScanCatalog, SqliteSchedules,
};

/// File names inside the data directory.
const PRESIGN_SECRET_FILE: &str = "presign.secret";
const SIGNING_KEY_FILE: &str = "signing-key.pem";
/// The AES-256 key destination secrets are sealed with (32 random bytes, mode 0600).
const DESTINATIONS_KEY_FILE: &str = "destinations.key";

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Port(#[from] ec_domain::PortError),
    #[error("loading the signing key: {0}")]
    Key(String),
}

/// What the embedded builder reads besides the environment.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The built-in policy of the local verdict source.
    pub policy: PolicyConfig,
    /// Receives after which the queue dead-letters a message.
    pub max_attempts: u32,
}

/// The embedded adapters of one data directory, and the [`Ports`] made of them. The
/// concrete adapters stay reachable for what only the embedded runtime does (recovering
/// in-flight messages, serving presigned links, the WebSocket hub).
pub struct Embedded {
    pub data_dir: DataDir,
    pub db: Db,
    pub queue: Arc<SqliteQueue>,
    pub objects: Arc<FsObjectStore>,
    pub jobs: Arc<SqliteJobTable>,
    pub connections: Arc<SqliteConnections>,
    pub hub: Arc<Hub>,
    pub ports: Ports,
}

impl Embedded {
    /// Opens (and locks) `dir` and wires every port; data sources and the renderer's limits
    /// come from `env` (see the README).
    pub async fn open(
        dir: &Path,
        env: &dyn Env,
        cfg: &EmbeddedConfig,
    ) -> Result<Embedded, WiringError> {
        let data_dir = DataDir::open(dir)?;
        let presign_secret = data_dir.load_or_create_secret(PRESIGN_SECRET_FILE)?;
        let destinations_key = data_dir.load_or_create_secret(DESTINATIONS_KEY_FILE)?;
        let signer =
            ec_seal::Ed25519Signer::load_or_create(&data_dir.path().join(SIGNING_KEY_FILE))
                .map_err(|e| WiringError::Key(e.to_string()))?;
        let db = Db::open(data_dir.db())?;
        let queue = Arc::new(SqliteQueue::with_max_receives(db.clone(), cfg.max_attempts));
        let objects = Arc::new(FsObjectStore::new(
            data_dir.objects(),
            queue.clone(),
            presign_secret,
        )?);
        let catalog = Arc::new(SqliteScanCatalog::new(db.clone()));
        let connections = Arc::new(SqliteConnections::new(db.clone()));
        let hub = Arc::new(Hub::default());
        let sources = Sources::from_env(env, &cfg.policy, objects.clone(), catalog.clone())?;
        let jobs = Arc::new(SqliteJobTable::new(db.clone()));
        let ports = Ports {
            jobs: jobs.clone(),
            idempotency: Arc::new(SqliteIdempotency::new(db.clone())),
            queue: queue.clone(),
            objects: objects.clone(),
            catalog,
            scans: sources.scans,
            verdicts: sources.verdicts,
            vex: sources.vex,
            sboms: sources.sboms,
            connections: connections.clone(),
            push: hub.clone() as Arc<dyn ConnectionPush>,
            signing: signing_keys(signer, env)?,
            renderer: Arc::new(LocalRenderer::from_env(env)?),
            schedules: Arc::new(SqliteSchedules::new(db.clone())),
            trigger: Arc::new(NoopTrigger),
            audit: Arc::new(SqliteAuditLog::new(db.clone())),
            quotas: Arc::new(SqliteQuotas::new(db.clone())),
            destinations: Arc::new(SqliteDestinations::new(db.clone())),
            destination_secrets: Arc::new(SqliteDestinationSecrets::new(
                db.clone(),
                &destinations_key,
            )?),
            resolver: Arc::new(ec_adapters::resolver::SystemResolver),
            http: Arc::new(ec_adapters::http_sender::ReqwestSender::default()),
            mailer: Arc::new(ec_adapters::mailer::SmtpMailer::from_env(env)?),
            // The one AWS adapter here: an `s3` destination is someone's real bucket.
            buckets: Arc::new(ec_aws::S3BucketWriter::from_env(env)),
            timestamper: ec_adapters::tsa::HttpTimestamper::from_env(env)?
                .map(|t| Arc::new(t) as Arc<dyn ec_domain::ports::Timestamper>),
        };
        Ok(Embedded {
            data_dir,
            db,
            queue,
            objects,
            jobs,
            connections,
            hub,
            ports,
        })
    }

    /// This process owns the data dir now: whatever a previous process had in flight is
    /// orphaned (its messages are re-queued, its half-written files swept) and none of its
    /// WebSocket connections exist any more.
    pub async fn take_over(&self) -> Result<(), WiringError> {
        let released = self.queue.release_in_flight().await?;
        if released > 0 {
            tracing::info!(
                released,
                "re-queued messages left in flight by a previous run"
            );
        }
        self.objects.sweep_temp_files().await?;
        self.connections.clear().await?;
        Ok(())
    }
}

/// The sealing keys: `EXPORTCENTER_SIGNING_KEY_PEM` (ed25519 or P-256; how a rotation's
/// new key takes over) or else the data dir's key, and the rotation the environment
/// configures (see `ec_seal::key_set`): a next key from `EXPORTCENTER_SIGNING_NEXT_KEY_PEM`,
/// retired keys.
fn signing_keys(
    data_dir_key: ec_seal::Ed25519Signer,
    env: &dyn Env,
) -> Result<ec_domain::signing_keys::SigningKeys, WiringError> {
    let current: Arc<dyn ec_domain::ports::Signer> = match env
        .var("EXPORTCENTER_SIGNING_KEY_PEM")
        .filter(|v| !v.trim().is_empty())
    {
        Some(pem) => ec_seal::signer_from_pem(&pem)
            .map_err(|e| WiringError::Key(format!("EXPORTCENTER_SIGNING_KEY_PEM: {e}")))?,
        None => Arc::new(data_dir_key),
    };
    let rotation = ec_seal::key_set::Rotation::from_env(env).map_err(WiringError::Key)?;
    let next = match &rotation.next_pem {
        Some(pem) => {
            Some(ec_seal::signer_from_pem(pem).map_err(|e| WiringError::Key(e.to_string()))?)
        }
        None => None,
    };
    rotation.keys(current, next).map_err(WiringError::Key)
}
