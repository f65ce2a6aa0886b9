//! CycloneDX's JSON as read: serde types over the text (strings borrowed where unescaped),
//! each optional field lenient as `crate::lenient` makes it, the lists the schema requires
//! strict. What they mean is the reader's (`super`).

use serde::Deserialize;

use crate::lenient::{Array, List, ListOr, Num, Obj, Present, Text, Texts, Whole};

#[derive(Deserialize)]
pub(super) struct Document<'a> {
    #[serde(rename = "specVersion", default, borrow)]
    pub(super) spec_version: Text<'a>,
    #[serde(rename = "serialNumber", default, borrow)]
    pub(super) serial_number: Text<'a>,
    #[serde(default, borrow)]
    pub(super) metadata: Obj<Metadata<'a>>,
    #[serde(default, borrow)]
    pub(super) components: Array<Obj<RawComponent<'a>>>,
    #[serde(default, borrow)]
    pub(super) dependencies: Array<Obj<RawDependency<'a>>>,
    #[serde(default, borrow)]
    pub(super) vulnerabilities: Present<Array<Obj<Vulnerability<'a>>>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Metadata<'a> {
    #[serde(default, borrow)]
    pub(super) timestamp: Text<'a>,
    /// A list of tools up to 1.4, `{components, services}` since 1.5.
    #[serde(default, borrow)]
    pub(super) tools: ListOr<Obj<Tool<'a>>, Tools<'a>>,
    #[serde(default, borrow)]
    pub(super) component: Obj<Main<'a>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Tools<'a> {
    #[serde(default, borrow)]
    pub(super) components: List<Obj<Tool<'a>>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Tool<'a> {
    #[serde(default, borrow)]
    pub(super) name: Text<'a>,
    #[serde(default, borrow)]
    pub(super) version: Text<'a>,
}

/// `metadata.component`, the artifact the BOM describes (its own components are not read).
#[derive(Deserialize, Default)]
pub(super) struct Main<'a> {
    #[serde(rename = "bom-ref", default, borrow)]
    pub(super) bom_ref: Text<'a>,
    #[serde(default, borrow)]
    pub(super) name: Text<'a>,
    #[serde(default, borrow)]
    pub(super) version: Text<'a>,
    #[serde(default, borrow)]
    pub(super) purl: Text<'a>,
    #[serde(rename = "type", default, borrow)]
    pub(super) kind: Text<'a>,
    #[serde(default, borrow)]
    pub(super) hashes: List<Obj<Hash<'a>>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawComponent<'a> {
    #[serde(rename = "bom-ref", default, borrow)]
    pub(super) bom_ref: Text<'a>,
    #[serde(default, borrow)]
    pub(super) name: Text<'a>,
    #[serde(default, borrow)]
    pub(super) version: Text<'a>,
    #[serde(default, borrow)]
    pub(super) purl: Text<'a>,
    #[serde(rename = "type", default, borrow)]
    pub(super) kind: Text<'a>,
    #[serde(default, borrow)]
    pub(super) licenses: List<Obj<LicenseChoice<'a>>>,
    #[serde(default, borrow)]
    pub(super) components: Array<Obj<RawComponent<'a>>>,
}

#[derive(Deserialize, Default)]
pub(super) struct LicenseChoice<'a> {
    #[serde(default, borrow)]
    pub(super) expression: Text<'a>,
    #[serde(default, borrow)]
    pub(super) license: Obj<License<'a>>,
}

#[derive(Deserialize, Default)]
pub(super) struct License<'a> {
    #[serde(default, borrow)]
    pub(super) id: Text<'a>,
    #[serde(default, borrow)]
    pub(super) name: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct Hash<'a> {
    #[serde(default, borrow)]
    pub(super) alg: Text<'a>,
    #[serde(default, borrow)]
    pub(super) content: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawDependency<'a> {
    #[serde(rename = "ref", default, borrow)]
    pub(super) reference: Text<'a>,
    /// Every item counts (a list of no strings is not "depends on nothing").
    #[serde(rename = "dependsOn", default, borrow)]
    pub(super) depends_on: List<Text<'a>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Vulnerability<'a> {
    #[serde(default, borrow)]
    pub(super) id: Text<'a>,
    #[serde(default, borrow)]
    pub(super) source: Obj<Source<'a>>,
    #[serde(default, borrow)]
    pub(super) ratings: List<Obj<Rating<'a>>>,
    #[serde(default, borrow)]
    pub(super) references: List<Obj<Reference<'a>>>,
    #[serde(default, borrow)]
    pub(super) advisories: List<Obj<Advisory<'a>>>,
    #[serde(default)]
    pub(super) cwes: List<Whole>,
    #[serde(default, borrow)]
    pub(super) description: Text<'a>,
    #[serde(default, borrow)]
    pub(super) detail: Text<'a>,
    #[serde(default, borrow)]
    pub(super) recommendation: Text<'a>,
    #[serde(default, borrow)]
    pub(super) workaround: Text<'a>,
    #[serde(default, borrow)]
    pub(super) published: Text<'a>,
    #[serde(default, borrow)]
    pub(super) updated: Text<'a>,
    #[serde(default, borrow)]
    pub(super) affects: List<Obj<Affect<'a>>>,
    #[serde(default, borrow)]
    pub(super) analysis: Obj<Analysis<'a>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Source<'a> {
    #[serde(default, borrow)]
    pub(super) name: Text<'a>,
    #[serde(default, borrow)]
    pub(super) url: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct Rating<'a> {
    #[serde(default, borrow)]
    pub(super) source: Obj<Source<'a>>,
    #[serde(default)]
    pub(super) score: Num,
    #[serde(default, borrow)]
    pub(super) severity: Text<'a>,
    #[serde(default, borrow)]
    pub(super) method: Text<'a>,
    #[serde(default, borrow)]
    pub(super) vector: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct Reference<'a> {
    #[serde(default, borrow)]
    pub(super) id: Text<'a>,
    #[serde(default, borrow)]
    pub(super) source: Obj<Source<'a>>,
}

#[derive(Deserialize, Default)]
pub(super) struct Advisory<'a> {
    #[serde(default, borrow)]
    pub(super) url: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct Affect<'a> {
    #[serde(rename = "ref", default, borrow)]
    pub(super) reference: Text<'a>,
    #[serde(default, borrow)]
    pub(super) versions: List<Obj<AffectedVersion<'a>>>,
}

#[derive(Deserialize, Default)]
pub(super) struct AffectedVersion<'a> {
    #[serde(default, borrow)]
    pub(super) status: Text<'a>,
    #[serde(default, borrow)]
    pub(super) version: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct Analysis<'a> {
    #[serde(default, borrow)]
    pub(super) state: Text<'a>,
    #[serde(default, borrow)]
    pub(super) justification: Text<'a>,
    #[serde(default, borrow)]
    pub(super) detail: Text<'a>,
    #[serde(default, borrow)]
    pub(super) response: Texts<'a>,
    #[serde(rename = "lastUpdated", default, borrow)]
    pub(super) last_updated: Text<'a>,
    #[serde(rename = "firstIssued", default, borrow)]
    pub(super) first_issued: Text<'a>,
}

impl Source<'_> {
    pub(super) fn name_of<'s>(source: &'s Obj<Source<'_>>) -> Option<&'s str> {
        source.get().and_then(|s| s.name.as_str())
    }

    pub(super) fn url_of<'s>(source: &'s Obj<Source<'_>>) -> Option<&'s str> {
        source.get().and_then(|s| s.url.as_str())
    }
}
