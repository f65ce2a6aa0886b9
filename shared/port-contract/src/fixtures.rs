//! Records the suites (and the adapters' own tests) store: a job, a schedule and a scan
//! summary with fixed contents, at times relative to one instant.

use ec_domain::job::Job;
use ec_domain::request::{
    BuiltinTemplate, ExportOptions, ExportRequest, ExportType, Format, Scope, TemplateName,
};
use ec_domain::scan::ScanSummary;
use ec_domain::schedule::Schedule;
use time::{Duration, OffsetDateTime};

/// The retention the suites pass to job transitions.
pub const RET: Duration = Duration::days(30);

/// Unix seconds as a timestamp (0 for a number outside the supported range).
pub fn ts(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The instant the fixtures are relative to: 2024-12-24T00:26:40Z.
pub fn t0() -> OffsetDateTime {
    ts(1_735_000_000)
}

/// An id of the fixtures (every one follows the id rules).
pub fn id_of<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("a valid fixture id")
}

/// `seconds` after [`t0`].
pub fn at(seconds: i64) -> OffsetDateTime {
    t0() + Duration::seconds(seconds)
}

/// A queued JSON scan report of `tenant`, requested by alice at `created_at`.
pub fn job(tenant: &str, id: &str, created_at: OffsetDateTime) -> Job {
    let req = ExportRequest {
        export_type: ExportType::ScanReport,
        format: Format::Json,
        scope: Scope::ScanIds(vec![id_of("scan-a")]),
        options: ExportOptions {
            include_sbom: false,
            include_evidence: true,
            ..ExportOptions::default()
        },
        template: TemplateName::Builtin(BuiltinTemplate::ComplianceDetailed),
    };
    Job::new(
        id_of(id),
        id_of(tenant),
        req,
        "alice".into(),
        None,
        created_at,
    )
}

/// A weekly schedule created `created` seconds after [`t0`], next due `next` seconds
/// after it (never, for `None`).
pub fn schedule(tenant: &str, id: &str, created: i64, next: Option<i64>) -> Schedule {
    Schedule::new(
        id_of(id),
        id_of(tenant),
        "0 6 * * 1".into(),
        "Europe/Berlin".into(),
        serde_json::json!({
            "type": "scan_report",
            "format": "json",
            "scope": {"scan_ids": ["scan-a"]},
        }),
        "alice".into(),
        at(created),
        next.map(at),
    )
}

/// A scan summary scanned at unix second `unix`.
pub fn summary(tenant: &str, id: &str, unix: i64) -> ScanSummary {
    ScanSummary {
        scan_id: id_of(id),
        tenant_id: id_of(tenant),
        artifact_name: "alpine:3.19".into(),
        artifact_digest: Some("sha256:abc".into()),
        source_format: "trivy".into(),
        scanned_at: ts(unix),
        findings: 3,
        components: 10,
        ingested_at: Some(ts(unix + 60)),
    }
}
