//! The typed inputs of the API services, each parsed once from what HTTP carried (query
//! strings, headers, bodies) with the contract's error for each field, so no raw string or
//! JSON tree of HTTP origin reaches a service.

use serde_json::Value;

use ec_domain::{ApiError, ArtifactKind, ErrorCode, ExportType, Format, JobStatus};

pub const MAX_LIST_LIMIT: usize = 200;
pub const DEFAULT_LIST_LIMIT: usize = 50;

/// Idempotency keys of scheduled runs ([`ec_domain::schedule::run_key`]) start with this;
/// clients may not use it, so they cannot pre-empt a schedule's run.
pub const SCHEDULE_KEY_PREFIX: &str = "schedule:";

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters, not in the schedules'
/// reserved namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(key: &str) -> Result<IdempotencyKey, ApiError> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::validation(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        if key.starts_with(SCHEDULE_KEY_PREFIX) {
            return Err(ApiError::validation(
                "Idempotency-Key",
                format!(
                    "keys starting with {SCHEDULE_KEY_PREFIX:?} are reserved for scheduled runs"
                ),
            ));
        }
        Ok(IdempotencyKey(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `GET /api/v1/exports?status=&format=&type=&limit=&cursor=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListExports {
    pub status: Option<JobStatus>,
    pub format: Option<Format>,
    pub export_type: Option<ExportType>,
    pub limit: usize,
    /// Opaque: the job table says whether it issued it.
    pub cursor: Option<String>,
}

/// The raw query of `GET /api/v1/exports`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListExportsQuery<'a> {
    pub status: Option<&'a str>,
    pub format: Option<&'a str>,
    pub export_type: Option<&'a str>,
    pub limit: Option<&'a str>,
}

fn one_of<T: std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ListExports {
    pub fn parse(q: ListExportsQuery<'_>, cursor: Option<String>) -> Result<ListExports, ApiError> {
        let status = match q.status {
            None => None,
            Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
                ApiError::validation(
                    "status",
                    "expected queued, running, ready, failed, cancelled, expired or purged",
                )
            })?),
        };
        let format = match q.format {
            None => None,
            Some(s) => Some(Format::parse(s).ok_or_else(|| {
                ApiError::validation("format", format!("expected one of {}", one_of(Format::ALL)))
            })?),
        };
        let export_type = match q.export_type {
            None => None,
            Some(s) => Some(ExportType::parse(s).ok_or_else(|| {
                ApiError::validation(
                    "type",
                    format!("expected one of {}", one_of(ExportType::ALL)),
                )
            })?),
        };
        let limit = list_limit(q.limit)?;
        Ok(ListExports {
            status,
            format,
            export_type,
            limit,
            cursor,
        })
    }

    /// Whether `job` passes the format and type filters (the status is the table's).
    pub fn keeps(&self, job: &ec_domain::Job) -> bool {
        self.format.is_none_or(|f| job.format == f)
            && self.export_type.is_none_or(|t| job.export_type == t)
    }
}

/// A listing's `?limit=`: 1 to [`MAX_LIST_LIMIT`], [`DEFAULT_LIST_LIMIT`] when absent.
pub fn list_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIST_LIMIT),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIST_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::validation(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIST_LIMIT}"),
                )
            }),
    }
}

/// `?artifact=report|sealed` of the download route (default `report`).
pub fn artifact_kind(artifact: Option<&str>) -> Result<ArtifactKind, ApiError> {
    match artifact {
        None => Ok(ArtifactKind::Report),
        Some(a) => ArtifactKind::parse(a)
            .ok_or_else(|| ApiError::validation("artifact", "expected report or sealed")),
    }
}

/// The time zone of a schedule that names none.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// The fields of a schedule body.
const SCHEDULE_FIELDS: &[&str] = &["cron", "timezone", "request"];

/// A `POST /api/v1/schedules` body, checked for shape (its meaning is checked by the
/// schedule service). `request` is kept as sent: the schedule stores it and validates it
/// again at every run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSchedule {
    pub cron: String,
    pub timezone: String,
    pub request: Value,
}

impl NewSchedule {
    pub fn parse(body: &Value) -> Result<NewSchedule, ApiError> {
        let Value::Object(obj) = body else {
            return Err(ApiError::validation("body", "must be a JSON object"));
        };
        let mut errors = ApiError::new(ErrorCode::ExportValidation, "the schedule is invalid");
        for key in obj.keys() {
            if !SCHEDULE_FIELDS.contains(&key.as_str()) {
                errors = errors.with_detail(
                    key.as_str(),
                    format!(
                        "unknown field; expected one of {}",
                        SCHEDULE_FIELDS.join(", ")
                    ),
                );
            }
        }
        let cron = match obj.get("cron") {
            Some(Value::String(s)) => Some(s.split_whitespace().collect::<Vec<_>>().join(" ")),
            None | Some(Value::Null) => {
                errors = errors.with_detail("cron", "is required");
                None
            }
            Some(_) => {
                errors = errors.with_detail("cron", "must be a string");
                None
            }
        };
        let timezone = match obj.get("timezone") {
            None | Some(Value::Null) => Some(DEFAULT_TIMEZONE.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                errors = errors.with_detail("timezone", "must be a string");
                None
            }
        };
        let request = match obj.get("request") {
            Some(r @ Value::Object(_)) => Some(r.clone()),
            None | Some(Value::Null) => {
                errors = errors.with_detail("request", "is required");
                None
            }
            Some(_) => {
                errors = errors.with_detail("request", "must be an object (an export request)");
                None
            }
        };
        match (cron, timezone, request) {
            (Some(cron), Some(timezone), Some(request)) if errors.details.is_empty() => {
                Ok(NewSchedule {
                    cron,
                    timezone,
                    request,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A `PATCH /api/v1/schedules/{id}` body: any of `paused`, `cron`, `timezone`, `request`
/// (unknown fields refused, at least one field).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchedulePatch {
    pub paused: Option<bool>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub request: Option<Value>,
}

impl SchedulePatch {
    pub fn parse(body: &Value) -> Result<SchedulePatch, ApiError> {
        let Value::Object(obj) = body else {
            return Err(ApiError::validation("body", "must be a JSON object"));
        };
        let mut errors = ApiError::new(ErrorCode::ExportValidation, "the change is invalid");
        let mut patch = SchedulePatch::default();
        for (key, value) in obj {
            match (key.as_str(), value) {
                ("paused", Value::Bool(b)) => patch.paused = Some(*b),
                ("cron", Value::String(c)) => {
                    patch.cron = Some(c.split_whitespace().collect::<Vec<_>>().join(" "))
                }
                ("timezone", Value::String(t)) => patch.timezone = Some(t.clone()),
                ("request", Value::Object(_)) => patch.request = Some(value.clone()),
                ("paused", _) => errors = errors.with_detail("paused", "must be true or false"),
                ("cron" | "timezone", _) => errors = errors.with_detail(key, "must be a string"),
                ("request", _) => errors = errors.with_detail("request", "must be an object"),
                _ => {
                    errors = errors.with_detail(
                        key.as_str(),
                        "unknown field; expected paused, cron, timezone or request",
                    )
                }
            }
        }
        if obj.is_empty() {
            errors = errors.with_detail("body", "names nothing to change");
        }
        if !errors.details.is_empty() {
            return Err(errors);
        }
        Ok(patch)
    }
}
