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

/// What reports print instead of a verdict for inputs without vulnerability data.
pub(crate) const NOT_ASSESSED: &str = "not assessed";

/// The decision's name, or [`NOT_ASSESSED`] when the scan was not assessed.
pub(crate) fn verdict_name(d: Decision, assessed: bool) -> &'static str {
    if assessed {
        decision_name(d)
    } else {
        NOT_ASSESSED
    }
}
