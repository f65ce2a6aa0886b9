//! Where each tenant's custom template lives: one canonical JSON object under the tenant's
//! prefix of the object store. The API stores it; validation and the gather stage read it.

use std::sync::Arc;

use ec_domain::TenantId;
use ec_domain::ports::ObjectStore;
use ec_domain::template::CustomTemplate;
use ec_domain::{PortError, keys};

const CUSTOM_FILE: &str = "custom.json";

/// The tenants' custom templates, over the object store.
#[derive(Clone)]
pub struct CustomTemplates {
    pub objects: Arc<dyn ObjectStore>,
}

impl CustomTemplates {
    /// The tenant's stored template, if any.
    pub async fn get(&self, tenant: &TenantId) -> Result<Option<CustomTemplate>, PortError> {
        match self
            .objects
            .get(&keys::custom_template(tenant, CUSTOM_FILE))
            .await
        {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| PortError::Invalid(format!("stored custom template: {e}"))),
            Err(PortError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores (replaces) the tenant's template.
    pub async fn put(&self, template: &CustomTemplate) -> Result<(), PortError> {
        let body = ec_domain::ids::canonical_json(template);
        self.objects
            .put(
                &keys::custom_template(&template.tenant_id, CUSTOM_FILE),
                body.into(),
                "application/json",
            )
            .await?;
        Ok(())
    }
}
