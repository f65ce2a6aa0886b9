//! An export's scope: the scans it covers, named by id, by a date range, or by a window
//! relative to when the export runs (`scope.relative: {"last": "P7D"}`). A relative window
//! is resolved once, when the job is made — against a scheduled run's slot time, or a
//! one-off export's creation time — and the job records the range it resolved to, so a
//! retried stage, a re-render and a later `previous_run` baseline all see the same scans.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::id_types::ScanId;
use crate::ids::is_safe_id;
use crate::request::MAX_SCAN_IDS;

/// The fields `scope` may hold.
pub(crate) const SCOPE_FIELDS: &[&str] = &["scan_ids", "date_range", "relative"];

/// The longest relative window: ten years of days.
pub const MAX_WINDOW_DAYS: i64 = 3660;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    #[serde(with = "crate::time::serde_rfc3339_exact")]
    pub from: OffsetDateTime,
    #[serde(with = "crate::time::serde_rfc3339_exact")]
    pub to: OffsetDateTime,
}

/// An ISO 8601 duration of weeks, days, hours, minutes and seconds (`P7D`, `P2W`,
/// `PT36H`, `P1DT12H`). Years and months are refused: their length depends on the
/// calendar, and a report window should not. Kept as written, for the job to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsoDuration {
    text: String,
    length: Duration,
}

impl IsoDuration {
    /// Parses `text`, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<IsoDuration, String> {
        let bad = || format!("{text:?} is not an ISO 8601 duration such as P7D, P2W or PT36H");
        let rest = text.strip_prefix('P').ok_or_else(bad)?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) if !t.is_empty() => (d, Some(t)),
            Some(_) => return Err(bad()),
            None => (rest, None),
        };
        let mut seconds: i64 = 0;
        let mut any = false;
        for (part, units) in [
            (
                date,
                &[('Y', 0), ('M', 0), ('W', 604_800), ('D', 86_400)][..],
            ),
            (time.unwrap_or(""), &[('H', 3_600), ('M', 60), ('S', 1)][..]),
        ] {
            let mut number = String::new();
            let mut next_unit = 0;
            for c in part.chars() {
                if c.is_ascii_digit() {
                    number.push(c);
                    continue;
                }
                let at = units[next_unit..]
                    .iter()
                    .position(|(u, _)| *u == c)
                    .ok_or_else(bad)?;
                let (unit, factor) = units[next_unit + at];
                next_unit += at + 1;
                if number.is_empty() {
                    return Err(bad());
                }
                if factor == 0 {
                    let what = if unit == 'Y' { "years" } else { "months" };
                    return Err(format!(
                        "{text:?}: {what} have no fixed length; give days or weeks (P30D, P4W)"
                    ));
                }
                let n: i64 = number.parse().map_err(|_| bad())?;
                seconds = n
                    .checked_mul(factor)
                    .and_then(|s| s.checked_add(seconds))
                    .ok_or_else(bad)?;
                number.clear();
                any = true;
            }
            if !number.is_empty() {
                return Err(bad());
            }
        }
        if !any {
            return Err(bad());
        }
        if seconds == 0 {
            return Err(format!(
                "{text:?} is empty: a window must be longer than zero"
            ));
        }
        if seconds > MAX_WINDOW_DAYS * 86_400 {
            return Err(format!(
                "{text:?} is longer than the longest window, P{MAX_WINDOW_DAYS}D"
            ));
        }
        Ok(IsoDuration {
            text: text.to_string(),
            length: Duration::seconds(seconds),
        })
    }

    pub fn length(&self) -> Duration {
        self.length
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for IsoDuration {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        IsoDuration::parse(&s)
    }
}

impl From<IsoDuration> for String {
    fn from(d: IsoDuration) -> String {
        d.text
    }
}

/// `scope.relative`: the scans of the last `last` before the run, and, once the job is
/// made, the range that resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelativeWindow {
    pub last: IsoDuration,
    /// `[anchor - last, anchor]`, set when the job is made (never by a client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<DateRange>,
}

/// Exactly one of the three scopes of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    ScanIds(Vec<ScanId>),
    DateRange(DateRange),
    Relative(RelativeWindow),
}

impl Scope {
    /// This scope with a relative window resolved against `anchor` (a scheduled run's slot
    /// time, a one-off export's creation time). A window already resolved keeps its range.
    pub fn resolved_at(self, anchor: OffsetDateTime) -> Scope {
        match self {
            Scope::Relative(RelativeWindow {
                last,
                resolved: None,
            }) => {
                let range = DateRange {
                    from: anchor - last.length(),
                    to: anchor,
                };
                Scope::Relative(RelativeWindow {
                    last,
                    resolved: Some(range),
                })
            }
            other => other,
        }
    }

    /// This scope as the client asked for it: a relative window without its resolution
    /// (what an idempotency key's request hash covers, so a retry later is the same request).
    pub fn as_requested(&self) -> Scope {
        match self {
            Scope::Relative(w) => Scope::Relative(RelativeWindow {
                last: w.last.clone(),
                resolved: None,
            }),
            other => other.clone(),
        }
    }

    /// The time range that selects the scans: a date range, or a resolved window. `None`
    /// for scan ids and for a window not resolved yet (a schedule's stored request).
    pub fn range(&self) -> Option<&DateRange> {
        match self {
            Scope::DateRange(r) => Some(r),
            Scope::Relative(w) => w.resolved.as_ref(),
            Scope::ScanIds(_) => None,
        }
    }
}

/// The scope, or the field at fault and why.
pub(crate) fn parse_scope(obj: &serde_json::Map<String, Value>) -> Result<Scope, (String, String)> {
    let fail = |field: &str, reason: &str| Err((field.to_string(), reason.to_string()));
    let given = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let one = "give exactly one of scan_ids, date_range or relative";
    match (given("scan_ids"), given("date_range"), given("relative")) {
        (Some(ids), None, None) => parse_ids(ids),
        (None, Some(range), None) => parse_range(range),
        (None, None, Some(relative)) => parse_relative(relative),
        (None, None, None) => fail("scope", one),
        _ => fail("scope", &format!("{one}, not several")),
    }
}

fn parse_ids(ids: &Value) -> Result<Scope, (String, String)> {
    let fail = |field: &str, reason: &str| Err((field.to_string(), reason.to_string()));
    let Value::Array(items) = ids else {
        return fail("scope.scan_ids", "must be an array of scan ids");
    };
    if items.is_empty() || items.len() > MAX_SCAN_IDS {
        let reason = format!(
            "must hold 1 to {MAX_SCAN_IDS} scan ids, got {}",
            items.len()
        );
        return fail("scope.scan_ids", &reason);
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str().filter(|s| is_safe_id(s)).map(ScanId::parse) {
            Some(Ok(id)) => out.push(id),
            _ => return fail(&format!("scope.scan_ids[{i}]"), "not a valid scan id"),
        }
    }
    // Order is free; a stable order keeps the rendered artifact deterministic.
    out.sort();
    out.dedup();
    Ok(Scope::ScanIds(out))
}

fn parse_range(range: &Value) -> Result<Scope, (String, String)> {
    let fail = |reason: &str| Err(("scope.date_range".to_string(), reason.to_string()));
    let Value::Object(r) = range else {
        return fail("must be an object with from and to");
    };
    let ts = |k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .and_then(crate::time::parse_rfc3339)
    };
    match (ts("from"), ts("to")) {
        (Some(from), Some(to)) if from <= to => Ok(Scope::DateRange(DateRange { from, to })),
        (Some(_), Some(_)) => fail("from must not be after to"),
        _ => fail("from and to must both be RFC 3339 timestamps"),
    }
}

fn parse_relative(relative: &Value) -> Result<Scope, (String, String)> {
    let fail = |field: &str, reason: &str| Err((field.to_string(), reason.to_string()));
    let Value::Object(r) = relative else {
        return fail(
            "scope.relative",
            "must be an object such as {\"last\": \"P7D\"}",
        );
    };
    if let Some(key) = r.keys().find(|k| k.as_str() != "last") {
        return fail(
            &format!("scope.relative.{key}"),
            "unknown field; expected last",
        );
    }
    match r.get("last") {
        Some(Value::String(s)) => match IsoDuration::parse(s) {
            Ok(last) => Ok(Scope::Relative(RelativeWindow {
                last,
                resolved: None,
            })),
            Err(reason) => fail("scope.relative.last", &reason),
        },
        None | Some(Value::Null) => fail("scope.relative.last", "is required"),
        Some(_) => fail(
            "scope.relative.last",
            "must be an ISO 8601 duration string such as P7D",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Scope, (String, String)> {
        parse_scope(v.as_object().unwrap())
    }

    #[test]
    fn durations() {
        for (text, secs) in [
            ("P7D", 7 * 86_400),
            ("P2W", 14 * 86_400),
            ("PT36H", 36 * 3_600),
            ("P1DT12H", 36 * 3_600),
            ("PT90M", 5_400),
            ("PT1H30M15S", 5_415),
            ("P1W2D", 9 * 86_400),
        ] {
            let d = IsoDuration::parse(text).unwrap();
            assert_eq!(d.length(), Duration::seconds(secs), "{text}");
            assert_eq!(d.as_str(), text);
        }
        for bad in [
            "", "P", "7D", "PT", "P7", "PD", "P7DT", "P1.5D", "P-1D", "P7H", "PT7D", "P1D7W",
            "P0D", "PT0S", "P99999D", "p7d",
        ] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad:?} accepted");
        }
        let e = IsoDuration::parse("P1M").unwrap_err();
        assert!(e.contains("months have no fixed length"), "{e}");
        let e = IsoDuration::parse("P1Y").unwrap_err();
        assert!(e.contains("years"), "{e}");
    }

    #[test]
    fn relative_scopes_parse_resolve_and_round_trip() {
        let s = parse(json!({"relative": {"last": "P7D"}})).unwrap();
        assert_eq!(s.range(), None);
        let anchor = crate::time::parse_rfc3339("2026-12-07T08:00:00Z").unwrap();
        let r = s.clone().resolved_at(anchor);
        let range = r.range().unwrap();
        assert_eq!(crate::time::rfc3339(range.from), "2026-11-30T08:00:00Z");
        assert_eq!(range.to, anchor);
        // Resolving again keeps the first resolution; the request as asked drops it.
        assert_eq!(r.clone().resolved_at(anchor + Duration::days(1)), r);
        assert_eq!(r.as_requested(), s);
        let wire = serde_json::to_value(&r).unwrap();
        assert_eq!(
            wire,
            json!({"relative": {"last": "P7D", "resolved":
                {"from": "2026-11-30T08:00:00Z", "to": "2026-12-07T08:00:00Z"}}})
        );
        assert_eq!(serde_json::from_value::<Scope>(wire).unwrap(), r);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"relative": {"last": "P7D"}})
        );
    }

    #[test]
    fn relative_scope_errors_name_the_field() {
        let field = |v: Value| parse(v).unwrap_err().0;
        assert_eq!(field(json!({"relative": "P7D"})), "scope.relative");
        assert_eq!(field(json!({"relative": {}})), "scope.relative.last");
        assert_eq!(
            field(json!({"relative": {"last": 7}})),
            "scope.relative.last"
        );
        assert_eq!(
            field(json!({"relative": {"last": "P1M"}})),
            "scope.relative.last"
        );
        assert_eq!(
            field(json!({"relative": {"last": "P7D", "resolved": {}}})),
            "scope.relative.resolved"
        );
        assert_eq!(
            field(json!({"relative": {"last": "P7D"}, "scan_ids": ["scan-a"]})),
            "scope"
        );
    }
}
