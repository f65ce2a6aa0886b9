//! The input snapshot: exactly what the gather stage collected for one export, with the
//! digest of each part. Render reads only this, so a report can be re-rendered and audited.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id_types::{ExportId, TenantId};
use crate::request::ExportRequest;
use crate::scan::{Sbom, Scan, Verdicts, VexStatement};
use crate::template::CustomTemplate;

pub const SNAPSHOT_SCHEMA: &str = "exportcenter.snapshot/v1";

/// The data gathered for one scan in scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanInputs {
    pub scan: Scan,
    pub verdicts: Verdicts,
    pub vex: Vec<VexStatement>,
    pub sbom: Option<Sbom>,
}

/// Which input, and the sha256 of its canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InputDigest {
    /// `scan`, `verdicts`, `vex` or `sbom`.
    pub kind: String,
    /// Scan id (or artifact digest for an SBOM).
    pub id: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema: String,
    pub export_id: ExportId,
    pub tenant_id: TenantId,
    pub request: ExportRequest,
    pub requested_by: String,
    /// The job's creation time: every timestamp an artifact prints comes from here,
    /// never from the clock, so re-rendering gives the same bytes.
    #[serde(with = "crate::time::serde_rfc3339")]
    pub generated_at: OffsetDateTime,
    pub inputs: Vec<InputDigest>,
    /// Ordered by scan id.
    pub scans: Vec<ScanInputs>,
    /// The tenant's own template, copied in at gather time so the render reads nothing else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_template: Option<CustomTemplate>,
    /// The audit-evidence template's trail: the tenant's latest audit entries up to the
    /// export's creation, oldest first, copied in at gather time (so every render of the
    /// export shows the same entries, and sealing anchors the chain's head).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<crate::audit::AuditEntry>,
}

impl Snapshot {
    /// Builds a snapshot and computes the input digests.
    pub fn new(
        export_id: ExportId,
        tenant_id: TenantId,
        request: ExportRequest,
        requested_by: String,
        generated_at: OffsetDateTime,
        mut scans: Vec<ScanInputs>,
    ) -> Snapshot {
        scans.sort_by(|a, b| a.scan.scan_id.cmp(&b.scan.scan_id));
        let mut inputs = Vec::new();
        for s in &scans {
            let id = &s.scan.scan_id;
            inputs.push(InputDigest {
                kind: "scan".into(),
                id: id.to_string(),
                sha256: digest(&s.scan),
            });
            inputs.push(InputDigest {
                kind: "verdicts".into(),
                id: id.to_string(),
                sha256: digest(&s.verdicts),
            });
            inputs.push(InputDigest {
                kind: "vex".into(),
                id: id.to_string(),
                sha256: digest(&s.vex),
            });
            if let Some(sbom) = &s.sbom {
                inputs.push(InputDigest {
                    kind: "sbom".into(),
                    id: sbom.artifact_digest.clone(),
                    sha256: digest(sbom),
                });
            }
        }
        Snapshot {
            schema: SNAPSHOT_SCHEMA.into(),
            export_id,
            tenant_id,
            request,
            requested_by,
            generated_at,
            inputs,
            scans,
            custom_template: None,
            audit: Vec::new(),
        }
    }

    /// Adds the custom template the request names, and its digest to the inputs.
    /// Adds the audit trail; its head becomes one of the inputs, so the sealed manifest
    /// names it.
    pub fn with_audit_trail(mut self, entries: Vec<crate::audit::AuditEntry>) -> Snapshot {
        if let Some(head) = entries.last() {
            self.inputs.push(InputDigest {
                kind: "audit".into(),
                id: format!("{}#{}", head.tenant_id, head.seq),
                sha256: head.sha256(),
            });
        }
        self.audit = entries;
        self
    }

    pub fn with_custom_template(mut self, template: CustomTemplate) -> Snapshot {
        self.inputs.push(InputDigest {
            kind: "template".into(),
            id: self.request.template.to_string(),
            sha256: template.sha256.clone(),
        });
        self.custom_template = Some(template);
        self
    }

    pub fn finding_count(&self) -> usize {
        self.scans.iter().map(|s| s.scan.findings.len()).sum()
    }
}

/// sha256 of an input's canonical JSON: what the manifest records for it.
pub fn digest<T: Serialize + ?Sized>(value: &T) -> String {
    crate::ids::canonical_json_sha256(value)
}
