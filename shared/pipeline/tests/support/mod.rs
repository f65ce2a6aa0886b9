//! What the pipeline's and the Lambda glue's tests share: a pipeline on the embedded
//! adapters of a temp dir (the embedded builder, with the ports a test replaces), and the
//! API's calls in the shape a test writes them (JSON request in, as a client sends it).
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use ec_domain::messages::QueueName;
use ec_domain::ports::Ports;
use ec_domain::schedule::Schedule;
use ec_domain::{ApiError, ExportRequest, Job, StageError};
use ec_embedded::{Embedded, EmbeddedConfig};
use ec_pipeline::app::inputs::{IdempotencyKey, NewSchedule};
use ec_pipeline::app::{Caller, IngestReceipt};
use ec_pipeline::{Outcome, Pipeline, Settings};

/// The embedded adapters of `dir`; the caller replaces ports before building a pipeline.
pub async fn embedded(dir: &Path) -> Embedded {
    let env: [(&str, &str); 0] = [];
    let e = Embedded::open(
        dir,
        &env,
        &EmbeddedConfig {
            policy: Default::default(),
            max_attempts: Settings::default().max_attempts,
        },
    )
    .await
    .expect("embedded adapters");
    e.objects.set_base_url("http://127.0.0.1:1");
    e
}

/// Receives one message of `queue` (it must be there) without acknowledging it.
pub async fn take(q: &ec_embedded::SqliteQueue, queue: QueueName) -> String {
    use ec_domain::ports::QueueConsumer;
    let got = q
        .receive(queue, 1, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "expected one {} message", queue.as_str());
    got[0].body.clone()
}

pub fn pipeline(ports: Ports) -> Pipeline {
    Pipeline::new(ports, Settings::default())
}

/// The API's calls, taking what a client sends.
#[allow(async_fn_in_trait)]
pub trait Calls {
    async fn ingest_scan(&self, c: &Caller, doc: &[u8]) -> Result<IngestReceipt, ApiError>;
    async fn create_export(
        &self,
        c: &Caller,
        req: &Value,
        key: Option<&str>,
    ) -> Result<Job, ApiError>;
    async fn get_export(&self, c: &Caller, id: &str) -> Result<Job, ApiError>;
    async fn handle(&self, q: QueueName, body: &str) -> Result<Outcome, StageError>;
    async fn give_up(&self, q: QueueName, body: &str, e: &StageError);
    async fn create_schedule(&self, c: &Caller, body: &Value) -> Result<Schedule, ApiError>;
    async fn get_schedule(&self, c: &Caller, id: &str) -> Result<Schedule, ApiError>;
    async fn list_schedules(&self, c: &Caller) -> Result<Vec<Schedule>, ApiError>;
    async fn delete_schedule(&self, c: &Caller, id: &str) -> Result<(), ApiError>;
    async fn run_schedule(
        &self,
        tenant: &str,
        id: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Job>, StageError>;
    async fn run_due_schedules(&self, now: OffsetDateTime) -> usize;
}

impl Calls for Pipeline {
    async fn ingest_scan(&self, c: &Caller, doc: &[u8]) -> Result<IngestReceipt, ApiError> {
        self.app.scans.ingest(c, doc, None).await
    }
    async fn create_export(
        &self,
        c: &Caller,
        req: &Value,
        key: Option<&str>,
    ) -> Result<Job, ApiError> {
        let request = ExportRequest::from_json(req, &c.tenant)?;
        let key = key.map(IdempotencyKey::parse).transpose()?;
        match self.app.exports.create(c, request, key.as_ref()).await {
            Ok(accepted) => Ok(accepted.job),
            Err(refused) => Err(refused.error),
        }
    }
    async fn get_export(&self, c: &Caller, id: &str) -> Result<Job, ApiError> {
        let id = id.parse().map_err(|_| ApiError::not_found("export"))?;
        self.app.exports.get(c, &id).await
    }
    async fn handle(&self, q: QueueName, body: &str) -> Result<Outcome, StageError> {
        self.stages.handle(q, body).await
    }
    async fn give_up(&self, q: QueueName, body: &str, e: &StageError) {
        self.stages.give_up(q, body, e).await
    }
    async fn create_schedule(&self, c: &Caller, body: &Value) -> Result<Schedule, ApiError> {
        self.app
            .schedules
            .create(c, NewSchedule::parse(body)?)
            .await
    }
    async fn get_schedule(&self, c: &Caller, id: &str) -> Result<Schedule, ApiError> {
        let id = id.parse().map_err(|_| ApiError::not_found("schedule"))?;
        self.app.schedules.get(c, &id).await
    }
    async fn list_schedules(&self, c: &Caller) -> Result<Vec<Schedule>, ApiError> {
        self.app.schedules.list(c).await
    }
    async fn delete_schedule(&self, c: &Caller, id: &str) -> Result<(), ApiError> {
        let id = id.parse().map_err(|_| ApiError::not_found("schedule"))?;
        self.app.schedules.delete(c, &id).await
    }
    async fn run_schedule(
        &self,
        tenant: &str,
        id: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Job>, StageError> {
        let (tenant, id) = (
            tenant.parse().expect("tenant"),
            id.parse().expect("schedule"),
        );
        self.scheduler.run(&tenant, &id, at).await
    }
    async fn run_due_schedules(&self, now: OffsetDateTime) -> usize {
        self.scheduler.run_due(now).await
    }
}

/// The ports a test reads directly.
pub fn jobs(p: &Pipeline) -> &Arc<dyn ec_domain::ports::JobTable> {
    &p.app.exports.jobs
}

pub fn schedules(p: &Pipeline) -> &Arc<dyn ec_domain::ports::ScheduleStore> {
    &p.scheduler.store
}
