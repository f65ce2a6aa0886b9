//! The input snapshot: exactly what the gather stage collected for one export, with the
//! digest of each part. Render reads only this, so a report can be re-rendered and audited.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id_types::ScanId;
use crate::id_types::{ExportId, TenantId};
use crate::request::ExportRequest;
use crate::scan::{Finding, Sbom, Scan, Severity, Verdicts, VexStatement};
use crate::template::CustomTemplate;
use crate::vex::VexDocument;

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
    /// Every VEX document applied (or, for a VEX export, named), so a report can list what
    /// each one matched. Ordered by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vex_documents: Vec<VexDocument>,
    /// The report's title, when the requester gave one (`exportctl render --title`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The findings of `options.baseline`'s scans, for deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInputs>,
}

/// The baseline an export is compared with: only what a delta and the list of fixed
/// findings need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineInputs {
    /// What the request named, for the report: the scan ids, or the previous run.
    pub label: String,
    pub scan_ids: Vec<ScanId>,
    pub findings: Vec<BaselineFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineFinding {
    pub scan_id: ScanId,
    pub artifact: String,
    pub vulnerability_id: String,
    pub package: String,
    pub installed_version: String,
    pub fixed_version: Option<String>,
    pub severity: Severity,
}

impl BaselineInputs {
    /// The baseline made of `scans`.
    pub fn of_scans(label: String, scans: &[Scan]) -> BaselineInputs {
        let findings = scans
            .iter()
            .flat_map(|s| s.findings.iter().map(move |f| BaselineFinding::of(s, f)))
            .collect();
        BaselineInputs {
            label,
            scan_ids: scans.iter().map(|s| s.scan_id.clone()).collect(),
            findings,
        }
    }
}

impl BaselineFinding {
    fn of(scan: &Scan, f: &Finding) -> BaselineFinding {
        BaselineFinding {
            scan_id: scan.scan_id.clone(),
            artifact: scan.artifact.name.clone(),
            vulnerability_id: f.vulnerability_id.clone(),
            package: f.package.clone(),
            installed_version: f.installed_version.clone(),
            fixed_version: f.fixed_version.clone(),
            severity: f.effective_severity(),
        }
    }

    /// The key [`crate::filters::delta_key`] gives the finding this was.
    pub fn delta_key(&self) -> (String, String) {
        (
            self.vulnerability_id.to_ascii_uppercase(),
            self.package.clone(),
        )
    }
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
            // The scan is the largest input: its digest is taken on a second thread while
            // this one digests the others (each is its whole canonical JSON, hashed).
            let (scan_sha256, [verdicts, vex, sbom]) = std::thread::scope(|threads| {
                let scan = threads.spawn(|| digest(&s.scan));
                let rest = [
                    Some(digest(&s.verdicts)),
                    Some(digest(&s.vex)),
                    s.sbom.as_ref().map(digest),
                ];
                let scan = scan.join().unwrap_or_else(|_| digest(&s.scan));
                (scan, rest)
            });
            inputs.push(InputDigest {
                kind: "scan".into(),
                id: id.to_string(),
                sha256: scan_sha256,
            });
            inputs.push(InputDigest {
                kind: "verdicts".into(),
                id: id.to_string(),
                sha256: verdicts.unwrap_or_default(),
            });
            inputs.push(InputDigest {
                kind: "vex".into(),
                id: id.to_string(),
                sha256: vex.unwrap_or_default(),
            });
            if let (Some(sbom), Some(sha256)) = (&s.sbom, sbom) {
                inputs.push(InputDigest {
                    kind: "sbom".into(),
                    id: sbom.artifact_digest.clone(),
                    sha256,
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
            vex_documents: Vec::new(),
            title: None,
            baseline: None,
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

    /// Adds the VEX documents (each becomes an input, by the digest of its bytes).
    pub fn with_vex_documents(mut self, mut docs: Vec<VexDocument>) -> Snapshot {
        docs.sort_by(|a, b| a.id.cmp(&b.id));
        docs.dedup_by(|a, b| a.id == b.id);
        for d in &docs {
            self.inputs.push(InputDigest {
                kind: "vex-document".into(),
                id: d.id.clone(),
                sha256: if d.document_sha256.is_empty() {
                    digest(&d.statements)
                } else {
                    d.document_sha256.clone()
                },
            });
        }
        self.vex_documents = docs;
        self
    }

    /// Adds the baseline (its scans become inputs).
    pub fn with_baseline(mut self, baseline: BaselineInputs) -> Snapshot {
        self.inputs.push(InputDigest {
            kind: "baseline".into(),
            id: baseline.label.clone(),
            sha256: digest(&baseline.findings),
        });
        self.baseline = Some(baseline);
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
