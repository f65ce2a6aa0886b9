//! `POST /api/v1/destinations`, parsed once: `{ "name", "type", "config", "events" }` into a
//! typed [`NewDestination`], its secret split off the config. Every field error is listed
//! (422, each detail naming its field), and unknown keys in `config` are refused so that a
//! typo (`"atach"`) does not silently do nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use ec_domain::destination::{DeliveryEvent, DestinationConfig, DestinationType, Secret};
use ec_domain::{ApiError, ErrorCode};

/// Longest destination name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most email recipients of one destination.
pub const MAX_RECIPIENTS: usize = 50;
/// The prefix of Standard Webhooks secrets.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// A destination to create, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDestination {
    pub name: String,
    pub config: DestinationConfig,
    pub events: Vec<DeliveryEvent>,
    /// The secret given (a webhook's own `whsec_…`, a chat URL, a GitHub token); a webhook
    /// without one gets a generated secret when it is created.
    pub secret: Option<Secret>,
    /// The URL to check against the SSRF rules (webhook, Slack, Teams).
    pub url: Option<String>,
}

/// The field errors found so far.
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn add(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push((field.to_string(), reason.into()));
    }

    /// The 422 listing every problem; `None` when there is none.
    fn error(self) -> Option<ApiError> {
        let mut problems = self.0.into_iter();
        let (field, reason) = problems.next()?;
        let mut e = ApiError::validation(field, reason);
        for (field, reason) in problems {
            e = e.with_detail(field, reason);
        }
        Some(e)
    }

    fn into_result<T>(self, value: T) -> Result<T, ApiError> {
        match self.error() {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

fn text<'a>(config: &'a Map<String, Value>, key: &str, p: &mut Problems) -> Option<&'a str> {
    match config.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
        Some(Value::String(_)) | None => {
            p.add(&format!("config.{key}"), "is required");
            None
        }
        Some(_) => {
            p.add(&format!("config.{key}"), "must be a string");
            None
        }
    }
}

fn optional_text<'a>(
    config: &'a Map<String, Value>,
    key: &str,
    p: &mut Problems,
) -> Option<&'a str> {
    match config.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            p.add(&format!("config.{key}"), "must be a string");
            None
        }
    }
}

impl NewDestination {
    pub fn parse(body: &Value) -> Result<NewDestination, ApiError> {
        let Some(body) = body.as_object() else {
            return Err(ApiError::new(
                ErrorCode::ExportValidation,
                "the body must be a JSON object",
            ));
        };
        let mut p = Problems::default();
        let name = match body.get("name") {
            Some(Value::String(n))
                if !n.trim().is_empty()
                    && n.chars().count() <= MAX_NAME_CHARS
                    && !n.chars().any(char::is_control) =>
            {
                n.trim().to_string()
            }
            _ => {
                p.add(
                    "name",
                    format!("is required: 1 to {MAX_NAME_CHARS} characters, no control characters"),
                );
                String::new()
            }
        };
        let kind = match body.get("type").and_then(Value::as_str) {
            Some(t) => DestinationType::parse(t),
            None => None,
        };
        if kind.is_none() {
            let all: Vec<&str> = DestinationType::ALL.iter().map(|t| t.as_str()).collect();
            p.add("type", format!("must be one of {}", all.join(", ")));
        }
        let events = parse_events(body.get("events"), &mut p);
        let empty = Map::new();
        let config = match body.get("config") {
            Some(Value::Object(c)) => c,
            None => &empty,
            Some(_) => {
                p.add("config", "must be an object");
                &empty
            }
        };
        for key in body.keys() {
            if !matches!(key.as_str(), "name" | "type" | "config" | "events") {
                p.add(key, "is not a field of a destination");
            }
        }
        let Some(kind) = kind else {
            // `type` is among the problems.
            return Err(p
                .error()
                .unwrap_or_else(|| ApiError::validation("type", "is required")));
        };
        let (config, secret, url) = parse_config(kind, config, &mut p);
        p.into_result(NewDestination {
            name,
            config,
            events,
            secret,
            url,
        })
    }
}

fn parse_events(v: Option<&Value>, p: &mut Problems) -> Vec<DeliveryEvent> {
    let all = || DeliveryEvent::ALL.to_vec();
    let Some(v) = v else { return all() };
    let names: Vec<&str> = DeliveryEvent::ALL.iter().map(|e| e.as_str()).collect();
    let reason = format!("must be a non-empty list of {}", names.join(", "));
    let Some(list) = v.as_array().filter(|l| !l.is_empty()) else {
        p.add("events", reason);
        return all();
    };
    let mut out = Vec::new();
    for (i, e) in list.iter().enumerate() {
        match e.as_str().and_then(DeliveryEvent::parse) {
            Some(e) if !out.contains(&e) => out.push(e),
            Some(_) => {}
            None => p.add(&format!("events[{i}]"), reason.clone()),
        }
    }
    out
}

/// The typed config, the secret and the URL to check, by type.
fn parse_config(
    kind: DestinationType,
    c: &Map<String, Value>,
    p: &mut Problems,
) -> (DestinationConfig, Option<Secret>, Option<String>) {
    let keys: &[&str] = match kind {
        DestinationType::Webhook => &["url", "secret"],
        DestinationType::Email => &["to", "attach"],
        DestinationType::Slack | DestinationType::Teams => &["url"],
        DestinationType::GithubCodeScanning => &["repository", "ref", "commit_sha", "token"],
        DestinationType::S3 => &["bucket", "prefix", "role_arn", "external_id"],
    };
    for key in c.keys() {
        if !keys.contains(&key.as_str()) {
            p.add(
                &format!("config.{key}"),
                format!("is not a setting of a {kind} destination"),
            );
        }
    }
    match kind {
        DestinationType::Webhook => {
            let url = text(c, "url", p).unwrap_or_default().to_string();
            let secret = optional_text(c, "secret", p).map(|s| {
                if !is_webhook_secret(s) {
                    p.add(
                        "config.secret",
                        "must be whsec_ followed by the base64 of 24 to 64 random bytes",
                    );
                }
                Secret::new(s)
            });
            (
                DestinationConfig::Webhook { url: url.clone() },
                secret,
                Some(url),
            )
        }
        DestinationType::Email => {
            let to = recipients(c.get("to"), p);
            let attach = match c.get("attach") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    p.add("config.attach", "must be true or false");
                    false
                }
            };
            (DestinationConfig::Email { to, attach }, None, None)
        }
        DestinationType::Slack | DestinationType::Teams => {
            let url = text(c, "url", p).unwrap_or_default().to_string();
            let shown = redacted(&url);
            let config = if kind == DestinationType::Slack {
                DestinationConfig::Slack { url: shown }
            } else {
                DestinationConfig::Teams { url: shown }
            };
            (config, Some(Secret::new(url.clone())), Some(url))
        }
        DestinationType::GithubCodeScanning => {
            let repository = text(c, "repository", p).unwrap_or_default();
            if !repository.is_empty() && !is_repository(repository) {
                p.add("config.repository", "must be owner/repo");
            }
            let git_ref = text(c, "ref", p).unwrap_or_default();
            if !git_ref.is_empty() && !git_ref.starts_with("refs/") {
                p.add(
                    "config.ref",
                    "must be a full ref (refs/heads/main, refs/pull/1/merge)",
                );
            }
            let sha = text(c, "commit_sha", p).unwrap_or_default();
            let sha_ok = matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit());
            if !sha.is_empty() && !sha_ok {
                p.add(
                    "config.commit_sha",
                    "must be a 40 (or 64) digit hex commit id",
                );
            }
            let token = text(c, "token", p).map(Secret::new);
            (
                DestinationConfig::GithubCodeScanning {
                    repository: repository.to_string(),
                    git_ref: git_ref.to_string(),
                    commit_sha: sha.to_ascii_lowercase(),
                },
                token,
                None,
            )
        }
        DestinationType::S3 => {
            let bucket = text(c, "bucket", p).unwrap_or_default();
            if !bucket.is_empty() && !is_bucket(bucket) {
                p.add(
                    "config.bucket",
                    "must be an S3 bucket name (3 to 63 lowercase letters, digits, dots, hyphens)",
                );
            }
            let prefix = optional_text(c, "prefix", p).unwrap_or_default();
            if prefix.starts_with('/') || prefix.len() > 512 || prefix.contains("..") {
                p.add(
                    "config.prefix",
                    "must be a key prefix without a leading /, no .., at most 512 bytes",
                );
            }
            let role_arn = optional_text(c, "role_arn", p).map(str::to_string);
            if role_arn.as_deref().is_some_and(|r| !is_role_arn(r)) {
                p.add(
                    "config.role_arn",
                    "must be an IAM role ARN (arn:aws:iam::123456789012:role/name)",
                );
            }
            let external_id = optional_text(c, "external_id", p).map(str::to_string);
            if external_id.as_deref().is_some_and(|e| {
                !(2..=1224).contains(&e.len())
                    || !e
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b))
            }) {
                p.add(
                    "config.external_id",
                    "must be 2 to 1224 characters of letters, digits and +=,.@:/-_",
                );
            }
            if role_arn.is_some() && external_id.is_none() {
                p.add(
                    "config.external_id",
                    "is required with role_arn (the role's trust policy should demand it)",
                );
            }
            (
                DestinationConfig::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.to_string(),
                    role_arn,
                    external_id,
                },
                None,
                None,
            )
        }
    }
}

/// A generated Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes.
pub fn generate_webhook_secret() -> Secret {
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    Secret::new(format!("{WEBHOOK_SECRET_PREFIX}{}", STANDARD.encode(key)))
}

fn is_webhook_secret(s: &str) -> bool {
    s.strip_prefix(WEBHOOK_SECRET_PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .is_some_and(|key| (24..=64).contains(&key.len()))
}

/// A chat webhook URL as shown: scheme and host, its path (the credential) hidden.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
        Err(_) => "…".to_string(),
    }
}

fn recipients(v: Option<&Value>, p: &mut Problems) -> Vec<String> {
    let reason = format!("must be a list of 1 to {MAX_RECIPIENTS} email addresses");
    let Some(list) = v
        .and_then(Value::as_array)
        .filter(|l| (1..=MAX_RECIPIENTS).contains(&l.len()))
    else {
        p.add("config.to", reason);
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        match a.as_str().filter(|a| is_address(a)) {
            Some(a) if !out.iter().any(|o: &String| o.eq_ignore_ascii_case(a)) => {
                out.push(a.to_string())
            }
            Some(_) => {}
            None => p.add(&format!("config.to[{i}]"), "is not an email address"),
        }
    }
    out
}

/// A bare address (`local@domain`) as lettre (the SMTP crate that sends it) reads one: no
/// display name, spaces, commas or angle brackets, which could smuggle further recipients
/// or headers into a message.
fn is_address(a: &str) -> bool {
    a.len() <= 254 && a.parse::<lettre::Address>().is_ok()
}

fn is_repository(r: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    matches!(r.split_once('/'), Some((owner, repo)) if ok(owner) && ok(repo) && repo != "." && repo != "..")
}

fn is_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && b.as_bytes()[0].is_ascii_alphanumeric()
        && b.as_bytes()[b.len() - 1].is_ascii_alphanumeric()
        && !b.contains("..")
}

fn is_role_arn(r: &str) -> bool {
    let parts: Vec<&str> = r.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(e: ApiError) -> Vec<String> {
        e.details.into_iter().map(|d| d.field).collect()
    }

    #[test]
    fn each_type_parses_with_its_secret_split_off() {
        let hook = NewDestination::parse(&json!({"name": "SIEM", "type": "webhook",
            "config": {"url": "https://siem.example/hook"}}))
        .unwrap();
        assert_eq!(hook.events, DeliveryEvent::ALL);
        assert_eq!(hook.secret, None, "generated on create");
        let slack = NewDestination::parse(&json!({"name": "sec", "type": "slack",
            "config": {"url": "https://hooks.slack.com/services/T0/B0/XYZ"},
            "events": ["export.failed"]}))
        .unwrap();
        assert_eq!(
            slack.config,
            DestinationConfig::Slack {
                url: "https://hooks.slack.com/…".into()
            }
        );
        assert_eq!(
            slack.secret.unwrap().expose(),
            "https://hooks.slack.com/services/T0/B0/XYZ"
        );
        assert_eq!(slack.events, [DeliveryEvent::ExportFailed]);
        let gh = NewDestination::parse(&json!({"name": "gh", "type": "github_code_scanning",
            "config": {"repository": "acme/app", "ref": "refs/heads/main",
                       "commit_sha": "A".repeat(40), "token": "ghp_x"}}))
        .unwrap();
        assert_eq!(gh.secret.unwrap().expose(), "ghp_x");
        let s3 = NewDestination::parse(&json!({"name": "vault", "type": "s3",
            "config": {"bucket": "acme-evidence", "prefix": "exports/",
                       "role_arn": "arn:aws:iam::123456789012:role/ec-writer", "external_id": "acme-42"}}))
        .unwrap();
        assert!(s3.secret.is_none());
        let mail = NewDestination::parse(&json!({"name": "ciso", "type": "email",
            "config": {"to": ["ciso@acme.example", "CISO@acme.example"], "attach": true}}))
        .unwrap();
        assert_eq!(
            mail.config,
            DestinationConfig::Email {
                to: vec!["ciso@acme.example".into()],
                attach: true
            }
        );
    }

    #[test]
    fn every_problem_is_named() {
        let e = NewDestination::parse(&json!({"name": "", "type": "email", "colour": 1,
            "config": {"to": ["a@b.example", "x@y.example>, evil@z.example"], "atach": true},
            "events": ["export.ready", "export.started"]}))
        .unwrap_err();
        assert_eq!(
            fields(e),
            [
                "name",
                "events[1]",
                "colour",
                "config.atach",
                "config.to[1]"
            ]
        );
        let e = NewDestination::parse(&json!({"name": "x", "type": "fax"})).unwrap_err();
        assert_eq!(fields(e), ["type"]);
        let e = NewDestination::parse(&json!({"name": "x", "type": "webhook",
            "config": {"url": "https://a.example", "secret": "whsec_short"}}))
        .unwrap_err();
        assert_eq!(fields(e), ["config.secret"]);
        let e = NewDestination::parse(&json!({"name": "x", "type": "s3",
            "config": {"bucket": "Bad_Bucket", "prefix": "/abs", "role_arn": "arn:aws:iam::1:user/x"}}))
        .unwrap_err();
        assert_eq!(
            fields(e),
            [
                "config.bucket",
                "config.prefix",
                "config.role_arn",
                "config.external_id"
            ]
        );
        let e = NewDestination::parse(&json!({"name": "x", "type": "github_code_scanning",
            "config": {"repository": "acme", "ref": "main", "commit_sha": "xyz"}}))
        .unwrap_err();
        assert_eq!(
            fields(e),
            [
                "config.repository",
                "config.ref",
                "config.commit_sha",
                "config.token"
            ]
        );
    }

    #[test]
    fn generated_webhook_secrets_follow_the_standard() {
        let s = generate_webhook_secret();
        assert!(is_webhook_secret(s.expose()));
        assert_ne!(s, generate_webhook_secret());
    }
}
