//! Recurring exports: a 5-field cron expression in a time zone, and the export request to
//! run. The embedded stack fires them from its own loop; AWS fires them with EventBridge
//! Scheduler. Either way a run is an ordinary export whose job records the schedule id.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::id_types::{ExportId, ScheduleId, TenantId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// `sch-` + a lowercase ULID.
    pub schedule_id: ScheduleId,
    pub tenant_id: TenantId,
    pub cron: String,
    pub timezone: String,
    /// The export request body, as given (validated at creation and again at each run).
    pub request: serde_json::Value,
    pub created_by: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the embedded scheduler fires next (AWS keeps its own clock).
    #[serde(with = "crate::time::serde_rfc3339::option")]
    pub next_run_at: Option<OffsetDateTime>,
    #[serde(with = "crate::time::serde_rfc3339::option")]
    pub last_run_at: Option<OffsetDateTime>,
    pub last_export_id: Option<ExportId>,
    /// Why the last run created no export (its request became invalid, e.g. a scan in
    /// scope was deleted); `None` after a successful run.
    #[serde(default)]
    pub last_error: Option<crate::job::JobError>,
    /// A paused schedule does not fire (`next_run_at` is empty, the AWS trigger removed);
    /// it still runs on request (`POST /api/v1/schedules/{id}/run`).
    #[serde(default)]
    pub paused: bool,
    pub version: u64,
}

impl Schedule {
    /// A schedule that has not run yet, at version 1.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        schedule_id: ScheduleId,
        tenant_id: TenantId,
        cron: String,
        timezone: String,
        request: serde_json::Value,
        created_by: String,
        created_at: OffsetDateTime,
        next_run_at: Option<OffsetDateTime>,
    ) -> Schedule {
        Schedule {
            schedule_id,
            tenant_id,
            cron,
            timezone,
            request,
            created_by,
            created_at,
            next_run_at,
            last_run_at: None,
            last_export_id: None,
            last_error: None,
            paused: false,
            version: 1,
        }
    }
}

pub fn new_schedule_id() -> ScheduleId {
    ScheduleId::generate()
}

/// The idempotency key of one run: a schedule fires at most once per scheduled time, however
/// often the trigger is delivered.
pub fn run_key(schedule_id: &str, scheduled_at: OffsetDateTime) -> String {
    format!("schedule:{schedule_id}:{}", scheduled_at.unix_timestamp())
}

/// The export id of one run, derived from the tenant and the run: a run replayed after its
/// idempotency key expired (a crash between making the job and recording it, then a long
/// downtime) still lands on the job it made. A ULID whose time part is the scheduled time.
pub fn run_export_id(
    tenant: &TenantId,
    schedule_id: &ScheduleId,
    scheduled_at: OffsetDateTime,
) -> ExportId {
    let digest = crate::ids::sha256_hex(
        format!("{tenant}\n{}", run_key(schedule_id, scheduled_at)).as_bytes(),
    );
    // 80 random bits of a ULID = the first 20 hex digits of the digest.
    let random = u128::from_str_radix(&digest[..20], 16).unwrap_or_default();
    let ms = u64::try_from(scheduled_at.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    ExportId::derived(format!(
        "exp-{}",
        ulid::Ulid::from_parts(ms, random)
            .to_string()
            .to_lowercase()
    ))
}

/// A parsed, validated cron expression and time zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    fields: Vec<String>,
    cron: croner::Cron,
    tz: chrono_tz::Tz,
}

impl CronSpec {
    /// Five fields (minute hour day-of-month month day-of-week) and an IANA time zone.
    pub fn parse(expr: &str, timezone: &str) -> Result<CronSpec, ApiError> {
        let fields: Vec<String> = expr.split_whitespace().map(str::to_string).collect();
        if fields.len() != 5 {
            return Err(ApiError::validation(
                "cron",
                format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                    fields.len()
                ),
            ));
        }
        let cron = croner::Cron::from_str(&fields.join(" ")).map_err(|e| {
            ApiError::validation(
                "cron",
                format!("{expr:?} is not a valid cron expression: {e}"),
            )
        })?;
        let tz: chrono_tz::Tz = timezone.parse().map_err(|_| {
            ApiError::validation("timezone", format!("{timezone:?} is not an IANA time zone"))
        })?;
        let spec = CronSpec { fields, cron, tz };
        // Both stacks must be able to run it: refuse what EventBridge cannot express.
        spec.eventbridge_expression()?;
        Ok(spec)
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        use chrono::TimeZone;
        let local = self.tz.timestamp_opt(t.unix_timestamp(), 0).single()?;
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
    }

    /// The same schedule as an EventBridge Scheduler `cron(...)` expression: six fields,
    /// day-of-week numbered 1-7 from Sunday, and `?` in one of the two day fields.
    pub fn eventbridge_expression(&self) -> Result<String, ApiError> {
        let [min, hour, dom, month, dow] = [0, 1, 2, 3, 4].map(|i| self.fields[i].as_str());
        let (dom, dow) = match (dom, dow) {
            (d, "*") => (d.to_string(), "?".to_string()),
            ("*", w) => ("?".to_string(), shift_weekdays(w)?),
            _ => {
                return Err(ApiError::validation(
                    "cron",
                    "give day-of-month or day-of-week, not both (EventBridge Scheduler cannot run either-or)",
                ));
            }
        };
        Ok(format!("cron({min} {hour} {dom} {month} {dow} *)"))
    }

    pub fn timezone(&self) -> &str {
        self.tz.name()
    }
}

/// Unix day-of-week numbers (0-7, Sunday 0 or 7) to EventBridge's (1-7, Sunday 1); names
/// and `L`/`#` forms keep their numbers shifted the same way.
fn shift_weekdays(field: &str) -> Result<String, ApiError> {
    let mut out = String::with_capacity(field.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String, after_hash: bool| -> Result<(), ApiError> {
        if digits.is_empty() {
            return Ok(());
        }
        let n: u32 = digits
            .parse()
            .map_err(|_| ApiError::validation("cron", "bad day-of-week number"))?;
        let mapped = if after_hash { n } else { (n % 7) + 1 };
        out.push_str(&mapped.to_string());
        digits.clear();
        Ok(())
    };
    let mut after_hash = false;
    for c in field.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out, after_hash)?;
            after_hash = c == '#';
            out.push(c);
        }
    }
    flush(&mut digits, &mut out, after_hash)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        crate::time::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn next_runs_follow_the_time_zone() {
        let s = CronSpec::parse("0 6 * * 1", "Europe/Berlin").unwrap();
        // Monday 2024-12-30 06:00 in Berlin is 05:00 UTC.
        assert_eq!(
            s.next_after(at("2024-12-29T10:30:00Z")),
            Some(at("2024-12-30T05:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2024-12-30T05:00:00Z")),
            Some(at("2025-01-06T05:00:00Z"))
        );
        let utc = CronSpec::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(
            utc.next_after(at("2024-12-29T10:31:10Z")),
            Some(at("2024-12-29T10:45:00Z"))
        );
    }

    #[test]
    fn bad_expressions_are_422() {
        for (expr, tz, field) in [
            ("0 6 * *", "UTC", "cron"),
            ("61 6 * * 1", "UTC", "cron"),
            ("0 6 * * 1", "Mars/Olympus", "timezone"),
            ("0 6 1 * 1", "UTC", "cron"),
            ("not a cron", "UTC", "cron"),
        ] {
            let e = CronSpec::parse(expr, tz).unwrap_err();
            assert_eq!(e.status(), 422, "{expr}");
            assert_eq!(e.details[0].field, field, "{expr}");
        }
    }

    #[test]
    fn eventbridge_expressions() {
        let eb = |e: &str| {
            CronSpec::parse(e, "UTC")
                .unwrap()
                .eventbridge_expression()
                .unwrap()
        };
        assert_eq!(eb("0 6 * * 1"), "cron(0 6 ? * 2 *)");
        assert_eq!(eb("30 2 1 * *"), "cron(30 2 1 * ? *)");
        assert_eq!(eb("0 0 * * 0,6"), "cron(0 0 ? * 1,7 *)");
        assert_eq!(eb("0 0 * * 1-5"), "cron(0 0 ? * 2-6 *)");
        assert_eq!(eb("0 9 * * MON"), "cron(0 9 ? * MON *)");
        assert_eq!(eb("*/5 * * * *"), "cron(*/5 * * * ? *)");
    }

    #[test]
    fn run_export_ids_are_per_tenant_schedule_and_time() {
        let t = at("2024-12-30T05:00:00Z");
        let id = run_export_id(&"acme".parse().unwrap(), &"sch-1".parse().unwrap(), t);
        assert_eq!(
            id,
            run_export_id(&"acme".parse().unwrap(), &"sch-1".parse().unwrap(), t)
        );
        assert!(
            id.starts_with("exp-") && id.len() == 30 && crate::ids::is_safe_id(&id),
            "{id}"
        );
        let ulid = ulid::Ulid::from_string(&id[4..].to_uppercase()).unwrap();
        assert_eq!(ulid.timestamp_ms(), 1_735_534_800_000);
        assert_ne!(
            id,
            run_export_id(&"globex".parse().unwrap(), &"sch-1".parse().unwrap(), t)
        );
        assert_ne!(
            id,
            run_export_id(&"acme".parse().unwrap(), &"sch-2".parse().unwrap(), t)
        );
        assert_ne!(
            id,
            run_export_id(
                &"acme".parse().unwrap(),
                &"sch-1".parse().unwrap(),
                t + time::Duration::minutes(1)
            )
        );
    }

    #[test]
    fn run_keys_are_per_scheduled_time() {
        assert_eq!(
            run_key("sch-1", at("2024-12-30T05:00:00Z")),
            "schedule:sch-1:1735534800"
        );
    }
}
