//! The `s3` destination's writes, behind the [`BucketWriter`] port, on both stacks: the
//! tenant's bucket is written with the credentials of the role the tenant grants
//! (`sts:AssumeRole` with the destination's external id, a fresh session per delivery), or,
//! when the deployment allows it and the destination names no role, with the service's
//! own credentials. On the AWS stack the SDK configuration is the stack's; on the embedded
//! stack it is the standard chain with what the stack's [`Env`] says over it
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
//! `AWS_SESSION_TOKEN`), loaded on first use so that a stack that never delivers to a
//! bucket never needs AWS credentials.

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::primitives::ByteStream;
use ec_domain::PortError;
use ec_domain::env::Env;
use ec_domain::ports::{BucketObject, BucketTarget, BucketWriter, PortResult};
use tokio::sync::OnceCell;

use crate::config::{optional_var, s3_client, s3_force_path_style};
use crate::sdk_error::port_error;

/// What the stack's [`Env`] says over the SDK's standard chain.
#[derive(Default)]
struct Overrides {
    endpoint: Option<String>,
    region: Option<String>,
    /// Access key, secret key, session token.
    keys: Option<(String, String, Option<String>)>,
}

/// [`BucketWriter`] over S3 and STS.
pub struct S3BucketWriter {
    config: OnceCell<SdkConfig>,
    overrides: Overrides,
    force_path_style: bool,
}

impl S3BucketWriter {
    /// The embedded stack's: the standard chain under what `env` sets, loaded when first
    /// used; path-style addressing when `EXPORTCENTER_S3_FORCE_PATH_STYLE` says so.
    pub fn from_env(env: &dyn Env) -> S3BucketWriter {
        let var = |name| optional_var(env, name);
        let keys = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some((id, secret, var("AWS_SESSION_TOKEN"))),
            _ => None,
        };
        S3BucketWriter {
            config: OnceCell::new(),
            overrides: Overrides {
                endpoint: var("AWS_ENDPOINT_URL"),
                region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
                keys,
            },
            force_path_style: s3_force_path_style(env),
        }
    }

    /// The AWS stack's: writes with `config`, already loaded.
    pub fn with_config(config: SdkConfig, force_path_style: bool) -> S3BucketWriter {
        S3BucketWriter {
            config: OnceCell::new_with(Some(config)),
            overrides: Overrides::default(),
            force_path_style,
        }
    }

    async fn load(&self) -> SdkConfig {
        let o = &self.overrides;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(endpoint) = &o.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &o.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some((id, secret, token)) = &o.keys {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id,
                secret,
                token.clone(),
                None,
                "exportcenter-environment",
            ));
        }
        loader.load().await
    }

    /// An S3 client with the target's credentials: the assumed role's, or the service's.
    async fn client(&self, target: &BucketTarget) -> PortResult<aws_sdk_s3::Client> {
        let base = self.config.get_or_init(|| self.load()).await;
        let Some(role_arn) = &target.role_arn else {
            return Ok(s3_client(base, self.force_path_style));
        };
        let sts = aws_sdk_sts::Client::new(base);
        let assumed = sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(&target.session_name)
            .set_external_id(target.external_id.clone())
            .duration_seconds(900)
            .send()
            .await
            .map_err(|e| invalid_unless_retryable(port_error("assuming the role", e)))?;
        let c = assumed.credentials().ok_or_else(|| {
            PortError::Invalid("assuming the role returned no credentials".into())
        })?;
        let credentials = aws_sdk_s3::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "exportcenter-assumed-role",
        );
        let conf = aws_sdk_s3::config::Builder::from(base)
            .credentials_provider(credentials)
            .force_path_style(self.force_path_style)
            .build();
        Ok(aws_sdk_s3::Client::from_conf(conf))
    }
}

/// The tenant's side refusing (access denied, no such bucket, a role that cannot be
/// assumed) is for good; throttling and outages stay worth retrying.
fn invalid_unless_retryable(e: PortError) -> PortError {
    match e {
        PortError::Unavailable(m) => PortError::Unavailable(m),
        other => PortError::Invalid(other.to_string()),
    }
}

#[async_trait]
impl BucketWriter for S3BucketWriter {
    async fn put(&self, target: &BucketTarget, objects: &[BucketObject]) -> PortResult<()> {
        let client = self.client(target).await?;
        for o in objects {
            client
                .put_object()
                .bucket(&target.bucket)
                .key(&o.key)
                .content_type(&o.content_type)
                .body(ByteStream::from(o.body.clone()))
                .send()
                .await
                .map_err(|e| {
                    invalid_unless_retryable(port_error(
                        &format!("writing s3://{}/{}", target.bucket, o.key),
                        e,
                    ))
                })?;
        }
        Ok(())
    }
}
