//! Bucket delivery (the `s3` destination): where in the tenant's bucket each file goes.
//! A ready export writes its report, its sealed bundle and the event that announced it
//! under `{prefix}{export_id}/`, each under the file name it has in our store; a failed
//! export writes only its event; a test message writes `{prefix}exportcenter-test.json`.
//! The event is written last, so a consumer that watches for it finds the files there.

use ec_domain::Job;
use ec_domain::ports::{BucketObject, BucketTarget};

use crate::outbound::Announcement;

/// The key of a test message's object under `prefix`.
pub fn test_key(prefix: &str) -> String {
    format!("{prefix}exportcenter-test.json")
}

/// The key of `file` of `job` under `prefix`.
pub fn key(prefix: &str, job: &Job, file: &str) -> String {
    format!("{prefix}{}/{file}", job.export_id)
}

/// The file name an artifact keeps: the last segment of its store key.
pub fn file_name(store_key: &str) -> &str {
    store_key.rsplit('/').next().unwrap_or(store_key)
}

/// The event's object: the announcement as a webhook carries it.
pub fn event_object(key: String, a: &Announcement) -> BucketObject {
    BucketObject {
        key,
        content_type: "application/json".into(),
        body: a.event_json().into(),
    }
}

/// The target of a destination's config, the session named after the destination.
pub fn target(
    bucket: &str,
    role_arn: Option<&String>,
    external_id: Option<&String>,
    destination_id: &str,
) -> BucketTarget {
    BucketTarget {
        bucket: bucket.to_string(),
        role_arn: role_arn.cloned(),
        external_id: external_id.cloned(),
        session_name: format!("exportcenter-{destination_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names() {
        assert_eq!(file_name("t/acme/exp-1/report.json"), "report.json");
        assert_eq!(file_name("report.json"), "report.json");
        assert_eq!(test_key("reports/"), "reports/exportcenter-test.json");
        let t = target("b", None, None, "dst-01");
        assert_eq!(t.session_name, "exportcenter-dst-01");
        assert!(t.session_name.len() <= 64);
    }
}
