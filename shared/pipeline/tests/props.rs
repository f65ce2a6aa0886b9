//! Property tests of what `POST /api/v1/schedules` parses before any I/O, in the order
//! `Schedules::create` runs it: the body's bytes through serde_json (as
//! `ec_api::extract::json_value` reads them), `NewSchedule::parse`, `CronSpec::parse` of the
//! cron expression and time zone, its EventBridge form and next run, and
//! `ExportRequest::from_json` of the embedded request. Also the API's small inputs:
//! `Idempotency-Key`, the list query (`status`, `limit`) and `?artifact=`.
//!
//! Seeds are schedule bodies with the cron syntax the README documents (ranges, steps,
//! names, `L`, `#`); `ec_prop_support` mutates the tree and edits the strings. Property: Ok,
//! or the contract's 400/422 with a sentence; never a panic. `PROPTEST_CASES` sets the
//! cases (256 by default).

use ec_domain::schedule::CronSpec;
use ec_domain::{ApiError, ExportRequest};
use ec_pipeline::app::inputs::{
    IdempotencyKey, ListExports, ListExportsQuery, NewSchedule, artifact_kind,
};
use ec_prop_support::{Mutant, Seed, check, edited_strings, mutants};
use proptest::prelude::*;
use serde_json::json;
use time::macros::datetime;

const TENANT: &str = "acme";

fn clean_refusal(what: &str, e: &ApiError) -> Result<(), String> {
    if matches!(e.status(), 400 | 422) && !e.message.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{what}: unclean refusal {e:?}"))
    }
}

const CRONS: &[(&str, &str)] = &[
    ("0 6 * * 1", "Europe/Berlin"),
    ("*/15 * * * *", "UTC"),
    ("30 2 1,15 * *", "America/New_York"),
    ("0 22 * * MON-FRI", "Asia/Kolkata"),
    ("0 9 * JAN,JUL *", "Australia/Lord_Howe"),
    ("5 4 L * *", "Pacific/Chatham"),
    ("0 12 * * 5#2", "UTC"),
    ("0-59/7 0-23/5 * * 0,7", "Etc/GMT+12"),
];

fn schedule_seeds() -> Vec<Seed> {
    CRONS
        .iter()
        .enumerate()
        .map(|(i, (cron, tz))| {
            let request = if i % 2 == 0 {
                json!({"type": "scan_report", "format": "json",
                       "scope": {"scan_ids": ["scan-7f3a9c2e4b1d0a5f"]}})
            } else {
                json!({"type": "vex", "format": "csv",
                       "scope": {"date_range": {"from": "2024-01-01T00:00:00Z",
                                                "to": "2025-01-01T00:00:00Z"}},
                       "options": {"include_evidence": false}})
            };
            Seed::new(
                format!("schedule {cron} {tz}"),
                json!({"cron": cron, "timezone": tz, "request": request}),
            )
        })
        .collect()
}

/// What `Schedules::create` checks before it touches a port, in its order.
fn schedule_is_clean(bytes: &[u8]) -> Result<(), String> {
    let Ok(value) = serde_json::from_slice(bytes) else {
        return Ok(());
    };
    let body = match NewSchedule::parse(&value) {
        Ok(b) => b,
        Err(e) => return clean_refusal("body", &e),
    };
    let spec = match CronSpec::parse(&body.cron, &body.timezone) {
        Ok(s) => s,
        Err(e) => return clean_refusal("cron", &e),
    };
    if let Err(e) = ExportRequest::from_json(&body.request, TENANT) {
        return clean_refusal("request", &e);
    }
    let expression = spec
        .eventbridge_expression()
        .map_err(|e| format!("parsed, but no EventBridge form: {e:?}"))?;
    if !expression.starts_with("cron(") {
        return Err(format!("EventBridge form {expression:?}"));
    }
    // A next run is looked for from now and from the edges of time; none is a 422.
    for at in [
        datetime!(2025-06-01 12:00:00 UTC),
        datetime!(1970-01-01 00:00:00 UTC),
        datetime!(9999-12-31 23:59:00 UTC),
    ] {
        if let Some(next) = spec.next_after(at)
            && next <= at
        {
            return Err(format!("next run {next} is not after {at}"));
        }
    }
    Ok(())
}

#[test]
fn props_schedule_request() {
    for seed in schedule_seeds() {
        let bytes = serde_json::to_vec(&seed.doc).expect("serialise");
        let value = serde_json::from_slice(&bytes).expect("JSON");
        let body = NewSchedule::parse(&value).expect("seed body");
        assert!(
            CronSpec::parse(&body.cron, &body.timezone).is_ok(),
            "{}",
            seed.name
        );
        schedule_is_clean(&bytes).expect("seed");
    }
    check(
        "schedule-request",
        mutants(schedule_seeds()),
        |m: &Mutant| schedule_is_clean(&m.bytes),
    );
}

/// The cron expression and time zone alone, edited character by character: the cron
/// library and the EventBridge translation see far more variants than whole-tree mutation
/// makes.
#[test]
fn props_cron_expression() {
    let crons = CRONS.iter().map(|(c, _)| c.to_string()).collect();
    let zones = CRONS.iter().map(|(_, z)| z.to_string()).collect();
    let strategy = (edited_strings(crons), edited_strings(zones));
    check("cron-expression", strategy, |(cron, tz)| {
        let body = json!({"cron": cron, "timezone": tz,
                          "request": {"type": "scan_report", "format": "json",
                                      "scope": {"scan_ids": ["scan-a"]}}});
        schedule_is_clean(&serde_json::to_vec(&body).map_err(|e| e.to_string())?)
    });
}

/// `Idempotency-Key`, `?status=&limit=` and `?artifact=`: arbitrary and edited strings.
#[test]
fn props_api_inputs() {
    let seeds = ["nightly-1", "ready", "50", "sealed", "report", "schedule:x"]
        .map(str::to_string)
        .to_vec();
    let text = prop_oneof![any::<String>(), edited_strings(seeds)];
    check("api-inputs", text, |s: &String| {
        if let Err(e) = IdempotencyKey::parse(s) {
            clean_refusal("Idempotency-Key", &e)?;
        }
        let q = ListExportsQuery {
            status: Some(s),
            format: Some(s),
            export_type: Some(s),
            limit: Some(s),
        };
        if let Err(e) = ListExports::parse(q, Some(s.clone())) {
            clean_refusal("list query", &e)?;
        }
        if let Err(e) = artifact_kind(Some(s)) {
            clean_refusal("artifact", &e)?;
        }
        Ok(())
    });
}
