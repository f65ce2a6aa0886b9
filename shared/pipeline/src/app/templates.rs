//! The template service behind `/api/v1/templates`: the built-in templates and each
//! tenant's own (`custom-{tenant}`), readable and writable only by that tenant.

use serde::Serialize;

use ec_domain::template::CustomTemplate;
use ec_domain::{ApiError, BuiltinTemplate, ErrorCode, ExportType, Format, TemplateName};

use crate::app::Caller;
use crate::custom_templates::CustomTemplates;

/// One entry of `GET /api/v1/templates`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TemplateInfo {
    pub name: String,
    /// `builtin` or `custom`.
    pub kind: &'static str,
    pub description: &'static str,
    pub formats: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

fn describe(t: BuiltinTemplate) -> &'static str {
    match t {
        BuiltinTemplate::ComplianceExecutive => "High-level summary for executives",
        BuiltinTemplate::ComplianceDetailed => "Full findings with remediation",
        BuiltinTemplate::AuditEvidence => "Audit trail with attestations",
        BuiltinTemplate::DeveloperSarif => "IDE-compatible SARIF output",
    }
}

impl TemplateInfo {
    /// A built-in template with the formats it renders for any export type.
    pub fn builtin(t: BuiltinTemplate) -> Self {
        let name = TemplateName::Builtin(t);
        TemplateInfo {
            name: t.as_str().to_string(),
            kind: "builtin",
            description: describe(t),
            formats: Format::ALL
                .iter()
                .filter(|f| {
                    ExportType::ALL
                        .iter()
                        .any(|ty| ec_render::supports(*ty, **f, &name))
                })
                .map(|f| f.as_str())
                .collect(),
            sha256: None,
            updated_at: None,
        }
    }

    /// A tenant's uploaded template with the formats it has sources for.
    pub fn custom(t: &CustomTemplate) -> Self {
        TemplateInfo {
            name: TemplateName::Custom {
                tenant: t.tenant_id.to_string(),
            }
            .to_string(),
            kind: "custom",
            description: "The tenant's own template",
            formats: t.formats().map(Format::as_str).collect(),
            sha256: Some(t.sha256.clone()),
            updated_at: Some(ec_domain::time::rfc3339(t.updated_at)),
        }
    }
}

/// The caller's own template name; any other name is answered as unknown (404).
pub fn own_name(caller: &Caller, name: &str) -> Result<(), ApiError> {
    match TemplateName::parse(name) {
        Some(TemplateName::Custom { tenant }) if caller.tenant == tenant.as_str() => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no template {name:?} for this tenant"),
        )),
    }
}

/// The template service and the store it uses.
#[derive(Clone)]
pub struct Templates {
    pub store: CustomTemplates,
}

impl Templates {
    /// `GET /api/v1/templates`: the built-in templates with the formats each renders, and
    /// the tenant's own when it uploaded one.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<TemplateInfo>, ApiError> {
        let mut out: Vec<TemplateInfo> = BuiltinTemplate::ALL
            .iter()
            .map(|t| TemplateInfo::builtin(*t))
            .collect();
        if let Some(t) = self.store.get(&caller.tenant).await? {
            out.push(TemplateInfo::custom(&t));
        }
        Ok(out)
    }

    /// `PUT /api/v1/templates/custom-{tenant}`: checks every source's syntax, then stores
    /// the template, replacing the previous one.
    pub async fn put(
        &self,
        caller: &Caller,
        name: &str,
        template: CustomTemplate,
    ) -> Result<TemplateInfo, ApiError> {
        own_name(caller, name)?;
        for (format, source) in &template.sources {
            ec_render::custom::check(*format, source)
                .map_err(|e| ApiError::validation(format.as_str(), e.to_string()))?;
        }
        self.store.put(&template).await?;
        tracing::info!(tenant = %caller.tenant, sha256 = %template.sha256, "custom template stored");
        Ok(TemplateInfo::custom(&template))
    }

    /// `GET /api/v1/templates/custom-{tenant}`: the sources, to the owning tenant only.
    pub async fn get(&self, caller: &Caller, name: &str) -> Result<CustomTemplate, ApiError> {
        own_name(caller, name)?;
        self.store.get(&caller.tenant).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no template {name:?} uploaded yet"),
            )
        })
    }
}
