//! Sending to one destination, whatever its type: what the deliver stage does on each
//! attempt and what `POST /api/v1/destinations/{id}/test` does once. The destination's
//! secret is read here and nowhere else; a tenant-given URL passes the SSRF guard on every
//! send and the connection goes only to the addresses it checked.

use std::sync::Arc;

use ec_domain::destination::{Destination, DestinationConfig, Secret};
use ec_domain::ports::{
    BucketObject, BucketWriter, DestinationSecrets, Email, HttpPost, HttpSender, Mailer,
    ObjectStore,
};
use ec_domain::{Job, PortError};

use crate::guard::UrlGuard;
use crate::outbound::{Announcement, email, github, s3, slack, teams, webhook};

/// Why an attempt did not deliver, and whether another attempt could.
pub struct Failed {
    pub reason: String,
    pub retry: bool,
}

impl Failed {
    pub fn retry(reason: impl Into<String>) -> Failed {
        Failed {
            reason: reason.into(),
            retry: true,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Failed {
        Failed {
            reason: reason.into(),
            retry: false,
        }
    }
}

/// What sending needs: the secrets, the guard, and the ports that send.
#[derive(Clone)]
pub struct Sender {
    pub secrets: Arc<dyn DestinationSecrets>,
    pub guard: UrlGuard,
    pub http: Arc<dyn HttpSender>,
    pub mailer: Arc<dyn Mailer>,
    /// The report, for emails that attach it.
    pub objects: Arc<dyn ObjectStore>,
    pub email_attach_max_bytes: u64,
    /// GitHub's REST API (`EXPORTCENTER_GITHUB_API_URL`).
    pub github_api_url: String,
    /// How often, and how far apart, an upload's processing status is read.
    pub github_polls: u32,
    pub github_poll_interval: std::time::Duration,
    /// Writes `s3` destinations' objects.
    pub buckets: Arc<dyn BucketWriter>,
    /// Whether a bucket destination without a role may be written with the service's own
    /// credentials (`EXPORTCENTER_S3_DESTINATION_OWN_CREDENTIALS`).
    pub bucket_own_credentials: bool,
}

/// A GitHub answer: its JSON when 2xx; else why not, worth retrying for 429 and 5xx only
/// (a bad token, an unknown repository, a refused SARIF will not get better).
fn answered(a: &ec_domain::ports::HttpAnswer) -> Result<serde_json::Value, Failed> {
    if (200..300).contains(&a.status) {
        return Ok(serde_json::from_slice(&a.body).unwrap_or(serde_json::Value::Null));
    }
    let reason = format!("GitHub answered {}: {}", a.status, a.excerpt.trim());
    if a.status == 429 || a.status >= 500 {
        Err(Failed::retry(reason))
    } else {
        Err(Failed::permanent(reason))
    }
}

impl Sender {
    /// Sends `announcement` to `destination` as `message_id` (the job, for what an email
    /// attaches).
    pub async fn send(
        &self,
        destination: &Destination,
        announcement: &Announcement,
        job: Option<&Job>,
        message_id: &str,
    ) -> Result<(), Failed> {
        let secret = self.secret(destination).await?;
        match &destination.config {
            DestinationConfig::Webhook { url } => {
                let secret =
                    secret.ok_or_else(|| Failed::permanent("the webhook has no secret"))?;
                let checked = self
                    .guard
                    .check(url)
                    .await
                    .map_err(|r| Failed::permanent(format!("the URL {r}")))?;
                let body = announcement.event_json();
                let now = ec_domain::time::now().unix_timestamp();
                let headers =
                    webhook::headers(&secret, message_id, now, &body).ok_or_else(|| {
                        Failed::permanent("the webhook's secret is not a whsec_ secret")
                    })?;
                self.post(HttpPost {
                    url: checked.url.to_string(),
                    addrs: checked.addrs,
                    headers,
                    body,
                })
                .await
            }
            DestinationConfig::Slack { .. } | DestinationConfig::Teams { .. } => {
                // The channel's URL is the secret; the config shows it redacted.
                let url = secret.ok_or_else(|| Failed::permanent("the channel URL is gone"))?;
                let checked = self
                    .guard
                    .check(url.expose())
                    .await
                    .map_err(|r| Failed::permanent(format!("the URL {r}")))?;
                let body = match destination.config {
                    DestinationConfig::Slack { .. } => slack::body(announcement),
                    _ => teams::body(announcement),
                };
                self.post(HttpPost {
                    url: checked.url.to_string(),
                    addrs: checked.addrs,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body,
                })
                .await
            }
            DestinationConfig::Email { to, attach } => {
                let (attachment, note) = self.attachment(job, *attach).await?;
                let (subject, text, html) = email::compose(announcement, note.as_deref());
                let mail = Email {
                    to: to.clone(),
                    subject,
                    text,
                    html,
                    message_id: format!("<{}@exportcenter>", message_id),
                    attachment,
                };
                match self.mailer.send(&mail).await {
                    Ok(()) => Ok(()),
                    Err(PortError::Invalid(m)) => Err(Failed::permanent(m)),
                    Err(e) => Err(Failed::retry(e.to_string())),
                }
            }
            DestinationConfig::GithubCodeScanning {
                repository,
                git_ref,
                commit_sha,
            } => {
                let token = secret.ok_or_else(|| Failed::permanent("the token is gone"))?;
                self.code_scanning(&token, repository, git_ref, commit_sha, job)
                    .await
            }
            DestinationConfig::S3 {
                bucket,
                prefix,
                role_arn,
                external_id,
            } => {
                if role_arn.is_none() && !self.bucket_own_credentials {
                    return Err(Failed::permanent(
                        "this deployment writes to buckets only through a role the tenant grants: give role_arn and external_id",
                    ));
                }
                let target = s3::target(
                    bucket,
                    role_arn.as_ref(),
                    external_id.as_ref(),
                    destination.destination_id.as_str(),
                );
                let objects = self.bucket_objects(prefix, announcement, job).await?;
                match self.buckets.put(&target, &objects).await {
                    Ok(()) => Ok(()),
                    Err(PortError::Unavailable(m)) => Err(Failed::retry(m)),
                    Err(e) => Err(Failed::permanent(e.to_string())),
                }
            }
        }
    }

    /// What a bucket delivery writes: a ready export's report and sealed bundle, then the
    /// event; a failed export's event; a test message's event alone.
    async fn bucket_objects(
        &self,
        prefix: &str,
        announcement: &Announcement,
        job: Option<&Job>,
    ) -> Result<Vec<BucketObject>, Failed> {
        let Some(job) = job else {
            return Ok(vec![s3::event_object(s3::test_key(prefix), announcement)]);
        };
        let mut objects = Vec::new();
        for artifact in &job.artifacts {
            let body = self
                .objects
                .get(&artifact.key)
                .await
                .map_err(|e| Failed::retry(format!("reading {}: {e}", artifact.kind)))?;
            objects.push(BucketObject {
                key: s3::key(prefix, job, s3::file_name(&artifact.key)),
                content_type: artifact.media_type.clone(),
                body,
            });
        }
        let event = format!("{}.json", announcement.kind);
        objects.push(s3::event_object(s3::key(prefix, job, &event), announcement));
        Ok(objects)
    }

    /// Uploads a SARIF export to code scanning and follows it until GitHub has processed it
    /// (or a few polls later: then it is accepted and GitHub goes on without us). Without a
    /// job (a test message) it checks that the token can read the repository.
    async fn code_scanning(
        &self,
        token: &Secret,
        repository: &str,
        git_ref: &str,
        commit_sha: &str,
        job: Option<&Job>,
    ) -> Result<(), Failed> {
        let base = &self.github_api_url;
        let headers = github::headers(token);
        let Some(job) = job else {
            let a = self
                .http
                .get(&github::repo_url(base, repository), &headers)
                .await
                .map_err(|e| Failed::retry(e.to_string()))?;
            return answered(&a).map(|_| ());
        };
        if job.format != ec_domain::Format::Sarif {
            return Err(Failed::permanent(format!(
                "code scanning takes SARIF exports; this export is {}",
                job.format
            )));
        }
        let report = job
            .artifacts
            .iter()
            .find(|a| a.kind == ec_domain::ArtifactKind::Report)
            .ok_or_else(|| Failed::permanent("the export has no report"))?;
        let sarif = self
            .objects
            .get(&report.key)
            .await
            .map_err(|e| Failed::retry(format!("reading the report: {e}")))?;
        let body = github::upload_body(&sarif, commit_sha, git_ref).map_err(Failed::permanent)?;
        let a = self
            .http
            .post(&HttpPost {
                url: github::upload_url(base, repository),
                addrs: Vec::new(),
                headers: headers.clone(),
                body,
            })
            .await
            .map_err(|e| Failed::retry(e.to_string()))?;
        let accepted: serde_json::Value = answered(&a)?;
        let Some(id) = accepted["id"].as_str() else {
            return Err(Failed::permanent(
                "GitHub accepted the upload but named no id",
            ));
        };
        let url = github::status_url(base, repository, id);
        for _ in 0..self.github_polls {
            let a = self
                .http
                .get(&url, &headers)
                .await
                .map_err(|e| Failed::retry(e.to_string()))?;
            let status: serde_json::Value = answered(&a)?;
            match status["processing_status"].as_str() {
                Some("complete") => return Ok(()),
                Some("failed") => {
                    return Err(Failed::permanent(format!(
                        "GitHub could not process the SARIF: {}",
                        status["errors"]
                    )));
                }
                _ => tokio::time::sleep(self.github_poll_interval).await,
            }
        }
        Ok(())
    }

    /// The report to attach (when asked for and small enough), or a note why not.
    async fn attachment(
        &self,
        job: Option<&Job>,
        wanted: bool,
    ) -> Result<(Option<(String, String, bytes::Bytes)>, Option<String>), Failed> {
        let found = job.and_then(|j| {
            j.artifacts
                .iter()
                .find(|a| a.kind == ec_domain::ArtifactKind::Report)
                .map(|r| (j, r))
        });
        let Some((job, report)) = found.filter(|_| wanted) else {
            return Ok((None, None));
        };
        if report.size > self.email_attach_max_bytes {
            return Ok((
                None,
                Some(format!(
                    "The report ({} bytes) is larger than this server attaches ({} bytes): download it below.",
                    report.size, self.email_attach_max_bytes
                )),
            ));
        }
        let bytes = self
            .objects
            .get(&report.key)
            .await
            .map_err(|e| Failed::retry(format!("reading the report: {e}")))?;
        let name = format!("{}.{}", job.export_id, job.format.extension());
        Ok((
            Some((name, report.media_type.clone(), bytes)),
            Some("The report is attached.".to_string()),
        ))
    }

    async fn secret(&self, d: &Destination) -> Result<Option<Secret>, Failed> {
        if !d.has_secret {
            return Ok(None);
        }
        match self.secrets.get(&d.tenant_id, &d.destination_id).await {
            Ok(s) => Ok(Some(s)),
            Err(PortError::NotFound(_)) => {
                Err(Failed::permanent("the destination's secret is gone"))
            }
            Err(PortError::Invalid(m)) => Err(Failed::permanent(m)),
            Err(e) => Err(Failed::retry(format!("reading the secret: {e}"))),
        }
    }

    /// POSTs and reads the answer: 2xx delivers; anything else is worth another attempt.
    async fn post(&self, request: HttpPost) -> Result<(), Failed> {
        match self.http.post(&request).await {
            Ok(a) if (200..300).contains(&a.status) => Ok(()),
            Ok(a) => Err(Failed::retry(format!(
                "the receiver answered {}{}",
                a.status,
                if a.excerpt.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", a.excerpt.trim())
                }
            ))),
            Err(PortError::Invalid(m)) => Err(Failed::permanent(m)),
            Err(e) => Err(Failed::retry(e.to_string())),
        }
    }
}
