//! A CycloneDX VEX made of VEX documents alone (no scan, no SBOM): the products the
//! statements name become the BOM's components, and each statement of the export
//! ([`crate::common::vex_export`]) one vulnerability whose `affects` point at them, with
//! its impact analysis. So an OpenVEX or CSAF VEX converts to CycloneDX VEX as well.

use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component as CdxComponent, Components};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::vulnerability::{Vulnerabilities, Vulnerability};
use cyclonedx_bom::models::vulnerability_source::VulnerabilitySource;
use cyclonedx_bom::models::vulnerability_target::{VulnerabilityTarget, VulnerabilityTargets};
use cyclonedx_bom::prelude::{DateTime, NormalizedString, Purl, Uri};

use ec_domain::scan::VexStatement;

use super::analysis::analysis;
use super::components::{export_properties, export_ref};
use super::encode_err;
use super::writer::{JSON_RESERVE, valid, write_one};
use crate::RenderError;
use crate::common::advisory::advisory_source;
use crate::common::identity::{TOOL_NAME, document_digest, urn_uuid};
use crate::common::package::valid_purl;
use crate::common::vex_export::{ExportStatement, statements};
use crate::view::ReportView;

fn product_ref(i: usize) -> String {
    format!("exportcenter:vex-product/{}", i + 1)
}

fn product_component(name: &str, i: usize) -> CdxComponent {
    let mut c = CdxComponent::new(Classification::Library, name, "", Some(product_ref(i)));
    c.version = None;
    c.purl = Some(name)
        .filter(|p| valid_purl(p))
        .and_then(|p| p.parse::<Purl>().ok());
    c
}

/// The statement as the VEX statement the analysis is made from.
fn as_statement(s: &ExportStatement<'_>) -> VexStatement {
    VexStatement {
        vulnerability_id: s.vulnerability_id.to_string(),
        products: s.products.clone(),
        status: s.status,
        justification: s.justification.map(str::to_string),
        impact_statement: s.impact_statement.map(str::to_string),
        action_statement: s.action_statement.map(str::to_string),
        timestamp: s.timestamp,
        source: s.source.map(str::to_string),
    }
}

pub(super) fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    let snap = view.snapshot;
    let list = statements(view);
    if list.is_empty() {
        return Err(encode_err(
            "no VEX statement in scope: neither a statement in force for a finding nor an input VEX document",
        ));
    }
    let mut products: Vec<&str> = list
        .iter()
        .flat_map(|s| s.products.iter().map(String::as_str))
        .collect();
    products.sort_unstable();
    products.dedup();
    let index = |p: &str| products.binary_search(&p).unwrap_or(0);

    let vulnerabilities: Vec<Vulnerability> = list
        .iter()
        .map(|s| {
            let mut v = Vulnerability::new(None);
            v.id = Some(NormalizedString::new(s.vulnerability_id));
            let source = advisory_source(s.vulnerability_id, &[] as &[&str]);
            v.vulnerability_source = Some(VulnerabilitySource::new(
                Some(source.name),
                Uri::try_from(source.url).ok(),
            ));
            v.vulnerability_analysis = Some(analysis(&as_statement(s)));
            v.vulnerability_targets = Some(VulnerabilityTargets(
                s.products
                    .iter()
                    .map(|p| VulnerabilityTarget {
                        bom_ref: product_ref(index(p)),
                        versions: None,
                    })
                    .collect(),
            ));
            v
        })
        .collect();

    let mut root = CdxComponent::new(
        Classification::Application,
        &format!("{TOOL_NAME} export {}", snap.export_id),
        "",
        Some(export_ref(&snap.export_id)),
    );
    root.version = None;
    let timestamp =
        DateTime::try_from(ec_domain::time::rfc3339(snap.generated_at)).map_err(encode_err)?;
    let bom = Bom {
        version: 1,
        serial_number: Some(
            UrnUuid::new(urn_uuid(&document_digest(view)))
                .map_err(|e| encode_err(format!("{e:?}")))?,
        ),
        metadata: Some(Metadata {
            timestamp: Some(timestamp),
            tools: None,
            authors: None,
            component: Some(root),
            manufacture: None,
            supplier: None,
            licenses: None,
            properties: Some(export_properties(snap)),
            lifecycles: None,
        }),
        components: Some(Components(
            products
                .iter()
                .enumerate()
                .map(|(i, p)| product_component(p, i))
                .collect(),
        )),
        vulnerabilities: Some(Vulnerabilities(vulnerabilities)),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    };
    valid(&bom)?;
    let mut out = write_one(bom, JSON_RESERVE)?;
    out.push(b'\n');
    Ok(out)
}
