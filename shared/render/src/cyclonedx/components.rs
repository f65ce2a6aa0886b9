//! The BOM's components: the scanned artifacts (containers or applications, the document's
//! root or under it), the packages of the inventory with their purls and licenses, and the
//! tools that made the document; and the references and serial number that name them.

use std::collections::BTreeSet;

use cyclonedx_bom::models::component::{Classification, Component as CdxComponent};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::prelude::Purl;

use ec_domain::scan::Scan;

use crate::common::identity::{TOOL_NAME, TOOL_VERSION, artifact_sha256, is_image};
use crate::common::inventory::Entry;
use crate::common::package::{is_listed_license_id, spdx_expression, valid_purl};

pub(super) fn export_ref(export_id: &str) -> String {
    format!("exportcenter:export/{export_id}")
}

/// The BOM's own properties: which export, of which type, for which tenant.
pub(super) fn export_properties(snap: &ec_domain::snapshot::Snapshot) -> Properties {
    Properties(vec![
        Property::new("exportcenter:export_id", &snap.export_id),
        Property::new(
            "exportcenter:export_type",
            snap.request.export_type.as_str(),
        ),
        Property::new("exportcenter:tenant", &snap.tenant_id),
    ])
}

pub(super) fn scan_ref(scan_id: &str) -> String {
    format!("exportcenter:scan/{scan_id}")
}

pub(super) fn tools(scans: &[&Scan]) -> Vec<CdxComponent> {
    let mut tools = vec![CdxComponent::new(
        Classification::Application,
        TOOL_NAME,
        TOOL_VERSION,
        None,
    )];
    let scanners: BTreeSet<(&str, &str)> = scans
        .iter()
        .map(|s| {
            (
                s.scanner.name.as_str(),
                s.scanner.version.as_deref().unwrap_or(""),
            )
        })
        .collect();
    for (name, version) in scanners {
        let mut c = CdxComponent::new(Classification::Application, name, version, None);
        if version.is_empty() {
            c.version = None;
        }
        tools.push(c);
    }
    tools
}

/// The scanned artifact: a container for images, an application otherwise.
pub(super) fn artifact_component(scan: &Scan) -> CdxComponent {
    let a = &scan.artifact;
    let kind = if is_image(a) {
        Classification::Container
    } else {
        Classification::Application
    };
    let mut c = CdxComponent::new(kind, &a.name, "", Some(scan_ref(&scan.scan_id)));
    c.version = None;
    c.hashes = artifact_sha256(a).map(|h| {
        Hashes(vec![Hash {
            alg: HashAlgorithm::SHA_256,
            content: HashValue(h),
        }])
    });
    let mut props = vec![
        Property::new("exportcenter:scan_id", &scan.scan_id),
        Property::new("exportcenter:artifact_kind", &a.kind),
        Property::new("exportcenter:source_format", &scan.source_format),
    ];
    if scan.scanned_at_known {
        props.push(Property::new(
            "exportcenter:scanned_at",
            &ec_domain::time::rfc3339(scan.scanned_at),
        ));
    }
    if let Some(d) = &a.digest {
        props.push(Property::new("exportcenter:digest", d));
    }
    if let Some(os) = &a.os {
        props.push(Property::new("exportcenter:os", os));
    }
    c.properties = Some(Properties(props));
    c
}

pub(super) fn library_component(e: &Entry<'_>) -> CdxComponent {
    let comp = &e.component;
    let mut c = CdxComponent::new(
        Classification::Library,
        &comp.name,
        &comp.version,
        Some(e.bom_ref.clone()),
    );
    if comp.version.is_empty() {
        c.version = None;
    }
    c.purl = comp
        .purl
        .as_deref()
        .filter(|p| valid_purl(p))
        .and_then(|p| p.parse::<Purl>().ok());
    c.licenses = cdx_licenses(&comp.licenses);
    let mut props = Vec::new();
    if let Some(t) = &comp.package_type {
        props.push(Property::new("exportcenter:package_type", t));
    }
    if let Some(l) = &comp.location {
        props.push(Property::new("exportcenter:location", l));
    }
    if c.purl.is_none()
        && let Some(p) = &comp.purl
    {
        // Kept for the reader, though the purl library rejects it.
        props.push(Property::new("exportcenter:purl", p));
    }
    c.properties = (!props.is_empty()).then_some(Properties(props));
    c
}

/// CycloneDX takes either license entries (an id exactly on the schema's SPDX list, or a free
/// name) or one SPDX expression ("or later" forms spelled as their listed ids).
pub(super) fn cdx_licenses(licenses: &[String]) -> Option<Licenses> {
    if licenses.is_empty() {
        return None;
    }
    let all_ids = licenses.iter().all(|l| is_listed_license_id(l));
    if !all_ids && let Some(expr) = spdx_expression(licenses) {
        return Some(Licenses(vec![LicenseChoice::expression(&expr)]));
    }
    Some(Licenses(
        licenses
            .iter()
            .map(|l| {
                LicenseChoice::License(if is_listed_license_id(l) {
                    License::license_id(l)
                } else {
                    License::named_license(l)
                })
            })
            .collect(),
    ))
}
