//! CycloneDX 1.5 JSON, written with `cyclonedx-bom`: the components of every scan in scope
//! with their dependency graph and, except for SBOM exports, the vulnerabilities found with
//! the VEX analysis in force (suppressed findings stay listed). VEX exports list only the
//! vulnerabilities a statement speaks about.
//!
//! The inventory, advisory sources and document identity come from [`crate::common`], so
//! the SPDX and SARIF writers say the same. The parts: [`components`] (the scanned
//! artifacts, their packages and the tools), [`vulnerabilities`] with their ratings and
//! [`analysis`] (the VEX statement in force), [`writer`] (the JSON, vulnerabilities
//! written in batches on every core), and [`vex_only`] (a VEX of VEX documents alone).

mod analysis;
mod components;
mod vex_only;
mod vulnerabilities;
mod writer;

use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component as CdxComponent, Components};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::tool::Tools;
use cyclonedx_bom::prelude::DateTime;

use ec_domain::scan::Scan;
use ec_domain::{ExportType, Format};

use crate::RenderError;
use crate::common::identity::{TOOL_NAME, document_digest, urn_uuid};
use crate::common::inventory::Inventory;
use crate::view::{FindingRow, ReportView};
use components::{
    artifact_component, export_properties, export_ref, library_component, scan_ref, tools,
};
use vulnerabilities::{vulnerability, vulnerability_groups};
use writer::{JSON_RESERVE, valid, write_one, write_with_vulnerabilities};

fn encode_err(reason: impl std::fmt::Display) -> RenderError {
    RenderError::encode(Format::Cyclonedx, reason)
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    let export_type = view.snapshot.request.export_type;
    if view.snapshot.scans.is_empty() {
        // VEX documents alone: their products are the components.
        return vex_only::render(view);
    }
    // SBOM exports carry no findings; VEX exports only the findings a statement covers.
    let listed = |row: &FindingRow<'_>| match export_type {
        ExportType::Sbom => false,
        ExportType::Vex => row.vex.is_some(),
        _ => true,
    };
    let inventory = Inventory::new(view, listed);
    let digest = document_digest(view);
    let scans: Vec<&Scan> = view.snapshot.scans.iter().map(|s| &s.scan).collect();

    let artifacts: Vec<CdxComponent> = scans.iter().map(|s| artifact_component(s)).collect();
    let root = match <[CdxComponent; 1]>::try_from(artifacts) {
        Ok([single]) => single,
        Err(artifacts) => {
            let mut root = CdxComponent::new(
                Classification::Application,
                &format!("{TOOL_NAME} export {}", view.snapshot.export_id),
                "",
                Some(export_ref(&view.snapshot.export_id)),
            );
            root.version = None;
            root.components = Some(Components(artifacts));
            root
        }
    };
    let root_ref = root.bom_ref.clone().unwrap_or_default();

    let mut dependencies = Vec::new();
    if scans.len() != 1 {
        dependencies.push(Dependency {
            dependency_ref: root_ref.clone(),
            dependencies: scans.iter().map(|s| scan_ref(&s.scan_id)).collect(),
        });
    }
    for scan in &scans {
        let graph = inventory.graph(scan);
        dependencies.push(Dependency {
            dependency_ref: scan_ref(&scan.scan_id),
            dependencies: graph
                .top_level
                .iter()
                .map(|&i| inventory.entries[i].bom_ref.clone())
                .collect(),
        });
        for (from, to) in graph.depends_on.into_iter().flatten() {
            dependencies.push(Dependency {
                dependency_ref: inventory.entries[from].bom_ref.clone(),
                dependencies: to
                    .into_iter()
                    .map(|i| inventory.entries[i].bom_ref.clone())
                    .collect(),
            });
        }
    }

    let timestamp = DateTime::try_from(ec_domain::time::rfc3339(view.snapshot.generated_at))
        .map_err(encode_err)?;
    let bom = Bom {
        version: 1,
        serial_number: Some(
            UrnUuid::new(urn_uuid(&digest)).map_err(|e| encode_err(format!("{e:?}")))?,
        ),
        metadata: Some(Metadata {
            timestamp: Some(timestamp),
            tools: Some(Tools::Object {
                services: None,
                components: Some(Components(tools(&scans))),
            }),
            authors: None,
            component: Some(root),
            manufacture: None,
            supplier: None,
            licenses: None,
            properties: Some(export_properties(view.snapshot)),
            lifecycles: None,
        }),
        components: Some(Components(
            inventory.entries.iter().map(library_component).collect(),
        )),
        dependencies: Some(Dependencies(dependencies)),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    };
    // The vulnerabilities are validated as they are made; nothing in the rest of the BOM
    // refers to them.
    valid(&bom)?;
    let mut out = match export_type {
        ExportType::Sbom => write_one(bom, JSON_RESERVE)?,
        _ => write_with_vulnerabilities(bom, &vulnerability_groups(view, &inventory), |rows| {
            let v = vulnerability(view, &inventory, rows);
            valid(&v).map(|()| v)
        })?,
    };
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests;
