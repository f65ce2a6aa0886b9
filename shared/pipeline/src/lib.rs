//! The export pipeline, stage by stage. Each module is one step of the flow:
//! `request` (API) → `job` (state changes) → `gather` → `render` → `store` → `seal` →
//! `notify`; `schedule` starts exports on a cron. Handlers only see the ports in [`Ports`],
//! so the same code runs on Lambda (AWS adapters) and in `exportctl serve` (embedded
//! adapters).

pub mod config;
pub mod gather;
pub mod http_sources;
pub mod job;
pub mod local_sources;
pub mod notify;
pub mod offline;
pub mod render;
pub mod request;
pub mod sandbox;
pub mod schedule;
pub mod seal;
pub mod store;
pub mod templates;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use ec_domain::policy::PolicyConfig;
use ec_domain::ports::*;
use ec_domain::{JobError, Stage};

/// Every port the handlers use.
#[derive(Clone)]
pub struct Ports {
    pub jobs: Arc<dyn JobTable>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub queue: Arc<dyn WorkQueue>,
    pub objects: Arc<dyn ObjectStore>,
    pub catalog: Arc<dyn ScanCatalog>,
    pub scans: Arc<dyn ScanSource>,
    pub verdicts: Arc<dyn VerdictSource>,
    pub vex: Arc<dyn VexSource>,
    pub sboms: Arc<dyn SbomSource>,
    pub connections: Arc<dyn ConnectionRegistry>,
    pub push: Arc<dyn ConnectionPush>,
    pub signer: Arc<dyn Signer>,
    /// Recurring export definitions.
    pub schedules: Arc<dyn ScheduleStore>,
    /// What fires them: EventBridge Scheduler on AWS, a no-op on the embedded stack (whose
    /// scheduler loop reads `schedules`).
    pub trigger: Arc<dyn ScheduleTrigger>,
}

/// Tunables, read once at start-up from the environment (see the README).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long artifacts stay downloadable (`EXPORTCENTER_RETENTION_DAYS`).
    pub retention: time::Duration,
    /// Lifetime of presigned download URLs (`EXPORTCENTER_DOWNLOAD_URL_TTL_SECS`).
    pub download_ttl: Duration,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// How long a WebSocket connection stays registered without a ping.
    pub connection_ttl: Duration,
    /// Receives after which a retryable failure becomes final (SQS maxReceiveCount).
    pub max_attempts: u32,
    pub policy: PolicyConfig,
    /// Fault injection for recovery tests (`EXPORTCENTER_CRASH_AT`): the process aborts
    /// right after a job enters this stage.
    pub crash_at: Option<Stage>,
    /// Limits of the child process custom templates render in.
    pub template_limits: sandbox::SandboxLimits,
    /// A replayed request (same `Idempotency-Key`, or a scheduled time triggered again)
    /// whose job is still `queued` this long after it was made gets its gather message sent
    /// again: the first attempt may have died before sending it. Sooner, the message is
    /// simply waiting to be picked up and a duplicate would only be noise.
    pub resend_queued_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retention: time::Duration::days(30),
            download_ttl: Duration::from_secs(900),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            connection_ttl: Duration::from_secs(2 * 3600),
            max_attempts: 5,
            policy: PolicyConfig::default(),
            crash_at: None,
            template_limits: sandbox::SandboxLimits::default(),
            resend_queued_after: Duration::from_secs(60),
        }
    }
}

/// The handlers, bound to their ports.
#[derive(Clone)]
pub struct Pipeline {
    pub ports: Ports,
    pub settings: Arc<Settings>,
}

impl Pipeline {
    pub fn new(ports: Ports, settings: Settings) -> Pipeline {
        Pipeline {
            ports,
            settings: Arc::new(settings),
        }
    }
}

/// What a stage handler did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The job advanced.
    Done,
    /// Nothing to do: a duplicate delivery, or the job is cancelled or gone.
    Skipped(String),
}

/// Why a stage handler could not finish.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// Try again later (storage hiccup, lost a race, dependency down).
    #[error("{code}: {message} (will retry)")]
    Retryable { code: String, message: String },
    /// Retrying cannot help: the job fails with this error.
    #[error("{code}: {message}")]
    Permanent { code: String, message: String },
}

impl StageError {
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        StageError::Permanent {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        StageError::Retryable {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, StageError::Retryable { .. })
    }

    pub fn job_error(&self) -> JobError {
        match self {
            StageError::Retryable { code, message } | StageError::Permanent { code, message } => {
                JobError::new(code.clone(), message.clone())
            }
        }
    }
}

impl From<ec_domain::PortError> for StageError {
    fn from(e: ec_domain::PortError) -> Self {
        use ec_domain::PortError as P;
        match e {
            P::Invalid(m) => StageError::permanent("ERR_INVALID_DATA", m),
            P::NotFound(m) => StageError::permanent("ERR_NOT_FOUND", m),
            other => StageError::retryable(other.code(), other.to_string()),
        }
    }
}
