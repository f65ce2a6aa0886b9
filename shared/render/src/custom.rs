//! Tenants' own templates: tera for the text formats, typst for PDF. Both read the report
//! document (`exportcenter.report/v1`, what the JSON format writes; see
//! [`crate::common::document`]) as their only data (typst reads it from `/data.json`). Tera
//! runs with nothing but that context: no files, no environment, no clock.

use std::collections::HashMap;

use ec_domain::Format;
use ec_domain::template::CustomTemplate;
use serde_json::Value;

use crate::RenderError;
use crate::common::document::document;
use crate::view::ReportView;

/// Largest output a custom template may produce.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

const NAME: &str = "custom";

fn template_error(format: Format, e: &tera::Error) -> RenderError {
    // tera nests the useful part (line, column, cause) in the error's sources.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    RenderError::Template { format, message }
}

fn engine(format: Format, source: &str) -> Result<tera::Tera, RenderError> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    // The one built-in that reaches outside the data: it would read the worker's secrets.
    tera.register_function("get_env", |_: &HashMap<String, Value>| {
        Err(tera::Error::msg(
            "get_env is not available in custom templates",
        ))
    });
    tera.add_raw_template(NAME, source)
        .map_err(|e| template_error(format, &e))?;
    Ok(tera)
}

/// Checks a source at upload time, so a syntax error is a 422 then, not a failed export
/// later.
pub fn check(format: Format, source: &str) -> Result<(), RenderError> {
    match format {
        Format::Pdf => ec_pdf::check_syntax(source)
            .map_err(|message| RenderError::Template { format, message }),
        _ => engine(format, source).map(|_| ()),
    }
}

/// Where a syntax error of [`check`] is in its source (line, column, from 1), read from
/// the message: typst's is ours (`template error at /main.typ:L:C: …`), tera's carries its
/// parser's ` --> L:C`. `None` when the message names no place.
pub fn syntax_position(message: &str) -> Option<(u32, u32)> {
    let after = |marker: &str| {
        let rest = &message[message.find(marker)? + marker.len()..];
        let mut parts = rest.splitn(3, |c: char| c == ':' || c.is_whitespace());
        let line = parts.next()?.parse().ok()?;
        let column = parts.next()?.parse().ok()?;
        Some((line, column))
    };
    after(".typ:").or_else(|| after(" --> "))
}

/// Renders with the tenant's template for the requested format.
pub fn render(
    view: &ReportView<'_>,
    template: &CustomTemplate,
    format: Format,
) -> Result<Vec<u8>, RenderError> {
    let Some(source) = template.source(format) else {
        return Err(RenderError::Unsupported {
            format,
            template: view.snapshot.request.template.to_string(),
        });
    };
    let out = match format {
        #[cfg(feature = "pdf")]
        Format::Pdf => {
            let data =
                serde_json::to_vec(&document(view)).map_err(|e| RenderError::encode(format, e))?;
            let snap = view.snapshot;
            let opts = ec_pdf::Options {
                ident: format!("{}/{}", snap.tenant_id, snap.export_id),
                generated_at: snap.generated_at,
            };
            ec_pdf::compile(source, &data, &opts).map_err(|e| RenderError::Template {
                format,
                message: e.to_string(),
            })?
        }
        #[cfg(not(feature = "pdf"))]
        Format::Pdf => return Err(RenderError::NotBuilt { format }),
        _ => {
            let context = tera::Context::from_serialize(document(view))
                .map_err(|e| template_error(format, &e))?;
            engine(format, source)?
                .render(NAME, &context)
                .map_err(|e| template_error(format, &e))?
                .into_bytes()
        }
    };
    if out.len() > MAX_OUTPUT_BYTES {
        return Err(RenderError::Template {
            format,
            message: format!("the output is larger than {MAX_OUTPUT_BYTES} bytes"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_say_where() {
        let tera = check(Format::Csv, "id\n{% for f in findings %}{{ f.id }\n").unwrap_err();
        assert_eq!(syntax_position(&tera.to_string()), Some((2, 32)), "{tera}");
        let typst = check(Format::Pdf, "ok\n\n#let x = (1, 2\n").unwrap_err();
        let (line, _) = syntax_position(&typst.to_string()).expect("a position");
        assert_eq!(line, 3, "{typst}");
        assert_eq!(syntax_position("no place here"), None);
    }
}
