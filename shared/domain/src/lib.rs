//! ExportCenter's domain: what an export is, how a job moves, what a scan holds, and the
//! ports the handlers talk through. No I/O here.

pub mod audit;
pub mod delivery;
pub mod destination;
pub mod env;
pub mod error;
pub mod failure;
pub mod filters;
mod finding_order;
mod finding_wire;
pub mod id_types;
pub mod ids;
pub mod job;
pub mod keys;
pub mod messages;
pub mod natural;
pub mod policy;
pub mod ports;
pub mod request;
pub mod scan;
pub mod schedule;
pub mod scope;
pub mod shared_text;
pub mod signing_keys;
pub mod snapshot;
pub mod snapshot_codec;
pub mod template;
pub mod tenant_settings;
pub mod time;
pub mod vex;
mod wire;

pub use error::{ApiError, ErrorBody, ErrorCode, PortError};
pub use failure::{FailureCode, StageCode, StageError};
pub use id_types::{DestinationId, ExportId, InvalidId, ScanId, ScheduleId, TenantId};
pub use job::{Artifact, ArtifactKind, Job, JobError, JobStatus, Stage, Transition};
pub use request::{BuiltinTemplate, ExportRequest, ExportType, Format, Scope, TemplateName};
