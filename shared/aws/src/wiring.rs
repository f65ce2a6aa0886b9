//! The AWS stack's builder (the mirror of `ec_embedded::Embedded`): every port wired to S3,
//! DynamoDB, SQS, API Gateway Management and EventBridge Scheduler, with the data sources
//! and renderer both stacks share, from variables read through [`Env`] (see
//! `infra/template.yaml` for each). Clients honour `AWS_ENDPOINT_URL`, so the same wiring
//! runs against an emulator.

use std::sync::Arc;

use aws_config::SdkConfig;

use ec_adapters::renderer::RendersElsewhere;
use ec_adapters::sources::Sources;
use ec_domain::PortError;
use ec_domain::env::{ConfigError, Env};
use ec_domain::policy::PolicyConfig;
use ec_domain::ports::Ports;

use crate::config::{self as awsconf, required_var};
use crate::dynamodb::{
    DynamoAuditLog, DynamoConnections, DynamoDestinations, DynamoIdempotency, DynamoJobTable,
    DynamoQuotas, DynamoScanCatalog, DynamoSchedules,
};
use crate::{ApiGatewayPush, EventBridgeTrigger, S3ObjectStore, SqsQueue, SsmDestinationSecrets};

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Port(#[from] PortError),
    #[error("the signing key: {0}")]
    Key(String),
}

/// The SDK configuration, loaded once per cold start, and the builders of the adapters.
pub struct AwsAdapters {
    sdk: SdkConfig,
}

impl AwsAdapters {
    /// Loads the standard SDK configuration chain.
    pub async fn load() -> AwsAdapters {
        AwsAdapters {
            sdk: awsconf::sdk_config().await,
        }
    }

    pub fn from_sdk(sdk: SdkConfig) -> AwsAdapters {
        AwsAdapters { sdk }
    }

    fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        awsconf::dynamodb_client(&self.sdk)
    }

    /// The WebSocket connections table (`EXPORTCENTER_CONNECTIONS_TABLE`).
    pub fn connections(&self, env: &dyn Env) -> Result<Arc<DynamoConnections>, WiringError> {
        Ok(Arc::new(DynamoConnections::new(
            self.dynamo(),
            required_var(env, "EXPORTCENTER_CONNECTIONS_TABLE")?,
        )))
    }

    /// The text of the SSM parameter `name` (the tenant settings document on AWS).
    pub async fn ssm_parameter(&self, name: &str) -> Result<String, WiringError> {
        awsconf::ssm_parameter(&self.sdk, name)
            .await
            .map_err(|reason| {
                WiringError::Config(ConfigError {
                    var: ec_domain::tenant_settings::ENV_TENANT_SETTINGS,
                    reason,
                })
            })
    }

    /// The audit trail's table (`EXPORTCENTER_AUDIT_TABLE`).
    pub fn audit(&self, env: &dyn Env) -> Result<Arc<DynamoAuditLog>, WiringError> {
        Ok(Arc::new(DynamoAuditLog::new(
            self.dynamo(),
            required_var(env, "EXPORTCENTER_AUDIT_TABLE")?,
        )))
    }

    /// Pushes down WebSocket connections (`EXPORTCENTER_WS_MANAGEMENT_ENDPOINT`).
    pub fn push(&self, env: &dyn Env) -> Result<Arc<ApiGatewayPush>, WiringError> {
        let endpoint = awsconf::ws_management_endpoint_var(env).ok_or_else(|| {
            PortError::Invalid("EXPORTCENTER_WS_MANAGEMENT_ENDPOINT is not set".into())
        })?;
        Ok(Arc::new(ApiGatewayPush::new(
            awsconf::apigw_management_client(&self.sdk, &endpoint),
        )))
    }

    /// A KMS client (the sealing key's).
    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk)
    }

    /// Every port over S3, DynamoDB, SQS, API Gateway and EventBridge Scheduler; bundles
    /// are sealed with `signing` (see [`crate::signing`]).
    pub fn ports(
        &self,
        env: &dyn Env,
        policy: &PolicyConfig,
        signing: ec_domain::signing_keys::SigningKeys,
    ) -> Result<Ports, WiringError> {
        let dynamo = self.dynamo();
        let s3 = awsconf::s3_client(&self.sdk, awsconf::s3_force_path_style(env));
        let objects = Arc::new(S3ObjectStore::from_vars(env, s3)?);
        let catalog = Arc::new(DynamoScanCatalog::new(
            dynamo.clone(),
            required_var(env, "EXPORTCENTER_SCANS_TABLE")?,
        ));
        let sources = Sources::from_env(env, policy, objects.clone(), catalog.clone())?;
        Ok(Ports {
            jobs: Arc::new(DynamoJobTable::new(
                dynamo.clone(),
                required_var(env, "EXPORTCENTER_JOBS_TABLE")?,
            )),
            idempotency: Arc::new(DynamoIdempotency::new(
                dynamo.clone(),
                required_var(env, "EXPORTCENTER_IDEMPOTENCY_TABLE")?,
            )),
            queue: Arc::new(SqsQueue::from_vars(env, awsconf::sqs_client(&self.sdk))),
            objects,
            catalog,
            scans: sources.scans,
            verdicts: sources.verdicts,
            vex: sources.vex,
            sboms: sources.sboms,
            connections: self.connections(env)?,
            push: self.push(env)?,
            signing,
            // export-render puts its own renderer in (ec_lambda::run::stage); nothing here
            // references the in-process renderer, so no other function links typst.
            renderer: Arc::new(RendersElsewhere),
            quotas: Arc::new(DynamoQuotas::new(
                dynamo.clone(),
                required_var(env, "EXPORTCENTER_QUOTAS_TABLE")?,
            )),
            schedules: Arc::new(DynamoSchedules::new(
                dynamo,
                required_var(env, "EXPORTCENTER_SCHEDULES_TABLE")?,
            )),
            audit: self.audit(env)?,
            destinations: Arc::new(DynamoDestinations::new(
                self.dynamo(),
                required_var(env, "EXPORTCENTER_DESTINATIONS_TABLE")?,
            )),
            destination_secrets: Arc::new(SsmDestinationSecrets::from_vars(
                env,
                aws_sdk_ssm::Client::new(&self.sdk),
            )),
            resolver: Arc::new(ec_adapters::resolver::SystemResolver),
            http: Arc::new(ec_adapters::http_sender::ReqwestSender::default()),
            mailer: Arc::new(ec_adapters::mailer::SmtpMailer::from_env(env)?),
            buckets: Arc::new(crate::S3BucketWriter::with_config(
                self.sdk.clone(),
                awsconf::s3_force_path_style(env),
            )),
            timestamper: ec_adapters::tsa::HttpTimestamper::from_env(env)?
                .map(|t| Arc::new(t) as Arc<dyn ec_domain::ports::Timestamper>),
            trigger: Arc::new(EventBridgeTrigger::from_vars(
                env,
                awsconf::scheduler_client(&self.sdk),
            )?),
        })
    }
}
