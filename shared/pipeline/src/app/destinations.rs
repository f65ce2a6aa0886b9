//! The destination service behind `POST/GET/DELETE /api/v1/destinations`: a destination is
//! validated ([`NewDestination`]), its URL checked by the SSRF guard, its secret stored
//! first (encrypted, in the stack's secret store) and the record after it, so a record
//! never names a secret that is not there. A webhook's signing secret is generated unless
//! given and returned once, on creation; no other answer carries a secret.

use std::sync::Arc;

use ec_domain::destination::{Destination, DestinationType, Secret};
use ec_domain::ports::DestinationStore;
use ec_domain::{ApiError, DestinationId, ErrorCode, PortError};
use serde::Serialize;

use crate::app::Caller;
use crate::app::destination_input::{NewDestination, generate_webhook_secret};
use crate::guard::Refused;
use crate::outbound::Announcement;
use crate::sender::Sender;

/// The destination service and the ports it uses.
#[derive(Clone)]
pub struct Destinations {
    pub store: Arc<dyn DestinationStore>,
    /// Sends test messages; its secret store and SSRF guard are the ones creation uses.
    pub sender: Sender,
    /// The API's public base URL, for the test message's link.
    pub public_url: Option<String>,
}

/// What a test message did.
#[derive(Debug, Clone, Serialize)]
pub struct TestSent {
    pub destination_id: DestinationId,
    pub delivered: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub message_id: String,
}

/// A destination just made, with the webhook secret shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub destination: Destination,
    /// The webhook's signing secret (`whsec_…`): only in the answer to the creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The 422 of a URL the guard refused, or 503 when it could not tell.
pub fn refused_url(field: &str, r: Refused) -> ApiError {
    match r {
        Refused::ResolverUnavailable(_) => ApiError::new(ErrorCode::Unavailable, r.to_string()),
        _ => ApiError::validation(field, r.to_string()),
    }
}

impl Destinations {
    /// `POST /api/v1/destinations`.
    pub async fn create(&self, caller: &Caller, new: NewDestination) -> Result<Created, ApiError> {
        if let Some(url) = &new.url {
            self.sender
                .guard
                .check(url)
                .await
                .map_err(|r| refused_url("config.url", r))?;
        }
        let kind = new.config.kind();
        let generated = (kind == DestinationType::Webhook && new.secret.is_none())
            .then(generate_webhook_secret);
        let secret: Option<&Secret> = new.secret.as_ref().or(generated.as_ref());
        let destination = Destination {
            destination_id: DestinationId::generate(),
            tenant_id: caller.tenant.clone(),
            name: new.name,
            config: new.config,
            events: new.events,
            has_secret: secret.is_some(),
            created_by: caller.subject.clone(),
            created_at: ec_domain::time::now(),
            version: 1,
        };
        if let Some(secret) = secret {
            self.sender
                .secrets
                .put(&caller.tenant, &destination.destination_id, secret)
                .await?;
        }
        if let Err(e) = self.store.create(&destination).await {
            if secret.is_some()
                && let Err(e) = self
                    .sender
                    .secrets
                    .delete(&caller.tenant, &destination.destination_id)
                    .await
            {
                tracing::error!(destination_id = %destination.destination_id, error = %e, "removing the secret of a destination not created failed");
            }
            return Err(e.into());
        }
        tracing::info!(destination_id = %destination.destination_id, tenant = %caller.tenant, r#type = %kind, "destination created");
        let shown = (kind == DestinationType::Webhook)
            .then(|| secret.map(|s| s.expose().to_string()))
            .flatten();
        Ok(Created {
            destination,
            secret: shown,
        })
    }

    /// `GET /api/v1/destinations`: the tenant's destinations, oldest first.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Destination>, ApiError> {
        Ok(self.store.list(&caller.tenant).await?)
    }

    /// `GET /api/v1/destinations/{id}` (404 for unknown ids and other tenants' ids).
    pub async fn get(
        &self,
        caller: &Caller,
        destination_id: &DestinationId,
    ) -> Result<Destination, ApiError> {
        self.store
            .get(&caller.tenant, destination_id)
            .await?
            .ok_or_else(|| ApiError::not_found("destination"))
    }

    /// `POST /api/v1/destinations/{id}/test`: one test message (webhook type
    /// `destination.test`), sent now, once; the answer says whether it was delivered.
    pub async fn test(
        &self,
        caller: &Caller,
        destination_id: &DestinationId,
    ) -> Result<TestSent, ApiError> {
        let destination = self.get(caller, destination_id).await?;
        let now = ec_domain::time::now();
        let announcement = Announcement::test(
            &destination,
            self.public_url.as_deref(),
            ec_domain::time::rfc3339(now),
        );
        let message_id = format!(
            "msg_test_{}",
            DestinationId::generate()
                .as_str()
                .trim_start_matches("dst-")
        );
        let result = self
            .sender
            .send(&destination, &announcement, None, &message_id)
            .await;
        tracing::info!(destination_id = %destination_id, tenant = %caller.tenant, delivered = result.is_ok(), "test message sent");
        Ok(TestSent {
            destination_id: destination_id.clone(),
            delivered: result.is_ok(),
            error: result.err().map(|f| f.reason),
            message_id,
        })
    }

    /// `DELETE /api/v1/destinations/{id}`: the record first (nothing is sent to it after),
    /// then its secret. Deliveries already recorded on jobs keep their history.
    pub async fn delete(
        &self,
        caller: &Caller,
        destination_id: &DestinationId,
    ) -> Result<(), ApiError> {
        let destination = self.get(caller, destination_id).await?;
        self.store.delete(&caller.tenant, destination_id).await?;
        if destination.has_secret {
            match self
                .sender
                .secrets
                .delete(&caller.tenant, destination_id)
                .await
            {
                Ok(()) | Err(PortError::NotFound(_)) => {}
                Err(e) => {
                    tracing::error!(destination_id = %destination_id, error = %e, "removing a deleted destination's secret failed");
                }
            }
        }
        tracing::info!(destination_id = %destination_id, tenant = %caller.tenant, "destination deleted");
        Ok(())
    }
}
