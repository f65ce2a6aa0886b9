//! Destinations' secrets as SSM Parameter Store `SecureString` parameters (encrypted with the
//! account's `aws/ssm` KMS key, or the key `EXPORTCENTER_SECRETS_KMS_KEY_ID` names), one per
//! destination at `{prefix}/{tenant}/{destination id}` (`EXPORTCENTER_SECRETS_PREFIX`,
//! default `/exportcenter-secrets/destinations`; the template sets one per stack). Only
//! the functions that need them may read or write under that path (`infra/template.yaml`),
//! which is apart from the `/exportcenter/` settings every function reads. Values never appear in errors or logs: SSM's
//! errors name the parameter, not its value.

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::ParameterType;
use ec_domain::destination::Secret;
use ec_domain::env::Env;
use ec_domain::ports::{DestinationSecrets, PortResult};
use ec_domain::{DestinationId, PortError, TenantId};

use crate::sdk_error::{port_error, succeeded};

/// The parameter path prefix when `EXPORTCENTER_SECRETS_PREFIX` is not set.
pub const DEFAULT_PREFIX: &str = "/exportcenter-secrets/destinations";

/// [`DestinationSecrets`] over SSM Parameter Store.
#[derive(Debug, Clone)]
pub struct SsmDestinationSecrets {
    client: Client,
    prefix: String,
    kms_key_id: Option<String>,
}

impl SsmDestinationSecrets {
    pub fn new(client: Client, prefix: &str, kms_key_id: Option<String>) -> Self {
        SsmDestinationSecrets {
            client,
            prefix: prefix.trim_end_matches('/').to_string(),
            kms_key_id,
        }
    }

    /// From `EXPORTCENTER_SECRETS_PREFIX` and `EXPORTCENTER_SECRETS_KMS_KEY_ID`.
    pub fn from_vars(env: &dyn Env, client: Client) -> Self {
        let prefix = env
            .var("EXPORTCENTER_SECRETS_PREFIX")
            .unwrap_or_else(|| DEFAULT_PREFIX.to_string());
        SsmDestinationSecrets::new(client, &prefix, env.var("EXPORTCENTER_SECRETS_KMS_KEY_ID"))
    }

    /// The parameter of one destination's secret (tenant and destination ids are
    /// `[A-Za-z0-9._-]`, which SSM names allow).
    pub fn name(&self, tenant: &TenantId, destination_id: &DestinationId) -> String {
        format!("{}/{tenant}/{destination_id}", self.prefix)
    }
}

#[async_trait]
impl DestinationSecrets for SsmDestinationSecrets {
    async fn put(
        &self,
        tenant: &TenantId,
        destination_id: &DestinationId,
        secret: &Secret,
    ) -> PortResult<()> {
        let name = self.name(tenant, destination_id);
        self.client
            .put_parameter()
            .name(&name)
            .value(secret.expose())
            .r#type(ParameterType::SecureString)
            .set_key_id(self.kms_key_id.clone())
            .overwrite(true)
            .send()
            .await
            .map_err(|e| port_error(&format!("SSM PutParameter {name}"), e))?;
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<Secret> {
        let name = self.name(tenant, destination_id);
        let out = self
            .client
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await;
        match out {
            Ok(out) => out
                .parameter
                .and_then(|p| p.value)
                .map(Secret::new)
                .ok_or_else(|| PortError::Invalid(format!("SSM parameter {name} has no value"))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Err(PortError::NotFound(format!(
                    "no secret for destination {destination_id}"
                )))
            }
            Err(e) => Err(port_error(&format!("SSM GetParameter {name}"), e)),
        }
    }

    async fn delete(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<()> {
        let name = self.name(tenant, destination_id);
        let result = self.client.delete_parameter().name(&name).send().await;
        succeeded(
            result,
            |e| e.is_parameter_not_found(),
            || format!("SSM DeleteParameter {name}"),
        )?;
        Ok(())
    }
}
