//! The [`ReportRenderer`] both stacks use: built-in templates render in process
//! (`ec_render`), a tenant's custom template in the [`sandbox`](crate::sandbox) child. And
//! [`RendersElsewhere`], the renderer of every Lambda function but export-render: holding
//! no reference to `ec_render::render`, their binaries link no typst, however the workspace
//! is built (feature unification turns `ec-render/pdf` on for all of them).

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

/// The renderer of a function that does not render (gather, seal, api, notify, schedule):
/// a render message that reached it is a deployment error, failed for good.
#[derive(Debug, Clone, Copy, Default)]
pub struct RendersElsewhere;

impl ReportRenderer for RendersElsewhere {
    fn render(&self, _snapshot: Snapshot) -> Result<Vec<u8>, StageError> {
        Err(StageError::permanent(
            ec_domain::StageCode::RenderUnsupported,
            "this function does not render reports: render messages go to export-render",
        ))
    }
}
