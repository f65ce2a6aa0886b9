//! Shared helpers: attribute values, item decoding, sort keys, clocks and paging. SDK errors
//! are mapped by [`crate::sdk_error`] (re-exported here as `port_error`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use ec_domain::PortError;
use ec_domain::ports::PortResult;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::macros::datetime;

pub(crate) use crate::sdk_error::port_error;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute of a stored item; `Invalid` when absent or of another type.
pub(crate) fn get_s<'a>(item: &'a Item, name: &str, what: &str) -> PortResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(PortError::Invalid(format!(
            "{what}: attribute {name} is not a string"
        ))),
        None => Err(PortError::Invalid(format!(
            "{what}: attribute {name} is missing"
        ))),
    }
}

/// A number attribute of a stored item, as an i64; `Invalid` when absent or unreadable.
pub(crate) fn get_i64(item: &Item, name: &str, what: &str) -> PortResult<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| {
            PortError::Invalid(format!(
                "{what}: attribute {name} = {v:?} is not an integer"
            ))
        }),
        Some(_) => Err(PortError::Invalid(format!(
            "{what}: attribute {name} is not a number"
        ))),
        None => Err(PortError::Invalid(format!(
            "{what}: attribute {name} is missing"
        ))),
    }
}

/// The record stored in `doc`; `Invalid` when missing or not the expected JSON.
pub(crate) fn read_doc<T: DeserializeOwned>(item: &Item, what: &str) -> PortResult<T> {
    let doc = get_s(item, "doc", what)?;
    serde_json::from_str(doc)
        .map_err(|e| PortError::Invalid(format!("{what}: stored document is unreadable: {e}")))
}

pub(crate) fn write_doc<T: Serialize>(v: &T, what: &str) -> PortResult<AttributeValue> {
    serde_json::to_string(v)
        .map(AttributeValue::S)
        .map_err(|e| PortError::Invalid(format!("{what}: not serialisable: {e}")))
}

/// A sort key that orders by time, then by id: RFC 3339 in UTC with whole seconds (fixed
/// width, clamped to years 0000-9999 so that it stays fixed width), `#`, the id.
pub(crate) fn time_key(t: OffsetDateTime, id: &str) -> String {
    format!("{}#{id}", time_prefix(t))
}

/// The time part of [`time_key`].
pub(crate) fn time_prefix(t: OffsetDateTime) -> String {
    let lo = datetime!(0000-01-01 0:00 UTC);
    let hi = datetime!(9999-12-31 23:59:59 UTC);
    ec_domain::time::rfc3339(t.clamp(lo, hi))
}

/// Now, in milliseconds since the unix epoch.
pub(crate) fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// `now + ttl` in milliseconds, saturating.
pub(crate) fn after_ms(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds to the epoch seconds of a TTL attribute, rounded up (never early).
pub(crate) fn ttl_seconds(ms: i64) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// A `Limit` for one query page: what is still wanted, within DynamoDB's i32.
pub(crate) fn page_limit(wanted: usize) -> i32 {
    i32::try_from(wanted.max(1)).unwrap_or(i32::MAX)
}

/// A Query or Scan, ready to send for one page.
pub(crate) trait PageRequest {
    /// The page's items and the key the next page starts from (`None` after the last);
    /// `what` names the request in errors.
    async fn page(self, what: &str) -> PortResult<(Vec<Item>, Option<Item>)>;
}

macro_rules! page_request {
    ($($builder:ty),*) => {$(
        impl PageRequest for $builder {
            async fn page(self, what: &str) -> PortResult<(Vec<Item>, Option<Item>)> {
                let out = self.send().await.map_err(|e| port_error(what, e))?;
                let next = out.last_evaluated_key.filter(|k| !k.is_empty());
                Ok((out.items.unwrap_or_default(), next))
            }
        }
    )*};
}

page_request!(QueryFluentBuilder, ScanFluentBuilder);

/// Items of successive pages until `wanted` are in or the pages run out. `request` builds
/// each page's request from the key to start at (the previous page's `LastEvaluatedKey`)
/// and how many items are still missing; items beyond `wanted` are dropped.
pub(crate) async fn read_pages<R: PageRequest>(
    wanted: usize,
    what: &str,
    mut request: impl FnMut(Option<Item>, usize) -> R,
) -> PortResult<Vec<Item>> {
    let mut found = Vec::new();
    let mut start = None;
    while found.len() < wanted {
        let missing = wanted - found.len();
        let (items, next) = request(start.take(), missing).page(what).await?;
        found.extend(items.into_iter().take(missing));
        match next {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up() {
        assert_eq!(ttl_seconds(1_000), 1);
        assert_eq!(ttl_seconds(1_001), 2);
        assert_eq!(ttl_seconds(1_999), 2);
        assert_eq!(ttl_seconds(0), 0);
    }

    #[test]
    fn time_keys_sort_by_time_then_id() {
        let t = OffsetDateTime::from_unix_timestamp(1_735_000_000).unwrap();
        assert_eq!(time_key(t, "x"), "2024-12-24T00:26:40Z#x");
        assert!(time_key(t, "b") > time_key(t, "a"));
        assert!(time_key(t + time::Duration::seconds(1), "a") > time_key(t, "zzz"));
        // Years RFC 3339 cannot write are clamped, keeping the key fixed-width.
        let ancient = OffsetDateTime::from_unix_timestamp(-70_000_000_000).unwrap();
        assert_eq!(time_prefix(ancient), "0000-01-01T00:00:00Z");
        let last = OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap();
        assert_eq!(time_prefix(last), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn items_decode_without_panics() {
        let mut item = Item::new();
        item.insert("a".into(), n(5));
        item.insert("b".into(), s("x"));
        item.insert("doc".into(), s("{not json"));
        assert_eq!(get_i64(&item, "a", "t").unwrap(), 5);
        assert!(matches!(
            get_i64(&item, "b", "t"),
            Err(PortError::Invalid(_))
        ));
        assert!(matches!(get_s(&item, "a", "t"), Err(PortError::Invalid(_))));
        assert!(matches!(get_s(&item, "z", "t"), Err(PortError::Invalid(_))));
        assert!(matches!(
            read_doc::<serde_json::Value>(&item, "t"),
            Err(PortError::Invalid(_))
        ));
    }
}
