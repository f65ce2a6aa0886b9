//! SPDX 2.3 JSON, written with `spdx-rs`. Its model follows SPDX 2.2 and defaults the
//! version to `SPDX-2.2`; every field written here means the same in 2.3, so the document
//! says `SPDX-2.3` (the conformance tests check it with pyspdxtools as 2.3).
//!
//! One root package per scan (the scanned artifact) that the document DESCRIBES and that
//! CONTAINS each component of the scan; DEPENDS_ON between components where the scanned
//! document gave a dependency graph. Each vulnerability found in a package is a SECURITY
//! `advisory` reference of that package.

use std::io::Write as _;

use std::collections::{BTreeMap, BTreeSet};

use spdx_rs::models::{
    Algorithm, Checksum, CreationInfo, DocumentCreationInformation, ExternalPackageReference,
    ExternalPackageReferenceCategory, PackageInformation, PrimaryPackagePurpose, Relationship,
    RelationshipType, SPDX, SpdxExpression,
};

use ec_domain::Format;
use ec_domain::scan::Scan;

use crate::RenderError;
use crate::common::advisory::{URL_COMPONENT, advisory_url};
use crate::common::identity::{
    TOOL_NAME, TOOL_VERSION, artifact_sha256, document_digest, is_image, scanner_label,
};
use crate::common::inventory::{Entry, Inventory};
use crate::common::package::{spdx_expression, valid_purl};
use crate::view::ReportView;

const NOASSERTION: &str = "NOASSERTION";
const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";

fn encode_err(reason: impl std::fmt::Display) -> RenderError {
    RenderError::encode(Format::Spdx, reason)
}

/// Writes the SPDX document to `out` as it is serialised.
pub fn write(view: &ReportView<'_>, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let snap = view.snapshot;
    let inventory = Inventory::new(view, |_| true);
    let scans: Vec<&Scan> = snap.scans.iter().map(|s| &s.scan).collect();
    let noassertion = SpdxExpression::default();

    // Vulnerabilities by the entry they were found in.
    let mut advisories: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (i, row) in view.findings.iter().enumerate() {
        let Some(e) = inventory.entry_of(i) else {
            continue;
        };
        let f = row.finding;
        let mut comment = format!("{} ({})", f.vulnerability_id, f.severity.as_str());
        if let Some(fixed) = &f.fixed_version {
            comment.push_str(&format!("; fixed in {fixed}"));
        }
        if let Some(v) = row.vex {
            comment.push_str(&format!("; VEX {}", v.status.as_str()));
        }
        advisories
            .entry(e.bom_ref.as_str())
            .or_default()
            .entry(advisory_url(&f.vulnerability_id))
            .or_insert(comment);
    }

    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    for scan in &scans {
        let root = root_package(scan, noassertion.clone());
        relationships.push(Relationship::new(
            DOCUMENT_ID,
            &root.package_spdx_identifier,
            RelationshipType::Describes,
            None,
        ));
        let graph = inventory.graph(scan);
        for i in inventory.of_scan(&scan.scan_id) {
            relationships.push(Relationship::new(
                &root.package_spdx_identifier,
                &package_id(&inventory.entries[i]),
                RelationshipType::Contains,
                None,
            ));
        }
        for (from, to) in graph.depends_on.into_iter().flatten() {
            for t in to {
                relationships.push(Relationship::new(
                    &package_id(&inventory.entries[from]),
                    &package_id(&inventory.entries[t]),
                    RelationshipType::DependsOn,
                    None,
                ));
            }
        }
        packages.push(root);
    }
    let empty = BTreeMap::new();
    for e in &inventory.entries {
        let refs = advisories.get(e.bom_ref.as_str()).unwrap_or(&empty);
        packages.push(component_package(e, refs, &noassertion)?);
    }

    let digest = document_digest(view);
    let export_id: String =
        percent_encoding::utf8_percent_encode(&snap.export_id, URL_COMPONENT).collect();
    let created = chrono::DateTime::from_timestamp(snap.generated_at.unix_timestamp(), 0)
        .ok_or_else(|| encode_err("generated_at is out of range"))?;
    let name = match scans.as_slice() {
        [single] => single.artifact.name.clone(),
        _ => format!("{TOOL_NAME} export {}", snap.export_id),
    };
    let doc = SPDX {
        document_creation_information: DocumentCreationInformation {
            spdx_version: "SPDX-2.3".into(),
            data_license: "CC0-1.0".into(),
            spdx_identifier: DOCUMENT_ID.into(),
            document_name: name,
            spdx_document_namespace: format!(
                "https://exportcenter.dev/spdx/{export_id}-{}",
                &digest[..16]
            ),
            external_document_references: Vec::new(),
            creation_info: CreationInfo {
                license_list_version: None,
                creators: vec![
                    format!("Tool: exportcenter-{TOOL_VERSION}"),
                    format!("Organization: {}", snap.tenant_id),
                ],
                created,
                creator_comment: Some(format!(
                    "{TOOL_NAME} export {} ({}).",
                    snap.export_id, snap.request.export_type
                )),
            },
            document_comment: None,
            document_describes: Vec::new(),
        },
        package_information: packages,
        other_licensing_information_detected: Vec::new(),
        file_information: Vec::new(),
        snippet_information: Vec::new(),
        relationships,
        annotations: Vec::new(),
        spdx_ref_counter: 0,
    };
    // serde_json writes token by token: batched here, not one call through `out` each.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &doc).map_err(encode_err)?;
    out.write_all(b"\n").map_err(encode_err)?;
    out.flush().map_err(encode_err)
}

/// `SPDXRef-` and what the spec allows in an id (letters, digits, `.`, `-`).
fn spdx_id(kind: &str, name: &str, unique: &str) -> String {
    let readable: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    let hash = ec_domain::ids::sha256_hex(unique.as_bytes());
    format!("SPDXRef-{kind}-{readable}-{}", &hash[..12])
}

fn package_id(e: &Entry<'_>) -> String {
    spdx_id("Package", &e.component.name, &e.bom_ref)
}

fn root_package(scan: &Scan, noassertion: SpdxExpression) -> PackageInformation {
    let a = &scan.artifact;
    let scanner = scanner_label(scan);
    PackageInformation {
        package_name: a.name.clone(),
        package_spdx_identifier: spdx_id("Artifact", &a.name, &scan.scan_id),
        package_supplier: Some(NOASSERTION.into()),
        package_download_location: NOASSERTION.into(),
        files_analyzed: Some(false),
        package_checksum: artifact_sha256(a)
            .map(|h| Checksum::new(Algorithm::SHA256, &h))
            .into_iter()
            .collect(),
        concluded_license: Some(noassertion.clone()),
        declared_license: Some(noassertion),
        package_comment: Some(format!(
            "Scan {} of this {} by {scanner} ({}).",
            scan.scan_id, a.kind, scan.source_format
        )),
        primary_package_purpose: Some(if is_image(a) {
            PrimaryPackagePurpose::Container
        } else {
            PrimaryPackagePurpose::Application
        }),
        ..PackageInformation::default()
    }
}

fn component_package(
    e: &Entry<'_>,
    advisories: &BTreeMap<String, String>,
    noassertion: &SpdxExpression,
) -> Result<PackageInformation, RenderError> {
    let c = &e.component;
    // A LicenseRef would need its text in hasExtractedLicensingInfos, which scanners do
    // not give: such licenses stay NOASSERTION like any other non-SPDX license.
    let declared = match spdx_expression(&c.licenses)
        .filter(|x| !x.contains("LicenseRef-") && !x.contains("DocumentRef-"))
    {
        Some(x) => SpdxExpression::parse(&x).map_err(encode_err)?,
        None => noassertion.clone(),
    };
    let mut external_reference: Vec<ExternalPackageReference> = c
        .purl
        .as_deref()
        .filter(|p| valid_purl(p))
        .map(|p| {
            ExternalPackageReference::new(
                ExternalPackageReferenceCategory::PackageManager,
                "purl".into(),
                p.to_string(),
                None,
            )
        })
        .into_iter()
        .collect();
    external_reference.extend(advisories.iter().map(|(url, comment)| {
        ExternalPackageReference::new(
            ExternalPackageReferenceCategory::Security,
            "advisory".into(),
            url.clone(),
            Some(comment.clone()),
        )
    }));
    let mut comment: BTreeSet<String> = BTreeSet::new();
    if let Some(t) = &c.package_type {
        comment.insert(format!("Package type: {t}."));
    }
    if let Some(l) = &c.location {
        comment.insert(format!("Found in {l}."));
    }
    Ok(PackageInformation {
        package_name: c.name.clone(),
        package_spdx_identifier: package_id(e),
        package_version: (!c.version.is_empty()).then(|| c.version.clone()),
        package_supplier: Some(NOASSERTION.into()),
        package_download_location: NOASSERTION.into(),
        files_analyzed: Some(false),
        concluded_license: Some(noassertion.clone()),
        declared_license: Some(declared),
        package_comment: (!comment.is_empty())
            .then(|| comment.into_iter().collect::<Vec<_>>().join(" ")),
        external_reference,
        primary_package_purpose: Some(PrimaryPackagePurpose::Library),
        ..PackageInformation::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_use_only_allowed_characters() {
        let id = spdx_id("Package", "@scope/pkg name+x", "pkg:npm/%40scope/pkg@1");
        assert!(id.starts_with("SPDXRef-Package--scope-pkg-name-x-"), "{id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
            "{id}"
        );
    }
}
