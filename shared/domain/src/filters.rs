//! What an export keeps (`options.filters`) and what it is compared with
//! (`options.baseline`): parsed with field-level errors like the rest of the request, kept
//! on the job as given, applied once by the render view so every format shows the same rows.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorDetail};
use crate::id_types::ScanId;
use crate::scan::{Finding, Severity};
use crate::wire::string_enum;

/// At most this many patterns per glob list, and this long each.
pub const MAX_PATTERNS: usize = 100;
pub const MAX_PATTERN_LEN: usize = 256;

/// `options.filters`. Every field has a default that keeps everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Keep findings at this severity or worse (an unknown severity is rated by the
    /// finding's best CVSS score, as the policy does).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Keep only findings the scanner names a fixed version for.
    #[serde(default)]
    pub fixable_only: bool,
    /// Keep findings a VEX statement suppresses (listed, marked). Default true.
    #[serde(default = "keep")]
    pub include_suppressed: bool,
    /// Globs over the package name or purl (`openssl*`, `pkg:npm/*`).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Globs over the scanned artifact's name (`registry.example/*`).
    #[serde(default)]
    pub artifacts: Vec<String>,
}

fn keep() -> bool {
    true
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            min_severity: None,
            fixable_only: false,
            include_suppressed: true,
            packages: Vec::new(),
            artifacts: Vec::new(),
        }
    }
}

impl Filters {
    /// True when the filters keep every finding.
    pub fn is_none(&self) -> bool {
        *self == Filters::default()
    }

    /// One line for a report's header: `none`, or each active filter.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.min_severity {
            parts.push(format!("severity {s} or worse"));
        }
        if self.fixable_only {
            parts.push("fixable only".to_string());
        }
        if !self.include_suppressed {
            parts.push("VEX-suppressed left out".to_string());
        }
        if !self.packages.is_empty() {
            parts.push(format!("packages {}", self.packages.join(", ")));
        }
        if !self.artifacts.is_empty() {
            parts.push(format!("artifacts {}", self.artifacts.join(", ")));
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join("; ")
        }
    }

    /// The compiled filters. Patterns were checked when the request was parsed; one that
    /// no longer compiles (a job stored by another version) matches nothing.
    pub fn matcher(&self) -> FilterMatcher {
        FilterMatcher {
            min_severity: self.min_severity,
            fixable_only: self.fixable_only,
            include_suppressed: self.include_suppressed,
            packages: globs(&self.packages),
            artifacts: globs(&self.artifacts),
        }
    }
}

fn globs(patterns: &[String]) -> Option<GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        if let Ok(g) = Glob::new(p) {
            b.add(g);
        }
    }
    Some(b.build().unwrap_or_else(|_| GlobSet::empty()))
}

/// [`Filters`] ready to apply.
pub struct FilterMatcher {
    min_severity: Option<Severity>,
    fixable_only: bool,
    include_suppressed: bool,
    packages: Option<GlobSet>,
    artifacts: Option<GlobSet>,
}

impl FilterMatcher {
    /// Whether the artifact's findings can be kept at all.
    pub fn keeps_artifact(&self, artifact: &str) -> bool {
        self.artifacts.as_ref().is_none_or(|g| g.is_match(artifact))
    }

    /// Whether a component of a kept artifact is listed (the package globs only).
    pub fn keeps_component(&self, c: &crate::scan::Component) -> bool {
        self.packages
            .as_ref()
            .is_none_or(|g| g.is_match(&c.name) || c.purl.as_deref().is_some_and(|p| g.is_match(p)))
    }

    /// Whether a baseline finding would have been kept (severity, fix and package; a
    /// baseline keeps no VEX state, so suppression does not apply).
    pub fn keeps_baseline(&self, b: &crate::snapshot::BaselineFinding) -> bool {
        let mut f = Finding::new(
            &b.vulnerability_id,
            &b.package,
            &b.installed_version,
            b.severity,
        );
        f.fixed_version = b.fixed_version.clone();
        self.keeps(&f, false)
    }

    /// Whether a finding of a kept artifact is kept.
    pub fn keeps(&self, f: &Finding, suppressed: bool) -> bool {
        if suppressed && !self.include_suppressed {
            return false;
        }
        if self.fixable_only && f.fixed_version.as_deref().is_none_or(str::is_empty) {
            return false;
        }
        if let Some(min) = self.min_severity
            && crate::policy::rank(f.effective_severity()) < crate::policy::rank(min)
        {
            return false;
        }
        self.packages.as_ref().is_none_or(|g| {
            g.is_match(&f.package) || f.purl.as_deref().is_some_and(|p| g.is_match(p))
        })
    }
}

string_enum!(
    /// The baseline a schedule names without scan ids.
    BaselineKeyword { PreviousRun = "previous_run" }
);

/// `options.baseline`: the scans a report is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Baseline {
    Scans { scan_ids: Vec<ScanId> },
    Keyword(BaselineKeyword),
}

string_enum!(
    /// A finding compared with the baseline.
    Delta { New = "new", Unchanged = "unchanged", Fixed = "fixed" }
);

/// What makes two findings the same across scans: the vulnerability and the package name
/// (not the version, which a fix changes, nor the artifact's tag, which a rebuild changes).
pub fn delta_key(f: &Finding) -> (String, String) {
    (f.vulnerability_id.to_ascii_uppercase(), f.package.clone())
}

fn detail(errors: &mut ApiError, field: &str, reason: impl Into<String>) {
    errors.details.push(ErrorDetail::new(field, reason));
}

const FILTER_FIELDS: &[&str] = &[
    "min_severity",
    "fixable_only",
    "include_suppressed",
    "packages",
    "artifacts",
];

/// Reads `options.filters`; every problem goes into `errors`.
pub(crate) fn parse_filters(v: Option<&Value>, errors: &mut ApiError) -> Filters {
    let mut f = Filters::default();
    let obj = match v {
        None | Some(Value::Null) => return f,
        Some(Value::Object(o)) => o,
        Some(_) => {
            detail(errors, "options.filters", "must be an object");
            return f;
        }
    };
    for key in obj.keys().filter(|k| !FILTER_FIELDS.contains(&k.as_str())) {
        detail(
            errors,
            &format!("options.filters.{key}"),
            format!(
                "unknown field; expected one of {}",
                FILTER_FIELDS.join(", ")
            ),
        );
    }
    match obj.get("min_severity") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match Severity::parse(s).filter(|s| *s != Severity::Unknown) {
            Some(s) => f.min_severity = Some(s),
            None => detail(
                errors,
                "options.filters.min_severity",
                format!(
                    "unknown severity {s:?}; expected critical, high, medium, low or negligible"
                ),
            ),
        },
        Some(_) => detail(errors, "options.filters.min_severity", "must be a string"),
    }
    for (field, slot) in [
        ("fixable_only", &mut f.fixable_only),
        ("include_suppressed", &mut f.include_suppressed),
    ] {
        match obj.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => *slot = *b,
            Some(_) => detail(
                errors,
                &format!("options.filters.{field}"),
                "must be a boolean",
            ),
        }
    }
    f.packages = patterns(obj.get("packages"), "packages", errors);
    f.artifacts = patterns(obj.get("artifacts"), "artifacts", errors);
    f
}

fn patterns(v: Option<&Value>, name: &str, errors: &mut ApiError) -> Vec<String> {
    let field = format!("options.filters.{name}");
    let items = match v {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_PATTERNS => items,
        Some(Value::Array(_)) => {
            detail(errors, &field, format!("at most {MAX_PATTERNS} patterns"));
            return Vec::new();
        }
        Some(_) => {
            detail(errors, &field, "must be an array of glob patterns");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match item.as_str() {
            Some(p) if p.is_empty() || p.len() > MAX_PATTERN_LEN => detail(
                errors,
                &at,
                format!("a pattern has 1 to {MAX_PATTERN_LEN} characters"),
            ),
            Some(p) => match Glob::new(p) {
                Ok(_) => out.push(p.to_string()),
                Err(e) => detail(errors, &at, format!("not a glob pattern: {}", e.kind())),
            },
            None => detail(errors, &at, "must be a string"),
        }
    }
    out
}

/// Reads `options.baseline`. `previous_run` is only meaningful for a schedule's runs
/// (`scheduled` says whether this request is one).
pub(crate) fn parse_baseline(
    v: Option<&Value>,
    scheduled: bool,
    errors: &mut ApiError,
) -> Option<Baseline> {
    let field = "options.baseline";
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if BaselineKeyword::parse(s).is_some() => {
            if scheduled {
                Some(Baseline::Keyword(BaselineKeyword::PreviousRun))
            } else {
                detail(
                    errors,
                    field,
                    "previous_run is for schedules; give scan_ids",
                );
                None
            }
        }
        Some(Value::Object(o)) => {
            if let Some(k) = o.keys().find(|k| k.as_str() != "scan_ids") {
                detail(
                    errors,
                    &format!("{field}.{k}"),
                    "unknown field; expected scan_ids",
                );
            }
            let Some(Value::Array(items)) = o.get("scan_ids") else {
                detail(
                    errors,
                    &format!("{field}.scan_ids"),
                    "must be an array of scan ids",
                );
                return None;
            };
            if items.is_empty() || items.len() > crate::request::MAX_SCAN_IDS {
                detail(
                    errors,
                    &format!("{field}.scan_ids"),
                    format!("must hold 1 to {} scan ids", crate::request::MAX_SCAN_IDS),
                );
                return None;
            }
            let mut ids = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(ScanId::parse) {
                    Some(Ok(id)) => ids.push(id),
                    _ => detail(
                        errors,
                        &format!("{field}.scan_ids[{i}]"),
                        "not a valid scan id",
                    ),
                }
            }
            ids.sort();
            ids.dedup();
            Some(Baseline::Scans { scan_ids: ids })
        }
        Some(_) => {
            detail(
                errors,
                field,
                "must be {\"scan_ids\": [...]} or \"previous_run\"",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(pkg: &str, sev: Severity, fixed: Option<&str>) -> Finding {
        let mut f = Finding::new("CVE-2024-1", pkg, "1.0", sev);
        f.fixed_version = fixed.map(str::to_string);
        f.purl = Some(format!("pkg:deb/debian/{pkg}@1.0"));
        f
    }

    fn parse(v: Value) -> (Filters, Vec<String>) {
        let mut e = ApiError::validation("x", "y");
        e.details.clear();
        let f = parse_filters(Some(&v), &mut e);
        (f, e.details.into_iter().map(|d| d.field).collect())
    }

    #[test]
    fn filters_keep_what_they_name() {
        let (f, errs) = parse(json!({"min_severity": "high", "fixable_only": true,
            "include_suppressed": false, "packages": ["openssl*", "pkg:deb/*/zlib*"],
            "artifacts": ["registry.example/*"]}));
        assert!(errs.is_empty(), "{errs:?}");
        let m = f.matcher();
        assert!(m.keeps(&finding("openssl", Severity::Critical, Some("1.1")), false));
        assert!(m.keeps(&finding("zlib1g", Severity::High, Some("1.1")), false));
        assert!(!m.keeps(&finding("openssl", Severity::Critical, Some("1.1")), true));
        assert!(!m.keeps(&finding("openssl", Severity::Medium, Some("1.1")), false));
        assert!(!m.keeps(&finding("openssl", Severity::High, None), false));
        assert!(!m.keeps(&finding("bash", Severity::High, Some("2")), false));
        assert!(m.keeps_artifact("registry.example/team/app:1.0"));
        assert!(!m.keeps_artifact("docker.io/library/alpine:3.18"));
        // An unknown severity is rated by its best CVSS.
        let mut unknown = finding("openssl", Severity::Unknown, Some("1.1"));
        assert!(!m.keeps(&unknown, false));
        unknown.cvss.push(crate::scan::Cvss {
            source: "nvd".into(),
            version: "3.1".into(),
            vector: None,
            score: Some(7.5),
        });
        assert!(m.keeps(&unknown, false));
        assert_eq!(
            f.describe(),
            "severity high or worse; fixable only; VEX-suppressed left out; packages openssl*, pkg:deb/*/zlib*; artifacts registry.example/*"
        );
        assert_eq!(Filters::default().describe(), "none");
    }

    #[test]
    fn bad_filters_name_their_field() {
        let (_, errs) = parse(json!({"min_severity": "unknown", "fixable_only": "yes",
            "packages": ["a[", 3], "artifacts": "x", "colour": 1}));
        assert_eq!(
            errs,
            [
                "options.filters.colour",
                "options.filters.min_severity",
                "options.filters.fixable_only",
                "options.filters.packages[0]",
                "options.filters.packages[1]",
                "options.filters.artifacts"
            ]
        );
    }

    #[test]
    fn baselines() {
        let mut e = ApiError::validation("x", "y");
        e.details.clear();
        let b = parse_baseline(
            Some(&json!({"scan_ids": ["scan-b", "scan-a"]})),
            false,
            &mut e,
        );
        assert_eq!(
            b,
            Some(Baseline::Scans {
                scan_ids: vec!["scan-a".parse().unwrap(), "scan-b".parse().unwrap()]
            })
        );
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            json!({"scan_ids": ["scan-a", "scan-b"]})
        );
        let p = parse_baseline(Some(&json!("previous_run")), true, &mut e);
        assert_eq!(serde_json::to_value(&p).unwrap(), json!("previous_run"));
        let back: Baseline = serde_json::from_value(json!("previous_run")).unwrap();
        assert_eq!(Some(back), p);
        assert!(e.details.is_empty());
        for bad in [json!("previous_run"), json!({"scan_ids": []}), json!(5)] {
            parse_baseline(Some(&bad), false, &mut e);
        }
        assert_eq!(e.details.len(), 3);
    }
}
