//! The AWS runtime's start-up: settings and adapters read once per cold start (see
//! `infra/template.yaml` for every variable), and what each function serves built from them:
//! the pipeline, the API's state, the WebSocket routes. The adapters' wiring is
//! `ec_aws::wiring`.

use std::sync::Arc;

use ec_api::auth::AuthConfig;
use ec_api::{ApiState, Auth, CorsOrigins, Limits};
use ec_aws::signing::SigningKey;
use ec_aws::wiring::AwsAdapters;
pub use ec_aws::wiring::WiringError;
use ec_domain::tenant_settings::ENV_TENANT_SETTINGS;
use ec_pipeline::settings::{Env, ProcessEnv, required_var};
use ec_pipeline::{Pipeline, Ports, Settings};

use crate::ws::WsRoutes;

/// Everything a function reads at start-up.
pub struct Aws {
    adapters: AwsAdapters,
    settings: Settings,
    env: Arc<dyn Env + Send + Sync>,
    signing: SigningKey,
}

/// The environment with `EXPORTCENTER_TENANT_SETTINGS` replaced by the document an SSM
/// parameter held.
struct WithTenantSettings {
    base: Arc<dyn Env + Send + Sync>,
    document: String,
}

impl Env for WithTenantSettings {
    fn var(&self, name: &str) -> Option<String> {
        if name == ENV_TENANT_SETTINGS {
            Some(self.document.clone())
        } else {
            self.base.var(name)
        }
    }
}

impl Aws {
    /// From the process environment.
    pub async fn from_env() -> Result<Aws, WiringError> {
        Aws::resolve(Arc::new(ProcessEnv), AwsAdapters::load().await).await
    }

    /// [`Aws::new`] after reading the tenant settings from SSM when
    /// `EXPORTCENTER_TENANT_SETTINGS` names a parameter rather than a file (a value that is
    /// no file in the function's file system, and not the JSON document itself).
    pub async fn resolve(
        env: Arc<dyn Env + Send + Sync>,
        adapters: AwsAdapters,
    ) -> Result<Aws, WiringError> {
        let env = match env.var(ENV_TENANT_SETTINGS) {
            Some(v) if !v.trim_start().starts_with('{') && !std::path::Path::new(&v).is_file() => {
                let document = adapters.ssm_parameter(&v).await?;
                tracing::info!(parameter = %v, "tenant settings read from SSM");
                Arc::new(WithTenantSettings {
                    base: env,
                    document,
                }) as Arc<dyn Env + Send + Sync>
            }
            _ => env,
        };
        let signing = SigningKey::load(env.as_ref(), || adapters.kms()).await?;
        Aws::with_signing(env, adapters, signing)
    }

    /// Without the asynchronous start-up: the sealing key is a PEM or ephemeral (see
    /// `ec_aws::signing`).
    pub fn new(env: Arc<dyn Env + Send + Sync>, adapters: AwsAdapters) -> Result<Aws, WiringError> {
        let signing = SigningKey::local(env.as_ref())?;
        Aws::with_signing(env, adapters, signing)
    }

    fn with_signing(
        env: Arc<dyn Env + Send + Sync>,
        adapters: AwsAdapters,
        signing: SigningKey,
    ) -> Result<Aws, WiringError> {
        Ok(Aws {
            settings: Settings::from_env(env.as_ref())?,
            adapters,
            env,
            signing,
        })
    }

    /// Refuses to go on when bundles would be sealed with a key generated for this
    /// instance and `EXPORTCENTER_ALLOW_EPHEMERAL_KEY` does not allow it (export-seal's
    /// start-up).
    pub fn require_sealing_key(&self) -> Result<(), WiringError> {
        self.signing.for_sealing().map(|_| ())
    }

    /// The tunables read at start-up.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Every port, wired to S3, DynamoDB, SQS, API Gateway and EventBridge Scheduler.
    pub fn ports(&self) -> Result<Ports, WiringError> {
        self.adapters.ports(
            self.env.as_ref(),
            &self.settings.policy,
            self.signing.keys.clone(),
        )
    }

    /// The pipeline over those ports.
    pub fn pipeline(&self) -> Result<Pipeline, WiringError> {
        Ok(Pipeline::new(self.ports()?, self.settings.clone()))
    }

    /// The token verifier: the identity provider's keys when configured, else the shared
    /// secret `EXPORTCENTER_JWT_SECRET` (development only; logged as such).
    fn auth(&self) -> Result<Arc<Auth>, WiringError> {
        let env = self.env.as_ref();
        let config = AuthConfig::from_env(env)?;
        let secret = match config.uses_shared_secret() {
            true => Some(required_var(env, "EXPORTCENTER_JWT_SECRET")?),
            false => None,
        };
        Ok(Arc::new(Auth::new(
            config,
            secret.as_deref().map(str::as_bytes),
        )?))
    }

    /// What `export-api` serves.
    pub fn api_state(&self) -> Result<ApiState, WiringError> {
        let env = self.env.as_ref();
        Ok(ApiState {
            app: self.pipeline()?.app,
            auth: self.auth()?,
            limits: Limits::from_env(env)?,
            cors: CorsOrigins::from_env(env)?,
        })
    }

    /// What `export-notify` serves.
    pub fn ws_routes(&self) -> Result<WsRoutes, WiringError> {
        Ok(WsRoutes {
            auth: self.auth()?,
            audit: ec_pipeline::app::Audit {
                log: self.adapters.audit(self.env.as_ref())?,
            },
            registry: self.adapters.connections(self.env.as_ref())?,
            push: self.adapters.push(self.env.as_ref())?,
            ttl: self.settings.connection_ttl,
        })
    }
}
