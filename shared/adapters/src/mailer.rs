//! Deliveries' emails over SMTP with lettre, behind the [`Mailer`] port: the relay is the
//! deployment's (`EXPORTCENTER_SMTP_URL`, e.g. `smtp://relay:25`, `smtp://user:pass@relay:587?tls=required`
//! for STARTTLS with auth, `smtps://user:pass@relay:465` for TLS; SES SMTP on AWS), the sender
//! `EXPORTCENTER_SMTP_FROM`. A message is multipart: plain text and HTML alternatives, and
//! the report attached when the destination asks for it.

use async_trait::async_trait;
use ec_domain::PortError;
use ec_domain::env::{ConfigError, Env};
use ec_domain::ports::{Email, Mailer, PortResult};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The sender when `EXPORTCENTER_SMTP_FROM` is not set.
pub const DEFAULT_FROM: &str = "ExportCenter <exportcenter@localhost>";

/// [`Mailer`] over an SMTP relay; [`Mailer::send`] says so when none is configured.
pub struct SmtpMailer {
    relay: Option<(AsyncSmtpTransport<Tokio1Executor>, String)>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The relay URL may hold a password: never printed.
        f.debug_struct("SmtpMailer")
            .field("relay", &self.relay.as_ref().map(|(_, host)| host))
            .finish()
    }
}

impl SmtpMailer {
    /// From `EXPORTCENTER_SMTP_URL` and `EXPORTCENTER_SMTP_FROM`.
    pub fn from_env(env: &dyn Env) -> Result<SmtpMailer, ConfigError> {
        let from_var = env
            .var("EXPORTCENTER_SMTP_FROM")
            .unwrap_or_else(|| DEFAULT_FROM.to_string());
        let from: Mailbox = from_var.parse().map_err(|e| ConfigError {
            var: "EXPORTCENTER_SMTP_FROM",
            reason: format!("not a mailbox: {e}"),
        })?;
        let relay = match env.var("EXPORTCENTER_SMTP_URL") {
            None => None,
            Some(url) => {
                let host = url::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default();
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| ConfigError {
                        var: "EXPORTCENTER_SMTP_URL",
                        reason: format!("not an SMTP URL: {e}"),
                    })?
                    .build();
                Some((transport, host))
            }
        };
        Ok(SmtpMailer { relay, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> PortResult<()> {
        let Some((transport, host)) = &self.relay else {
            return Err(PortError::Invalid(
                "email delivery is not configured (EXPORTCENTER_SMTP_URL)".into(),
            ));
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(&email.subject)
            .message_id(Some(email.message_id.clone()));
        for to in &email.to {
            let mailbox: Mailbox = to
                .parse()
                .map_err(|e| PortError::Invalid(format!("recipient {to}: {e}")))?;
            builder = builder.to(mailbox);
        }
        let alternatives = MultiPart::alternative()
            .singlepart(SinglePart::plain(email.text.clone()))
            .singlepart(SinglePart::html(email.html.clone()));
        let body = match &email.attachment {
            None => MultiPart::mixed().multipart(alternatives),
            Some((name, media_type, bytes)) => {
                let kind = ContentType::parse(media_type).unwrap_or(
                    ContentType::parse("application/octet-stream")
                        .map_err(|e| PortError::Backend(format!("content type: {e}")))?,
                );
                MultiPart::mixed()
                    .multipart(alternatives)
                    .singlepart(Attachment::new(name.clone()).body(bytes.to_vec(), kind))
            }
        };
        let message = builder
            .multipart(body)
            .map_err(|e| PortError::Invalid(format!("building the email: {e}")))?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                Err(PortError::Invalid(format!("the relay {host} refused: {e}")))
            }
            Err(e) => Err(PortError::Unavailable(format!("the relay {host}: {e}"))),
        }
    }
}
