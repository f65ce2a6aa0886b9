//! The one place that decides what an AWS SDK error means for the ports: every adapter
//! (S3, DynamoDB, SQS, API Gateway Management, EventBridge Scheduler) maps its SDK errors
//! through [`port_error`] or [`classify`], so "worth retrying" cannot drift between
//! services again.
//!
//! | What the SDK reports | [`ErrorClass`] | [`PortError`] from [`port_error`] |
//! |---|---|---|
//! | `ConditionalCheckFailedException` | `ConditionFailed` | `ConditionFailed` |
//! | `NoSuchKey`, `NotFound` (an addressed item is missing) | `NotFound` | `NotFound` |
//! | `GoneException`, HTTP 410 | `Gone` | `Gone` |
//! | timeout, connection failure, throttling and transient codes ([`RETRYABLE_CODES`]), HTTP 429 and 5xx | `Retryable` | `Unavailable` |
//! | anything else: access denied, validation, a missing table, bucket or queue, a request that cannot be built | `Permanent` | `Backend` |
//!
//! A missing *resource* (table, bucket, queue, schedule group: `ResourceNotFoundException`,
//! `NoSuchBucket`, …) is a deployment problem, so it stays `Permanent`; adapters that can
//! treat a particular missing resource as normal (an unknown schedule on delete) pick out
//! that operation's error variant themselves, through [`succeeded`].

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ec_domain::PortError;

/// What an SDK error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A conditional write lost.
    ConditionFailed,
    /// The addressed object or item does not exist.
    NotFound,
    /// The peer is gone for good (a closed WebSocket connection).
    Gone,
    /// Worth retrying later: throttled, overloaded, unreachable or timed out.
    Retryable,
    /// Retrying will not help.
    Permanent,
}

/// How the request failed, before any error code is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request could not even be built.
    Construction,
    /// No answer in time.
    Timeout,
    /// The request could not be sent or the connection broke.
    Dispatch,
    /// An answer came back (possibly unparseable).
    Response,
}

/// Error codes that mean "slow down" or "try again later", whatever the HTTP status: the
/// union of what the S3/SQS/Scheduler mapper and the DynamoDB mapper used to list, plus the
/// throttling and transient codes of the SDK's own standard retry classifier.
pub const RETRYABLE_CODES: &[&str] = &[
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Codes of an addressed object or item that does not exist.
const NOT_FOUND_CODES: &[&str] = &["NoSuchKey", "NotFound"];

/// The classification itself, on what an SDK error carries.
pub fn classify_parts(failure: Failure, code: Option<&str>, status: Option<u16>) -> ErrorClass {
    match failure {
        Failure::Construction => return ErrorClass::Permanent,
        Failure::Timeout | Failure::Dispatch => return ErrorClass::Retryable,
        Failure::Response => {}
    }
    match code {
        Some("ConditionalCheckFailedException") => return ErrorClass::ConditionFailed,
        Some("GoneException") => return ErrorClass::Gone,
        Some(c) if NOT_FOUND_CODES.contains(&c) => return ErrorClass::NotFound,
        Some(c) if RETRYABLE_CODES.contains(&c) => return ErrorClass::Retryable,
        _ => {}
    }
    match status {
        Some(410) => ErrorClass::Gone,
        Some(429) | Some(500..=599) => ErrorClass::Retryable,
        _ => ErrorClass::Permanent,
    }
}

/// The HTTP status of the response behind an SDK error, if there was one.
pub fn sdk_error_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// The class of an SDK error (see the [module documentation](self)).
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> ErrorClass {
    let failure = match err {
        SdkError::ConstructionFailure(_) => Failure::Construction,
        SdkError::TimeoutError(_) => Failure::Timeout,
        SdkError::DispatchFailure(_) => Failure::Dispatch,
        _ => Failure::Response,
    };
    classify_parts(failure, err.code(), sdk_error_status(err))
}

/// Whether an SDK error is worth retrying later.
pub fn is_retryable<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    classify(err) == ErrorClass::Retryable
}

/// Maps an SDK error to a [`PortError`] of its [class](classify), with a message that says
/// what was being done (`context`) and the SDK's whole error chain.
pub fn port_error<E>(context: &str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let class = classify(&err);
    let message = format!("{context}: {}", DisplayErrorContext(&err));
    match class {
        ErrorClass::ConditionFailed => PortError::ConditionFailed(message),
        ErrorClass::NotFound => PortError::NotFound(message),
        ErrorClass::Gone => PortError::Gone(message),
        ErrorClass::Retryable => PortError::Unavailable(message),
        ErrorClass::Permanent => PortError::Backend(message),
    }
}

/// The outcome of a request for which some service errors are an answer rather than a
/// failure (a schedule that exists already, a receipt no longer valid): `Ok(true)` when it
/// succeeded, `Ok(false)` when it failed with a service error that `answer` picks out, and
/// otherwise the [`port_error`] of `context`.
pub fn succeeded<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
    answer: impl FnOnce(&E) -> bool,
    context: impl FnOnce() -> String,
) -> Result<bool, PortError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(answer) => Ok(false),
        Err(e) => Err(port_error(&context(), e)),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn answered(code: Option<&str>, status: u16) -> ErrorClass {
        classify_parts(Failure::Response, code, Some(status))
    }

    #[test]
    fn throttling_5xx_and_transport_failures_are_retryable() {
        for code in RETRYABLE_CODES {
            assert_eq!(answered(Some(code), 400), ErrorClass::Retryable, "{code}");
        }
        for status in [429, 500, 502, 503, 504, 599] {
            assert_eq!(answered(None, status), ErrorClass::Retryable, "{status}");
            assert_eq!(
                answered(Some("SomethingNew"), status),
                ErrorClass::Retryable
            );
        }
        for failure in [Failure::Timeout, Failure::Dispatch] {
            assert_eq!(
                classify_parts(failure, None, None),
                ErrorClass::Retryable,
                "{failure:?}"
            );
        }
        // Both mappers of old missed some of these; they now agree.
        assert_eq!(
            answered(Some("TransactionConflictException"), 400),
            ErrorClass::Retryable
        );
        assert_eq!(answered(Some("RequestTimeout"), 400), ErrorClass::Retryable);
    }

    #[test]
    fn conditions_missing_items_and_gone_peers() {
        assert_eq!(
            answered(Some("ConditionalCheckFailedException"), 400),
            ErrorClass::ConditionFailed
        );
        assert_eq!(answered(Some("NoSuchKey"), 404), ErrorClass::NotFound);
        assert_eq!(answered(Some("NotFound"), 404), ErrorClass::NotFound);
        assert_eq!(answered(Some("GoneException"), 410), ErrorClass::Gone);
        assert_eq!(answered(None, 410), ErrorClass::Gone);
    }

    #[test]
    fn denials_validation_and_missing_resources_are_permanent() {
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "ForbiddenException",
            "ValidationException",
            "InvalidParameterValue",
            "ResourceNotFoundException",
            "NoSuchBucket",
            "AWS.SimpleQueueService.NonExistentQueue",
            "EntityTooSmall",
        ] {
            for status in [400, 403, 404] {
                assert_eq!(
                    answered(Some(code), status),
                    ErrorClass::Permanent,
                    "{code} {status}"
                );
            }
        }
        assert_eq!(answered(None, 400), ErrorClass::Permanent);
        assert_eq!(
            classify_parts(Failure::Response, None, None),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify_parts(Failure::Construction, Some("ThrottlingException"), None),
            ErrorClass::Permanent
        );
    }

    fn service(code: &str, status: u16) -> SdkError<PutItemError, HttpResponse> {
        let err = PutItemError::generic(ErrorMetadata::builder().code(code).build());
        let raw = HttpResponse::new(status.try_into().expect("status"), SdkBody::empty());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn sdk_errors_map_to_port_errors() {
        let cases: Vec<(SdkError<PutItemError, HttpResponse>, &str)> = vec![
            (
                service("ConditionalCheckFailedException", 400),
                "PORT_CONDITION_FAILED",
            ),
            (service("ThrottlingException", 400), "PORT_UNAVAILABLE"),
            (service("InternalServerError", 500), "PORT_UNAVAILABLE"),
            (service("NoSuchKey", 404), "PORT_NOT_FOUND"),
            (service("GoneException", 410), "PORT_GONE"),
            (service("AccessDeniedException", 400), "PORT_BACKEND"),
            (service("ValidationException", 400), "PORT_BACKEND"),
            (SdkError::timeout_error("slow"), "PORT_UNAVAILABLE"),
            (
                SdkError::dispatch_failure(ConnectorError::io("refused".into())),
                "PORT_UNAVAILABLE",
            ),
            (SdkError::construction_failure("bad"), "PORT_BACKEND"),
        ];
        for (err, code) in cases {
            let retryable = is_retryable(&err);
            let mapped = port_error("put item x", err);
            assert_eq!(mapped.code(), code, "{mapped}");
            assert_eq!(retryable, code == "PORT_UNAVAILABLE", "{mapped}");
            assert!(mapped.to_string().contains("put item x"), "{mapped}");
        }
        assert_eq!(sdk_error_status(&service("X", 418)), Some(418));
        assert_eq!(
            sdk_error_status(&SdkError::<PutItemError, HttpResponse>::timeout_error("t")),
            None
        );
    }

    #[test]
    fn picked_service_errors_are_answers() {
        let picked = |e: &PutItemError| e.code() == Some("ConditionalCheckFailedException");
        let context = || "put item x".to_string();
        let ok: Result<(), SdkError<PutItemError, HttpResponse>> = Ok(());
        assert!(matches!(succeeded(ok, picked, context), Ok(true)));
        let lost = Err(service("ConditionalCheckFailedException", 400));
        assert!(matches!(
            succeeded::<(), _>(lost, picked, context),
            Ok(false)
        ));
        let throttled = Err(service("ThrottlingException", 400));
        match succeeded::<(), _>(throttled, picked, context) {
            Err(PortError::Unavailable(m)) => assert!(m.contains("put item x"), "{m}"),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        let timeout = Err(SdkError::timeout_error("slow"));
        assert!(matches!(
            succeeded::<(), PutItemError>(timeout, |_| true, context),
            Err(PortError::Unavailable(_))
        ));
    }
}
