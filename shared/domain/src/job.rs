//! The export job and its state machine:
//! `queued → running[gathering|rendering|storing|sealing] → ready | failed | cancelled`,
//! and `ready → expired` once retention ends. Every transition bumps `version`; stores
//! write it conditionally on the version they read, so concurrent workers cannot both win.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ErrorCode;
use crate::failure::{FailureCode, StageError};
use crate::id_types::{ExportId, ScheduleId, TenantId};
use crate::request::{ExportRequest, ExportType, Format};
use crate::wire::string_enum;

string_enum!(
    /// Where a job is in its life.
    JobStatus {
        Queued = "queued",
        Running = "running",
        Ready = "ready",
        Failed = "failed",
        Cancelled = "cancelled",
        Expired = "expired",
        Purged = "purged",
    }
);

impl JobStatus {
    /// Nothing more will happen to a job in these states (but `ready → expired`).
    pub fn is_terminal(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

string_enum!(
    /// The step a running job is in.
    Stage {
        Gathering = "gathering",
        Rendering = "rendering",
        Storing = "storing",
        Sealing = "sealing",
    }
);

impl Stage {
    fn percent(self) -> u8 {
        match self {
            Stage::Gathering => 10,
            Stage::Rendering => 35,
            Stage::Storing => 70,
            Stage::Sealing => 85,
        }
    }
}

string_enum!(
    /// Which file of an export: the report, or its sealed bundle.
    ArtifactKind { Report = "report", Sealed = "sealed" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub kind: ArtifactKind,
    pub key: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub percent: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub code: FailureCode,
    pub message: String,
}

/// An export job: the contract's job document plus what the workers need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub export_id: ExportId,
    pub tenant_id: TenantId,
    pub status: JobStatus,
    pub stage: Option<Stage>,
    #[serde(rename = "type")]
    pub export_type: ExportType,
    pub format: Format,
    pub template: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub updated_at: OffsetDateTime,
    pub estimated_completion: String,
    pub progress: Progress,
    pub artifacts: Vec<Artifact>,
    pub error: Option<JobError>,
    /// The validated request, as the workers will act on it.
    pub request: ExportRequest,
    /// Who asked (the token's subject), for the audit trail.
    pub requested_by: String,
    /// Set when a schedule started the export.
    pub schedule_id: Option<ScheduleId>,
    /// When the artifacts stop being downloadable (retention).
    #[serde(with = "crate::time::serde_rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Days the artifacts are kept once ready: `options.retention_days`, else the tenant's
    /// default, fixed when the job was made (absent on jobs made before, which keep the
    /// service's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Its deliveries to the destinations it names, once it is ready or failed.
    #[serde(default)]
    pub deliveries: Vec<crate::delivery::DeliveryRecord>,
    /// What the report says in brief (for deliveries' messages); recorded when rendered,
    /// for exports that name destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ExportSummary>,
    /// Under legal hold: never expires, cannot be purged (`PUT …/legal-hold`).
    #[serde(default)]
    pub legal_hold: bool,
    /// Who put or released the hold, when and why, and the expiry the hold suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_hold_record: Option<LegalHoldRecord>,
    /// The bundle's RFC 3161 timestamp, when a TSA is configured: when it was stamped, or
    /// why the bundle has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampNote>,
    /// The scans a date range or relative window selected when the job was gathered: what
    /// a later run's `previous_run` baseline compares with (a scan uploaded late, dated
    /// inside this window, was not in this report and is not "unchanged" in the next).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope_scan_ids: Vec<crate::ScanId>,
    /// Optimistic-concurrency version; bumped by every transition.
    pub version: u64,
}

/// The latest legal hold or release of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHoldRecord {
    pub reason: String,
    pub by: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub at: OffsetDateTime,
    /// The retention the hold suspended, restored on release.
    #[serde(
        default,
        with = "crate::time::serde_rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at_before: Option<OffsetDateTime>,
}

/// What became of a sealed bundle's timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TimestampNote {
    /// `manifest.dsse.tsr` holds it.
    Stamped { time: String, tsa: String },
    /// The TSA gave none; the bundle is sealed without.
    Failed { reason: String },
}

/// A report in brief: its findings by severity (after filters, as the report counts them)
/// and the policy's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    pub findings: usize,
    pub by_severity: std::collections::BTreeMap<crate::scan::Severity, usize>,
    pub suppressed: usize,
    pub decision: crate::scan::Decision,
    /// Compared with `options.baseline`: findings `new` and `unchanged`, and `fixed` ones
    /// (absent without a baseline).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub compared: std::collections::BTreeMap<crate::filters::Delta, usize>,
}

/// What may happen to a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Enter a running stage: from `queued` into gathering, or to the next stage.
    Enter(Stage),
    Ready {
        artifacts: Vec<Artifact>,
    },
    Fail(JobError),
    Cancel,
    Expire,
    /// An expired export's artifacts deleted by the sweeper.
    Swept,
    /// A finished export's artifacts removed now (`DELETE …?purge=true`).
    Purge,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job {export_id} cannot go from {from} to {to}")]
pub struct TransitionError {
    pub export_id: String,
    pub from: String,
    pub to: String,
}

impl Job {
    pub fn new(
        export_id: ExportId,
        tenant_id: TenantId,
        request: ExportRequest,
        requested_by: String,
        schedule_id: Option<ScheduleId>,
        now: OffsetDateTime,
    ) -> Job {
        Job {
            export_id,
            tenant_id,
            status: JobStatus::Queued,
            stage: None,
            export_type: request.export_type,
            format: request.format,
            template: request.template.to_string(),
            created_at: now,
            updated_at: now,
            estimated_completion: estimate(request.format),
            progress: Progress { percent: 0 },
            artifacts: Vec::new(),
            error: None,
            request,
            requested_by,
            schedule_id,
            expires_at: None,
            retention_days: None,
            deliveries: Vec::new(),
            summary: None,
            scope_scan_ids: Vec::new(),
            timestamp: None,
            legal_hold: false,
            legal_hold_record: None,
            version: 1,
        }
    }

    /// A label for the current state, e.g. `running[rendering]`.
    pub fn state_label(&self) -> String {
        match self.stage {
            Some(s) => format!("{}[{}]", self.status.as_str(), s.as_str()),
            None => self.status.as_str().to_string(),
        }
    }

    /// The job after `t`, or why `t` is not allowed from here. `retention` sets `expires_at`
    /// when the job becomes ready.
    pub fn apply(
        &self,
        t: Transition,
        now: OffsetDateTime,
        retention: time::Duration,
    ) -> Result<Job, TransitionError> {
        let mut next = self.clone();
        let refuse = |to: &str| TransitionError {
            export_id: self.export_id.to_string(),
            from: self.state_label(),
            to: to.to_string(),
        };
        match t {
            Transition::Enter(stage) => {
                let allowed = match (self.status, self.stage) {
                    (JobStatus::Queued, _) => stage == Stage::Gathering,
                    (JobStatus::Running, Some(cur)) => stage > cur,
                    _ => false,
                };
                if !allowed {
                    return Err(refuse(&format!("running[{}]", stage.as_str())));
                }
                next.status = JobStatus::Running;
                next.stage = Some(stage);
                next.progress.percent = stage.percent();
            }
            Transition::Ready { artifacts } => {
                if !(self.status == JobStatus::Running && self.stage == Some(Stage::Sealing)) {
                    return Err(refuse("ready"));
                }
                next.status = JobStatus::Ready;
                next.stage = None;
                next.progress.percent = 100;
                next.artifacts = artifacts;
                let kept = self
                    .retention_days
                    .map_or(retention, |d| time::Duration::days(d.into()));
                next.expires_at = Some(now + kept);
            }
            Transition::Fail(err) => {
                if self.status.is_terminal() {
                    return Err(refuse("failed"));
                }
                next.status = JobStatus::Failed;
                next.stage = None;
                next.error = Some(err);
            }
            Transition::Cancel => {
                if self.status.is_terminal() {
                    return Err(refuse("cancelled"));
                }
                next.status = JobStatus::Cancelled;
                next.stage = None;
            }
            Transition::Expire => {
                if self.status != JobStatus::Ready || self.legal_hold {
                    return Err(refuse("expired"));
                }
                next.status = JobStatus::Expired;
            }
            Transition::Swept => {
                if self.status != JobStatus::Expired {
                    return Err(refuse("expired (swept)"));
                }
                next.artifacts.clear();
            }
            Transition::Purge => {
                if !self.status.is_terminal() || self.legal_hold {
                    return Err(refuse("purged"));
                }
                next.status = JobStatus::Purged;
                next.artifacts.clear();
                next.expires_at = None;
            }
        }
        next.updated_at = now;
        next.version = self.version + 1;
        Ok(next)
    }

    /// When the sweeper must act on this job: a ready export not under legal hold, at its
    /// retention's end; an expired one whose artifacts are still listed (the sweeper
    /// deletes them, then records it), at once. `None` otherwise. What the job tables
    /// index, so that [`crate::ports::JobTable::sweepable`] is one range read.
    pub fn sweep_due(&self) -> Option<OffsetDateTime> {
        match self.status {
            JobStatus::Ready if !self.legal_hold => self.expires_at,
            JobStatus::Expired if !self.artifacts.is_empty() => {
                Some(self.expires_at.unwrap_or(self.updated_at))
            }
            _ => None,
        }
    }

    pub fn artifact(&self, kind: ArtifactKind) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.kind == kind)
    }
}

impl JobError {
    pub fn new(code: impl Into<FailureCode>, message: impl Into<String>) -> Self {
        JobError {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn from_code(code: ErrorCode, message: impl Into<String>) -> Self {
        JobError::new(code, message)
    }
}

/// What a job records when a stage fails for good.
impl From<&StageError> for JobError {
    fn from(e: &StageError) -> Self {
        JobError::new(e.code(), e.message())
    }
}

/// ISO 8601 duration the API promises as `estimated_completion`; PDF is the slow one.
fn estimate(format: Format) -> String {
    match format {
        Format::Pdf | Format::Xlsx => "PT2M".into(),
        _ => "PT30S".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{BuiltinTemplate, ExportOptions, Scope, TemplateName};

    fn job() -> Job {
        let req = ExportRequest {
            export_type: ExportType::ScanReport,
            format: Format::Json,
            scope: Scope::ScanIds(vec!["scan-a".parse().unwrap()]),
            options: ExportOptions {
                include_sbom: false,
                include_evidence: true,
                ..ExportOptions::default()
            },
            template: TemplateName::Builtin(BuiltinTemplate::ComplianceDetailed),
        };
        Job::new(
            "exp-1".parse().unwrap(),
            "acme".parse().unwrap(),
            req,
            "alice".into(),
            None,
            crate::time::now(),
        )
    }

    const RET: time::Duration = time::Duration::days(30);

    #[test]
    fn happy_path_walks_every_stage() {
        let now = crate::time::now();
        let mut j = job();
        for s in [
            Stage::Gathering,
            Stage::Rendering,
            Stage::Storing,
            Stage::Sealing,
        ] {
            j = j.apply(Transition::Enter(s), now, RET).unwrap();
            assert_eq!(j.state_label(), format!("running[{}]", s.as_str()));
        }
        let j = j
            .apply(Transition::Ready { artifacts: vec![] }, now, RET)
            .unwrap();
        assert_eq!(j.status, JobStatus::Ready);
        assert_eq!(j.version, 6);
        assert_eq!(j.progress.percent, 100);
        assert_eq!(j.expires_at, Some(now + RET));
        assert!(j.apply(Transition::Cancel, now, RET).is_err());
        assert_eq!(
            j.apply(Transition::Expire, now, RET).unwrap().status,
            JobStatus::Expired
        );
    }

    #[test]
    fn illegal_moves_are_refused() {
        let now = crate::time::now();
        let j = job();
        assert!(
            j.apply(Transition::Enter(Stage::Rendering), now, RET)
                .is_err()
        );
        assert!(
            j.apply(Transition::Ready { artifacts: vec![] }, now, RET)
                .is_err()
        );
        let g = j
            .apply(Transition::Enter(Stage::Gathering), now, RET)
            .unwrap();
        assert!(
            g.apply(Transition::Enter(Stage::Gathering), now, RET)
                .is_err(),
            "re-entering a stage is not a transition"
        );
        let c = g.apply(Transition::Cancel, now, RET).unwrap();
        assert_eq!(c.status, JobStatus::Cancelled);
        assert!(
            c.apply(Transition::Enter(Stage::Rendering), now, RET)
                .is_err()
        );
        assert!(
            c.apply(
                Transition::Fail(JobError::new(ErrorCode::Internal, "y")),
                now,
                RET
            )
            .is_err()
        );
    }

    #[test]
    fn job_json_has_the_contract_fields() {
        let v = serde_json::to_value(job()).unwrap();
        for k in [
            "export_id",
            "tenant_id",
            "status",
            "stage",
            "type",
            "format",
            "template",
            "created_at",
            "updated_at",
            "estimated_completion",
            "progress",
            "artifacts",
            "error",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["status"], "queued");
        assert_eq!(v["progress"]["percent"], 0);
    }

    #[test]
    fn retention_is_the_jobs_own_and_the_sweeper_finishes_what_expiry_starts() {
        let now = crate::time::now();
        let mut j = job();
        j.retention_days = Some(2);
        for s in Stage::ALL {
            j = j.apply(Transition::Enter(*s), now, RET).unwrap();
        }
        assert_eq!(j.sweep_due(), None, "running");
        let art = Artifact {
            kind: ArtifactKind::Report,
            key: "k".into(),
            sha256: "0".repeat(64),
            size: 1,
            media_type: "application/json".into(),
        };
        let ready = j
            .apply(
                Transition::Ready {
                    artifacts: vec![art],
                },
                now,
                RET,
            )
            .unwrap();
        let end = now + time::Duration::days(2);
        assert_eq!(ready.expires_at, Some(end), "the job's days, not RET");
        assert_eq!(ready.sweep_due(), Some(end));
        let mut held = ready.clone();
        held.legal_hold = true;
        assert_eq!(held.sweep_due(), None, "held");
        assert!(held.apply(Transition::Expire, now, RET).is_err());
        assert!(ready.apply(Transition::Swept, now, RET).is_err());
        let expired = ready.apply(Transition::Expire, end, RET).unwrap();
        assert_eq!(expired.sweep_due(), Some(end), "artifacts still listed");
        let swept = expired.apply(Transition::Swept, end, RET).unwrap();
        assert!(swept.artifacts.is_empty());
        assert_eq!(
            (swept.status, swept.sweep_due()),
            (JobStatus::Expired, None)
        );
    }
}
