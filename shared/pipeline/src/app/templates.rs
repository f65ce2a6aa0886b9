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
            ec_render::custom::check(*format, source).map_err(|e| syntax_error(*format, &e))?;
        }
        self.store.put(&template).await?;
        tracing::info!(tenant = %caller.tenant, sha256 = %template.sha256, "custom template stored");
        Ok(TemplateInfo::custom(&template))
    }

    /// `PUT /api/v1/templates/custom-{tenant}/{format}`: one format's source, checked, set
    /// beside the template's other formats (which stay as they are).
    pub async fn put_format(
        &self,
        caller: &Caller,
        name: &str,
        format: &str,
        source: &str,
    ) -> Result<TemplateInfo, ApiError> {
        own_name(caller, name)?;
        let existing = self.store.get(&caller.tenant).await?;
        let now = ec_domain::time::now();
        let template =
            CustomTemplate::with_format(existing.as_ref(), &caller.tenant, format, source, now)?;
        self.put(caller, name, template).await
    }

    /// `GET /api/v1/templates/{name}`: a built-in template's description and formats, or
    /// the tenant's own template with its sources (to that tenant only).
    pub async fn get(&self, caller: &Caller, name: &str) -> Result<TemplateDetail, ApiError> {
        if let Some(TemplateName::Builtin(t)) = TemplateName::parse(name) {
            return Ok(TemplateDetail::Builtin(TemplateInfo::builtin(t)));
        }
        own_name(caller, name)?;
        let t = self.store.get(&caller.tenant).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no template {name:?} uploaded yet"),
            )
        })?;
        Ok(TemplateDetail::Custom(t))
    }

    /// `GET /api/v1/capabilities`: every export type, format and template, and which
    /// combinations render (the tenant's own template with the formats it has sources for).
    pub async fn capabilities(&self, caller: &Caller) -> Result<Capabilities, ApiError> {
        let custom = self.store.get(&caller.tenant).await?;
        let mut templates: Vec<String> = BuiltinTemplate::ALL
            .iter()
            .map(|t| t.as_str().to_string())
            .collect();
        if custom.is_some() {
            templates.push(format!("custom-{}", caller.tenant));
        }
        let mut combinations = Vec::new();
        for &export_type in ExportType::ALL {
            for &format in Format::ALL {
                if !export_type.allows(format) {
                    continue;
                }
                let mut names: Vec<String> = BuiltinTemplate::ALL
                    .iter()
                    .filter(|t| {
                        ec_render::supports(export_type, format, &TemplateName::Builtin(**t))
                    })
                    .map(|t| t.as_str().to_string())
                    .collect();
                if let Some(t) = &custom
                    && ec_render::supports_custom(export_type, format, t)
                {
                    names.push(format!("custom-{}", caller.tenant));
                }
                if !names.is_empty() {
                    combinations.push(Combination {
                        export_type: export_type.as_str(),
                        format: format.as_str(),
                        default_template: export_type.default_template(format).as_str(),
                        templates: names,
                    });
                }
            }
        }
        Ok(Capabilities {
            severities: ec_domain::scan::Severity::ALL
                .iter()
                .map(|s| s.as_str())
                .collect(),
            types: ExportType::ALL.iter().map(|t| t.as_str()).collect(),
            formats: Format::ALL.iter().map(|f| f.as_str()).collect(),
            templates,
            combinations,
        })
    }
}

/// What `GET /api/v1/templates/{name}` answers.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum TemplateDetail {
    Builtin(TemplateInfo),
    Custom(CustomTemplate),
}

/// `GET /api/v1/capabilities`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Capabilities {
    /// What `options.filters.min_severity` accepts, most severe first.
    pub severities: Vec<&'static str>,
    pub types: Vec<&'static str>,
    pub formats: Vec<&'static str>,
    pub templates: Vec<String>,
    pub combinations: Vec<Combination>,
}

/// One type × format that renders, with the templates that render it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Combination {
    #[serde(rename = "type")]
    pub export_type: &'static str,
    pub format: &'static str,
    /// What the request gets without `options.template`.
    pub default_template: &'static str,
    pub templates: Vec<String>,
}

/// A source's syntax error as a 422 on its format, with the place when known.
fn syntax_error(format: Format, e: &ec_render::RenderError) -> ApiError {
    let message = e.to_string();
    let mut detail = ec_domain::error::ErrorDetail::new(format.as_str(), message.clone());
    detail.at = ec_render::custom::syntax_position(&message)
        .map(|(line, column)| ec_domain::error::SourcePosition { line, column });
    let mut err = ApiError::validation(format.as_str(), message);
    err.details = vec![detail];
    err
}
