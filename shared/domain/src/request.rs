//! Export requests: parsing with field-level errors, and the rules of the contract.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorCode};
use crate::filters::{Baseline, Filters};
use crate::ids::is_safe_id;
pub use crate::scope::{DateRange, RelativeWindow, Scope};
use crate::wire::string_enum;

pub const MAX_SCAN_IDS: usize = 1000;

string_enum!(
    /// What is exported.
    ExportType { ScanReport = "scan_report", Sbom = "sbom", Vex = "vex", AuditBundle = "audit_bundle" }
);

string_enum!(
    /// The artifact's file format.
    Format {
        Pdf = "pdf",
        Xlsx = "xlsx",
        Json = "json",
        Sarif = "sarif",
        Cyclonedx = "cyclonedx",
        Spdx = "spdx",
        Csv = "csv",
        Openvex = "openvex",
        Csaf = "csaf",
    }
);

string_enum!(
    /// The built-in report templates; `custom-{tenant}` is carried separately.
    BuiltinTemplate {
        ComplianceExecutive = "compliance-executive",
        ComplianceDetailed = "compliance-detailed",
        AuditEvidence = "audit-evidence",
        DeveloperSarif = "developer-sarif",
    }
);

impl Format {
    /// File extension, as in the seed's format table.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Cyclonedx => "cdx.json",
            Format::Spdx => "spdx.json",
            Format::Csv => "csv",
            Format::Openvex => "openvex.json",
            Format::Csaf => "csaf.json",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::Sarif => "application/sarif+json",
            Format::Cyclonedx => "application/vnd.cyclonedx+json",
            Format::Spdx => "application/spdx+json",
            Format::Csv => "text/csv",
            // Neither has a registered media type; both are JSON documents.
            Format::Openvex | Format::Csaf => "application/json",
        }
    }
}

impl ExportType {
    /// The type × format pairs that make sense; others are rejected with 422.
    pub fn allows(self, format: Format) -> bool {
        use Format::*;
        match self {
            ExportType::ScanReport => !matches!(format, Openvex | Csaf),
            ExportType::Sbom => matches!(format, Cyclonedx | Spdx | Json | Csv | Xlsx | Pdf),
            ExportType::Vex => {
                matches!(format, Openvex | Csaf | Cyclonedx | Json | Csv | Xlsx | Pdf)
            }
            ExportType::AuditBundle => matches!(format, Pdf | Json),
        }
    }

    /// Template used when the request names none.
    pub fn default_template(self, format: Format) -> BuiltinTemplate {
        match (self, format) {
            (_, Format::Sarif) => BuiltinTemplate::DeveloperSarif,
            (ExportType::AuditBundle, _) => BuiltinTemplate::AuditEvidence,
            _ => BuiltinTemplate::ComplianceDetailed,
        }
    }
}

/// A template name as requested: a built-in one, or the tenant's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum TemplateName {
    Builtin(BuiltinTemplate),
    Custom { tenant: String },
}

impl TemplateName {
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(t) = BuiltinTemplate::parse(s) {
            return Some(TemplateName::Builtin(t));
        }
        let tenant = s.strip_prefix("custom-")?;
        is_safe_id(tenant).then(|| TemplateName::Custom {
            tenant: tenant.to_string(),
        })
    }
}

impl std::fmt::Display for TemplateName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateName::Builtin(t) => f.write_str(t.as_str()),
            TemplateName::Custom { tenant } => write!(f, "custom-{tenant}"),
        }
    }
}

impl From<TemplateName> for String {
    fn from(t: TemplateName) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for TemplateName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        TemplateName::parse(&s).ok_or_else(|| format!("unknown template {s:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOptions {
    pub include_sbom: bool,
    pub include_evidence: bool,
    /// What the report keeps (`options.filters`); absent on jobs made before filters.
    #[serde(default, skip_serializing_if = "Filters::is_none")]
    pub filters: Filters,
    /// What the report is compared with (`options.baseline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// Where the export is delivered once sealed (`options.destinations`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<crate::DestinationId>,
    /// Days the artifacts are kept once ready (`options.retention_days`; the tenant's
    /// default when absent, at most its maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

impl Default for ExportOptions {
    /// The contract's defaults: no SBOM, evidence included, no filters, no baseline.
    fn default() -> Self {
        ExportOptions {
            include_sbom: false,
            include_evidence: true,
            filters: Filters::default(),
            baseline: None,
            destinations: Vec::new(),
            retention_days: None,
        }
    }
}

/// A request that passed every check: what the job records and the workers act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    #[serde(rename = "type")]
    pub export_type: ExportType,
    pub format: Format,
    pub scope: Scope,
    pub options: ExportOptions,
    pub template: TemplateName,
}

const TOP_LEVEL_FIELDS: &[&str] = &["type", "format", "scope", "options"];
const OPTION_FIELDS: &[&str] = &[
    "include_sbom",
    "include_evidence",
    "template",
    "filters",
    "baseline",
    "destinations",
    "retention_days",
];

fn one_of<T: std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn reject_unknown(
    obj: &serde_json::Map<String, Value>,
    known: &[&str],
    prefix: &str,
    errors: &mut ApiError,
) {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            errors.details.push(crate::error::ErrorDetail::new(
                format!("{prefix}{key}"),
                format!("unknown field; expected one of {}", known.join(", ")),
            ));
        }
    }
}

fn enum_field<T: Copy + std::fmt::Display>(
    obj: &serde_json::Map<String, Value>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    errors: &mut ApiError,
) -> Option<T> {
    let reason = match obj.get(field) {
        None | Some(Value::Null) => "is required".to_string(),
        Some(Value::String(s)) => match parse(s) {
            Some(v) => return Some(v),
            None => format!("unknown value {s:?}; expected one of {}", one_of(all)),
        },
        Some(_) => "must be a string".to_string(),
    };
    errors
        .details
        .push(crate::error::ErrorDetail::new(field.to_string(), reason));
    None
}

fn bool_option(
    obj: &serde_json::Map<String, Value>,
    field: &str,
    default: bool,
    errors: &mut ApiError,
) -> bool {
    match obj.get(field) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.details.push(crate::error::ErrorDetail::new(
                format!("options.{field}"),
                "must be a boolean",
            ));
            default
        }
    }
}

/// The most days any export may ask to be kept (a tenant's maximum is usually lower).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// `options.retention_days`: a whole number of days, 1 to [`MAX_RETENTION_DAYS`].
fn retention_days(value: Option<&Value>, errors: &mut ApiError) -> Option<u32> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64().and_then(|d| u32::try_from(d).ok()) {
            Some(d) if (1..=MAX_RETENTION_DAYS).contains(&d) => Some(d),
            _ => {
                push(
                    errors,
                    "options.retention_days",
                    format!("must be a whole number of days from 1 to {MAX_RETENTION_DAYS}"),
                );
                None
            }
        },
        Some(_) => {
            push(errors, "options.retention_days", "must be an integer");
            None
        }
    }
}

fn push(errors: &mut ApiError, field: impl Into<String>, reason: impl Into<String>) {
    errors
        .details
        .push(crate::error::ErrorDetail::new(field, reason));
}

impl ExportRequest {
    /// Parses and validates a request body for `tenant`. Every problem found is listed in
    /// the error's details, so a caller can fix them all in one go.
    pub fn from_json(body: &Value, tenant: &str) -> Result<ExportRequest, ApiError> {
        Self::parse(body, tenant, false)
    }

    /// As [`ExportRequest::from_json`], for a schedule's request: `options.baseline` may
    /// be `previous_run`.
    pub fn from_schedule_json(body: &Value, tenant: &str) -> Result<ExportRequest, ApiError> {
        Self::parse(body, tenant, true)
    }

    fn parse(body: &Value, tenant: &str, scheduled: bool) -> Result<ExportRequest, ApiError> {
        let Value::Object(obj) = body else {
            return Err(ApiError::validation("body", "must be a JSON object"));
        };
        let mut errors =
            ApiError::new(ErrorCode::ExportValidation, "the export request is invalid");
        reject_unknown(obj, TOP_LEVEL_FIELDS, "", &mut errors);
        let export_type = enum_field(obj, "type", ExportType::parse, ExportType::ALL, &mut errors);
        let format = enum_field(obj, "format", Format::parse, Format::ALL, &mut errors);
        let scope = match obj.get("scope") {
            Some(Value::Object(o)) => {
                reject_unknown(o, crate::scope::SCOPE_FIELDS, "scope.", &mut errors);
                crate::scope::parse_scope(o)
                    .map_err(|(field, reason)| push(&mut errors, field, reason))
                    .ok()
            }
            None | Some(Value::Null) => {
                push(&mut errors, "scope", "is required");
                None
            }
            Some(_) => {
                push(&mut errors, "scope", "must be an object");
                None
            }
        };

        let empty = serde_json::Map::new();
        let options = match obj.get("options") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(o)) => o,
            Some(_) => {
                push(&mut errors, "options", "must be an object");
                &empty
            }
        };
        reject_unknown(options, OPTION_FIELDS, "options.", &mut errors);
        let include_sbom = bool_option(options, "include_sbom", false, &mut errors);
        let include_evidence = bool_option(options, "include_evidence", true, &mut errors);
        let filters = crate::filters::parse_filters(options.get("filters"), &mut errors);
        let baseline =
            crate::filters::parse_baseline(options.get("baseline"), scheduled, &mut errors);
        let destinations =
            crate::destination::parse_destination_ids(options.get("destinations"), &mut errors);
        let retention_days = retention_days(options.get("retention_days"), &mut errors);
        let template = match options.get("template") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match TemplateName::parse(s) {
                Some(TemplateName::Custom { tenant: owner }) if owner != tenant => {
                    push(
                        &mut errors,
                        "options.template",
                        format!("custom templates are per tenant; use custom-{tenant}"),
                    );
                    None
                }
                Some(t) => Some(t),
                None => {
                    push(
                        &mut errors,
                        "options.template",
                        format!(
                            "unknown template {s:?}; expected one of {}, custom-{tenant}",
                            one_of(BuiltinTemplate::ALL)
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                push(&mut errors, "options.template", "must be a string");
                None
            }
        };

        if let (Some(t), Some(f)) = (export_type, format)
            && !t.allows(f)
        {
            push(
                &mut errors,
                "format",
                format!("a {t} export cannot be produced as {f}"),
            );
        }

        match (export_type, format, scope) {
            (Some(export_type), Some(format), Some(scope)) if errors.details.is_empty() => {
                Ok(ExportRequest {
                    export_type,
                    format,
                    scope,
                    options: ExportOptions {
                        include_sbom,
                        include_evidence,
                        filters,
                        baseline,
                        destinations,
                        retention_days,
                    },
                    template: template
                        .unwrap_or(TemplateName::Builtin(export_type.default_template(format))),
                })
            }
            _ => {
                if let [only] = errors.details.as_slice() {
                    errors.message = format!("invalid {}: {}", only.field, only.reason);
                }
                Err(errors)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(v: Value) -> ExportRequest {
        ExportRequest::from_json(&v, "acme").expect("valid request")
    }

    fn fields(v: Value) -> Vec<String> {
        let e = ExportRequest::from_json(&v, "acme").expect_err("invalid request");
        assert_eq!(e.code, ErrorCode::ExportValidation);
        e.details.into_iter().map(|d| d.field).collect()
    }

    #[test]
    fn seed_request_is_valid() {
        let r = ok(json!({"type":"scan_report","format":"pdf",
            "scope":{"scan_ids":["scan-b","scan-a","scan-b"],"date_range":null},
            "options":{"include_sbom":true,"include_evidence":true,"template":"compliance-executive"}}));
        assert_eq!(
            r.scope,
            Scope::ScanIds(vec!["scan-a".parse().unwrap(), "scan-b".parse().unwrap()])
        );
        assert_eq!(
            r.template,
            TemplateName::Builtin(BuiltinTemplate::ComplianceExecutive)
        );
        assert!(r.options.include_sbom);
    }

    #[test]
    fn defaults_fill_template_and_options() {
        let r = ok(json!({"type":"scan_report","format":"sarif","scope":{"scan_ids":["scan-a"]}}));
        assert_eq!(
            r.template,
            TemplateName::Builtin(BuiltinTemplate::DeveloperSarif)
        );
        assert!(r.options.include_evidence);
        assert!(!r.options.include_sbom);
    }

    #[test]
    fn every_problem_is_listed() {
        let f = fields(
            json!({"type":"nope","format":"docx","scope":{},"options":{"template":"x","extra":1},"zzz":1}),
        );
        for want in [
            "type",
            "format",
            "scope",
            "options.template",
            "options.extra",
            "zzz",
        ] {
            assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
        }
    }

    #[test]
    fn scope_rules() {
        let base = |scope: Value| json!({"type":"scan_report","format":"json","scope":scope});
        assert_eq!(
            fields(base(
                json!({"scan_ids":["a"],"date_range":{"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}})
            )),
            ["scope"]
        );
        assert_eq!(fields(base(json!({"scan_ids":[]}))), ["scope.scan_ids"]);
        let many: Vec<String> = (0..1001).map(|i| format!("scan-{i}")).collect();
        assert_eq!(
            fields(base(json!({ "scan_ids": many }))),
            ["scope.scan_ids"]
        );
        assert_eq!(
            fields(base(json!({"scan_ids":["../etc"]}))),
            ["scope.scan_ids[0]"]
        );
        assert_eq!(
            fields(base(
                json!({"date_range":{"from":"2024-02-01T00:00:00Z","to":"2024-01-01T00:00:00Z"}})
            )),
            ["scope.date_range"]
        );
        let r = ok(base(
            json!({"date_range":{"from":"2024-01-01T00:00:00Z","to":"2024-02-01T00:00:00+01:00"}}),
        ));
        assert!(matches!(r.scope, Scope::DateRange(_)));
    }

    #[test]
    fn pairs_and_custom_templates() {
        assert_eq!(
            fields(json!({"type":"sbom","format":"sarif","scope":{"scan_ids":["a"]}})),
            ["format"]
        );
        assert_eq!(
            fields(json!({"type":"audit_bundle","format":"csv","scope":{"scan_ids":["a"]}})),
            ["format"]
        );
        let r = ok(
            json!({"type":"scan_report","format":"json","scope":{"scan_ids":["a"]},"options":{"template":"custom-acme"}}),
        );
        assert_eq!(
            r.template,
            TemplateName::Custom {
                tenant: "acme".into()
            }
        );
        assert_eq!(
            fields(
                json!({"type":"scan_report","format":"json","scope":{"scan_ids":["a"]},"options":{"template":"custom-globex"}})
            ),
            ["options.template"]
        );
    }

    #[test]
    fn request_round_trips_through_serde() {
        let r = ok(
            json!({"type":"vex","format":"csv","scope":{"date_range":{"from":"2024-01-01T00:00:00Z","to":"2024-01-02T00:00:00Z"}}}),
        );
        let back: ExportRequest =
            serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    /// Found by tests/props.rs: the job table stored a date range cut to whole seconds, so
    /// the export ran over another range than the one accepted (`to` 23:59:59.999 became
    /// 23:59:59).
    #[test]
    fn a_date_range_with_fractional_seconds_is_stored_exactly() {
        let r = ok(
            json!({"type":"sbom","format":"cyclonedx","scope":{"date_range":
            {"from":"2024-01-01T00:00:00.25Z","to":"2024-12-31T23:59:59.999+02:00"}}}),
        );
        let back: ExportRequest =
            serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn retention_days_is_a_bounded_whole_number() {
        let with = |days: Value| {
            json!({"type":"scan_report","format":"json","scope":{"scan_ids":["a"]},
                   "options":{"retention_days": days}})
        };
        assert_eq!(ok(with(json!(400))).options.retention_days, Some(400));
        assert_eq!(ok(with(Value::Null)).options.retention_days, None);
        for bad in [json!(0), json!(-1), json!(1.5), json!("30"), json!(36_501)] {
            assert_eq!(
                fields(with(bad.clone())),
                ["options.retention_days"],
                "{bad}"
            );
        }
    }
}
