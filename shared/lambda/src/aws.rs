//! The AWS stack, built once per cold start from the environment (see `infra/template.yaml`
//! for every variable). Clients honour `AWS_ENDPOINT_URL`, so the same code runs against a
//! local emulator.

use std::sync::Arc;

use aws_config::SdkConfig;

use ec_adapters::renderer::LocalRenderer;
use ec_adapters::sources::Sources;
use ec_api::{ApiState, Auth, Limits};
use ec_aws::config::{self as awsconf, required_env};
use ec_aws::dynamodb::{
    DynamoConnections, DynamoIdempotency, DynamoJobTable, DynamoScanCatalog, DynamoSchedules,
};
use ec_aws::{ApiGatewayPush, EventBridgeTrigger, S3ObjectStore, SqsQueue};
use ec_domain::PortError;
use ec_pipeline::settings::{ConfigError, Env, ProcessEnv, parse_var};
use ec_pipeline::{Pipeline, Ports, Settings};

use crate::ws::WsRoutes;

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Port(#[from] PortError),
    #[error("the signing key: {0}")]
    Key(String),
}

/// Everything read at start-up.
pub struct Aws {
    sdk: SdkConfig,
    settings: Settings,
}

impl Aws {
    pub async fn from_env() -> Result<Aws, WiringError> {
        Ok(Aws {
            sdk: awsconf::sdk_config().await,
            settings: Settings::from_env(&ProcessEnv)?,
        })
    }

    fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        awsconf::dynamodb_client(&self.sdk)
    }

    fn push(&self) -> Result<Arc<ApiGatewayPush>, WiringError> {
        let endpoint = awsconf::ws_management_endpoint_from_env().ok_or_else(|| {
            PortError::Invalid("EXPORTCENTER_WS_MANAGEMENT_ENDPOINT is not set".into())
        })?;
        Ok(Arc::new(ApiGatewayPush::new(
            awsconf::apigw_management_client(&self.sdk, &endpoint),
        )))
    }

    /// The tunables read at start-up.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The pipeline over S3, DynamoDB, SQS, API Gateway and EventBridge Scheduler.
    pub fn pipeline(&self) -> Result<Pipeline, WiringError> {
        Ok(Pipeline::new(self.ports()?, self.settings.clone()))
    }

    /// Every port, wired to S3, DynamoDB, SQS, API Gateway and EventBridge Scheduler.
    pub fn ports(&self) -> Result<Ports, WiringError> {
        let env = &ProcessEnv;
        let dynamo = self.dynamo();
        let s3 = awsconf::s3_client(&self.sdk, awsconf::s3_force_path_style_from_env());
        let objects = Arc::new(S3ObjectStore::from_env(s3)?);
        let catalog = Arc::new(DynamoScanCatalog::new(
            dynamo.clone(),
            required_env("EXPORTCENTER_SCANS_TABLE")?,
        ));
        let sources =
            Sources::from_env(env, &self.settings.policy, objects.clone(), catalog.clone())?;
        let signer = signer(env)?;
        let ports = Ports {
            jobs: Arc::new(DynamoJobTable::new(
                dynamo.clone(),
                required_env("EXPORTCENTER_JOBS_TABLE")?,
            )),
            idempotency: Arc::new(DynamoIdempotency::new(
                dynamo.clone(),
                required_env("EXPORTCENTER_IDEMPOTENCY_TABLE")?,
            )),
            queue: Arc::new(SqsQueue::from_env(awsconf::sqs_client(&self.sdk))),
            objects,
            catalog,
            scans: sources.scans,
            verdicts: sources.verdicts,
            vex: sources.vex,
            sboms: sources.sboms,
            connections: Arc::new(DynamoConnections::new(
                dynamo.clone(),
                required_env("EXPORTCENTER_CONNECTIONS_TABLE")?,
            )),
            push: self.push()?,
            signer,
            renderer: Arc::new(LocalRenderer::from_env(env)?),
            schedules: Arc::new(DynamoSchedules::new(
                dynamo,
                required_env("EXPORTCENTER_SCHEDULES_TABLE")?,
            )),
            trigger: Arc::new(EventBridgeTrigger::from_env(awsconf::scheduler_client(
                &self.sdk,
            ))?),
        };
        Ok(ports)
    }

    /// What `export-api` serves.
    pub fn api_state(&self) -> Result<ApiState, WiringError> {
        let d = Limits::default();
        Ok(ApiState {
            app: self.pipeline()?.app,
            auth: Arc::new(Auth::hs256(jwt_secret(&ProcessEnv)?.as_bytes())),
            limits: Limits {
                request_bytes: parse_var(
                    &ProcessEnv,
                    "EXPORTCENTER_MAX_REQUEST_BYTES",
                    d.request_bytes,
                )?,
                scan_bytes: parse_var(&ProcessEnv, "EXPORTCENTER_MAX_SCAN_BYTES", d.scan_bytes)?,
            },
        })
    }

    /// What `export-notify` serves.
    pub fn ws_routes(&self) -> Result<WsRoutes, WiringError> {
        Ok(WsRoutes {
            auth: Arc::new(Auth::hs256(jwt_secret(&ProcessEnv)?.as_bytes())),
            registry: Arc::new(DynamoConnections::new(
                self.dynamo(),
                required_env("EXPORTCENTER_CONNECTIONS_TABLE")?,
            )),
            push: self.push()?,
            ttl: self.settings.connection_ttl,
        })
    }
}

fn jwt_secret(env: &dyn Env) -> Result<String, ConfigError> {
    env.var("EXPORTCENTER_JWT_SECRET").ok_or(ConfigError {
        var: "EXPORTCENTER_JWT_SECRET",
        reason: "required".into(),
    })
}

/// The sealing key: `EXPORTCENTER_SIGNING_KEY_PEM` (PKCS#8 Ed25519), else a key generated
/// per cold start (bundles then still verify offline against their embedded public key,
/// but cannot be pinned to one key — set the variable in production).
fn signer(env: &dyn Env) -> Result<Arc<ec_seal::Ed25519Signer>, WiringError> {
    match env.var("EXPORTCENTER_SIGNING_KEY_PEM") {
        Some(pem) => ec_seal::Ed25519Signer::from_pkcs8_pem(&pem)
            .map(Arc::new)
            .map_err(|e| WiringError::Key(e.to_string())),
        None => {
            tracing::warn!(
                "EXPORTCENTER_SIGNING_KEY_PEM not set: using a key generated for this instance"
            );
            Ok(Arc::new(ec_seal::Ed25519Signer::generate()))
        }
    }
}
