//! S3 ObjectCreated notifications, read leniently: delivered directly to Lambda or wrapped
//! in an SQS message body, with or without the fields emulators leave out (`userIdentity`,
//! `requestParameters`, ...). Keys arrive URL-encoded (`+` for space, `%2F`, `%2B`) and are
//! always decoded.

use ec_domain::messages::ObjectCreated;
use serde_json::Value;

/// Decodes an S3 event key: `+` is a space, then percent-decoding.
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Every ObjectCreated record of an S3 event document. Test events (`s3:TestEvent`) and
/// other event kinds give nothing.
pub fn object_created(event: &Value) -> Vec<ObjectCreated> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        return Vec::new();
    };
    records
        .iter()
        .filter(|r| {
            r.get("eventName")
                .and_then(Value::as_str)
                .is_none_or(|n| n.starts_with("ObjectCreated"))
        })
        .filter_map(|r| {
            let object = r.get("s3")?.get("object")?;
            let key = decode_key(object.get("key")?.as_str()?);
            let size = object.get("size").and_then(Value::as_u64).unwrap_or(0);
            Some(ObjectCreated { key, size })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_decoded_and_missing_fields_tolerated() {
        let ev = json!({"Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
             "object": {"key": "reports/acme/exp-1/report.cdx.json", "size": 12}}},
            {"eventName": "ObjectCreated:CompleteMultipartUpload",
             "s3": {"object": {"key": "reports%2Facme%2Fexp-2%2Freport+x%2B1.json"}}},
            {"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "x"}}}
        ]});
        let got = object_created(&ev);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].key, "reports/acme/exp-1/report.cdx.json");
        assert_eq!(got[0].size, 12);
        assert_eq!(got[1].key, "reports/acme/exp-2/report x+1.json");
        assert!(object_created(&json!({"Event": "s3:TestEvent"})).is_empty());
    }
}
