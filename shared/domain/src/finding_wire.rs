//! How a [`Finding`] is written and read: one flat object with its details' fields beside
//! the others, exactly what `#[serde(flatten)]` wrote, but without serde's flatten, which
//! reads every finding into an intermediate tree first (a tenth of a 100,000-finding load).
//! The field order and skip rules here are the serialised form's: change them only with
//! the golden outputs (`tests/golden`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::scan::{Cvss, Epss, Finding, FindingDetails, Severity};
use crate::shared_text::{SharedText, share};

fn none<T>(v: &&Option<T>) -> bool {
    v.is_none()
}

fn empty_map<K, V>(v: &&BTreeMap<K, V>) -> bool {
    v.is_empty()
}

fn empty_list<T>(v: &&[T]) -> bool {
    v.is_empty()
}

fn not(v: &bool) -> bool {
    !*v
}

#[derive(Serialize)]
struct Out<'a> {
    vulnerability_id: &'a str,
    aliases: &'a [String],
    package: &'a str,
    package_type: &'a Option<String>,
    purl: &'a Option<String>,
    installed_version: &'a str,
    fixed_version: &'a Option<String>,
    severity: Severity,
    cvss: &'a [Cvss],
    title: Option<&'a str>,
    description: Option<&'a str>,
    references: &'a [SharedText],
    status: &'a Option<String>,
    target: &'a Option<String>,
    #[serde(skip_serializing_if = "empty_list")]
    cwes: &'a [u32],
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::time::serde_rfc3339::option"
    )]
    published: Option<OffsetDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::time::serde_rfc3339::option"
    )]
    modified: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "none")]
    severity_source: &'a Option<String>,
    #[serde(skip_serializing_if = "empty_map")]
    vendor_severity: &'a BTreeMap<String, Severity>,
    #[serde(skip_serializing_if = "none")]
    layer: &'a Option<String>,
    #[serde(skip_serializing_if = "none")]
    epss: &'a Option<Epss>,
    #[serde(skip_serializing_if = "not")]
    known_exploited: bool,
}

/// Text read through the thread's pool (`shared_text`), so a snapshot read back inside
/// `pooled` shares what its findings repeat again.
struct Shared(SharedText);

impl<'de> Deserialize<'de> for Shared {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Shared;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Shared, E> {
                Ok(Shared(share(s)))
            }
        }
        d.deserialize_str(V)
    }
}

#[derive(Deserialize)]
struct In {
    vulnerability_id: String,
    aliases: Vec<String>,
    package: String,
    package_type: Option<String>,
    purl: Option<String>,
    installed_version: String,
    fixed_version: Option<String>,
    severity: Severity,
    cvss: Vec<Cvss>,
    title: Option<Shared>,
    description: Option<Shared>,
    references: Vec<Shared>,
    status: Option<String>,
    target: Option<String>,
    #[serde(default)]
    cwes: Vec<u32>,
    #[serde(default, with = "crate::time::serde_rfc3339::option")]
    published: Option<OffsetDateTime>,
    #[serde(default, with = "crate::time::serde_rfc3339::option")]
    modified: Option<OffsetDateTime>,
    #[serde(default)]
    severity_source: Option<String>,
    #[serde(default)]
    vendor_severity: BTreeMap<String, Severity>,
    #[serde(default)]
    layer: Option<String>,
    #[serde(default)]
    epss: Option<Epss>,
    #[serde(default)]
    known_exploited: bool,
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.details;
        Out {
            vulnerability_id: &self.vulnerability_id,
            aliases: &self.aliases,
            package: &self.package,
            package_type: &self.package_type,
            purl: &self.purl,
            installed_version: &self.installed_version,
            fixed_version: &self.fixed_version,
            severity: self.severity,
            cvss: &self.cvss,
            title: self.title.as_deref(),
            description: self.description.as_deref(),
            references: &self.references,
            status: &self.status,
            target: &self.target,
            cwes: &self.cwes,
            published: d.published,
            modified: d.modified,
            severity_source: &d.severity_source,
            vendor_severity: &d.vendor_severity,
            layer: &d.layer,
            epss: &d.epss,
            known_exploited: d.known_exploited,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = In::deserialize(d)?;
        Ok(Finding {
            vulnerability_id: f.vulnerability_id,
            aliases: f.aliases,
            package: f.package,
            package_type: f.package_type,
            purl: f.purl,
            installed_version: f.installed_version,
            fixed_version: f.fixed_version,
            severity: f.severity,
            cvss: f.cvss,
            title: f.title.map(|t| t.0),
            description: f.description.map(|t| t.0),
            references: f.references.into_iter().map(|t| t.0).collect(),
            status: f.status,
            target: f.target,
            cwes: f.cwes,
            details: FindingDetails {
                published: f.published,
                modified: f.modified,
                severity_source: f.severity_source,
                vendor_severity: f.vendor_severity,
                layer: f.layer,
                epss: f.epss,
                known_exploited: f.known_exploited,
            },
        })
    }
}
