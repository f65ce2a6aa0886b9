//! A tenant's own report template (`PUT /api/v1/templates/custom-{tenant}`): typst source for
//! PDF, tera sources for the text formats. The upload body names one source per format:
//! `{ "pdf": "<typst>", "csv": "<tera>", "json": "<tera>" }` (at least one).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::id_types::TenantId;
use crate::request::Format;

/// Largest source accepted per format: templates are code, not data.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// The formats a custom template may provide, and the language each is written in.
pub const CUSTOM_FORMATS: [(Format, &str); 3] = [
    (Format::Pdf, "typst"),
    (Format::Csv, "tera"),
    (Format::Json, "tera"),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomTemplate {
    pub tenant_id: TenantId,
    /// Source per format (`pdf` → typst, `csv`/`json` → tera), keyed by format name.
    pub sources: BTreeMap<Format, String>,
    /// sha256 of the canonical JSON of `sources`: what the audit trail records.
    pub sha256: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl CustomTemplate {
    /// Reads an upload body; syntax is checked by the renderers, not here.
    pub fn from_upload(
        tenant: &TenantId,
        body: &Value,
        updated_at: OffsetDateTime,
    ) -> Result<CustomTemplate, ApiError> {
        let Value::Object(fields) = body else {
            return Err(ApiError::validation(
                "body",
                "must be an object of sources by format: pdf (typst), csv or json (tera)",
            ));
        };
        let mut sources = BTreeMap::new();
        for (name, value) in fields {
            let Some((format, _)) = CUSTOM_FORMATS.iter().find(|(f, _)| f.as_str() == name) else {
                return Err(ApiError::validation(
                    name,
                    "unknown format; a custom template provides pdf (typst), csv or json (tera)",
                ));
            };
            let Value::String(source) = value else {
                return Err(ApiError::validation(
                    name,
                    "must be the template source as a string",
                ));
            };
            if source.trim().is_empty() {
                return Err(ApiError::validation(name, "is empty"));
            }
            if source.len() > MAX_SOURCE_BYTES {
                return Err(ApiError::validation(
                    name,
                    format!("is larger than {MAX_SOURCE_BYTES} bytes"),
                ));
            }
            sources.insert(*format, source.clone());
        }
        if sources.is_empty() {
            return Err(ApiError::validation(
                "body",
                "give at least one source: pdf (typst), csv or json (tera)",
            ));
        }
        let sha256 = crate::ids::canonical_json_sha256(&sources);
        Ok(CustomTemplate {
            tenant_id: tenant.clone(),
            sources,
            sha256,
            updated_at,
        })
    }

    /// `existing` (if any) with the source of one format set: what `PUT
    /// /api/v1/templates/custom-{tenant}/{format}` stores. The same checks as an upload.
    pub fn with_format(
        existing: Option<&CustomTemplate>,
        tenant: &TenantId,
        format: &str,
        source: &str,
        updated_at: OffsetDateTime,
    ) -> Result<CustomTemplate, ApiError> {
        let mut body = serde_json::Map::new();
        for (f, text) in existing.map(|t| &t.sources).into_iter().flatten() {
            body.insert(f.as_str().to_string(), Value::String(text.clone()));
        }
        body.insert(format.to_string(), Value::String(source.to_string()));
        CustomTemplate::from_upload(tenant, &Value::Object(body), updated_at)
    }

    pub fn formats(&self) -> impl Iterator<Item = Format> + '_ {
        self.sources.keys().copied()
    }

    pub fn source(&self, format: Format) -> Option<&str> {
        self.sources.get(&format).map(String::as_str)
    }
}

/// The language a custom template for `format` is written in.
pub fn language(format: Format) -> Option<&'static str> {
    CUSTOM_FORMATS
        .iter()
        .find(|(f, _)| *f == format)
        .map(|(_, l)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AT: OffsetDateTime = time::macros::datetime!(2025-01-01 00:00 UTC);

    #[test]
    fn upload_names_formats() {
        let t = CustomTemplate::from_upload(
            &"acme".parse().unwrap(),
            &json!({ "pdf": "= Hello", "csv": "{{ export.export_id }}" }),
            AT,
        )
        .unwrap();
        assert_eq!(
            t.formats().collect::<Vec<_>>(),
            vec![Format::Pdf, Format::Csv]
        );
        assert_eq!(t.source(Format::Pdf), Some("= Hello"));
        assert_eq!(t.sha256.len(), 64);
    }

    #[test]
    fn upload_rejects_unknown_and_empty() {
        let code = |b: Value| {
            CustomTemplate::from_upload(&"acme".parse().unwrap(), &b, AT)
                .unwrap_err()
                .details[0]
                .field
                .clone()
        };
        assert_eq!(code(json!({ "xlsx": "x" })), "xlsx");
        assert_eq!(code(json!({ "pdf": " " })), "pdf");
        assert_eq!(code(json!({ "pdf": 3 })), "pdf");
        assert_eq!(code(json!({})), "body");
        assert_eq!(code(json!([])), "body");
        let big = "x".repeat(MAX_SOURCE_BYTES + 1);
        assert_eq!(code(json!({ "csv": big })), "csv");
    }
}
