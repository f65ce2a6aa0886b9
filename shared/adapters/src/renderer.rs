//! The [`ReportRenderer`] both stacks use: built-in templates render in process
//! (`ec_render`), a tenant's custom template in the [`sandbox`](crate::sandbox) child.

use ec_domain::StageError;
use ec_domain::env::{ConfigError, Env, parse_var};
use ec_domain::ports::ReportRenderer;
use ec_domain::snapshot::Snapshot;

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

impl ReportRenderer for LocalRenderer {
    fn render(&self, snapshot: Snapshot) -> Result<Vec<u8>, StageError> {
        if snapshot.custom_template.is_some() {
            render_isolated(&snapshot, &self.limits)
        } else {
            ec_render::render(&snapshot).map_err(|e| StageError::permanent(e.code(), e.to_string()))
        }
    }
}
