//! The names reports print for a policy decision (the JSON document serialises the same
//! words through serde).

use ec_domain::scan::Decision;

/// `pass`, `warn` or `fail`.
pub(crate) fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Pass => "pass",
        Decision::Warn => "warn",
        Decision::Fail => "fail",
    }
}
