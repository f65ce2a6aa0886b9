//! The [`ReportRenderer`] both stacks use: built-in templates render in process
//! (`ec_render`), a tenant's custom template in the [`sandbox`](crate::sandbox) child.

use ec_domain::env::{ConfigError, Env, parse_var};
use ec_domain::ports::ReportRenderer;
use ec_domain::snapshot::Snapshot;
use ec_domain::{FailureCode, StageCode, StageError};

use crate::sandbox::{SandboxLimits, render_isolated};

/// Renders on this machine; custom templates under [`SandboxLimits`].
#[derive(Debug, Clone, Default)]
pub struct LocalRenderer {
    pub limits: SandboxLimits,
}

impl LocalRenderer {
    /// `EXPORTCENTER_TEMPLATE_TIMEOUT_SECS`, `EXPORTCENTER_TEMPLATE_MEMORY_MB`.
    pub fn from_env(env: &dyn Env) -> Result<LocalRenderer, ConfigError> {
        let d = SandboxLimits::default();
        Ok(LocalRenderer {
            limits: SandboxLimits {
                program: None,
                timeout: std::time::Duration::from_secs(parse_var(
                    env,
                    "EXPORTCENTER_TEMPLATE_TIMEOUT_SECS",
                    d.timeout.as_secs(),
                )?),
                memory_bytes: parse_var(
                    env,
                    "EXPORTCENTER_TEMPLATE_MEMORY_MB",
                    d.memory_bytes / (1024 * 1024),
                )? * 1024
                    * 1024,
            },
        })
    }
}

/// The failure code a render error leaves on the job.
pub fn render_failure(e: &ec_render::RenderError) -> StageError {
    let code = FailureCode::parse(e.code()).unwrap_or(StageCode::RenderEncode.into());
    StageError::permanent(code, e.to_string())
}

impl ReportRenderer for LocalRenderer {
    fn render(&self, snapshot: Snapshot) -> Result<Vec<u8>, StageError> {
        if snapshot.custom_template.is_some() {
            render_isolated(&snapshot, &self.limits)
        } else {
            ec_render::render(&snapshot).map_err(|e| render_failure(&e))
        }
    }
}
