//! CSAF 2.0 VEX (`document.category == "csaf_vex"`): one statement per vulnerability,
//! status and product.
//!
//! * Products come from `product_tree`: `branches` (recursively), `full_product_names` and
//!   `relationships`. A product id names its `product_identification_helper.purl`, else its
//!   name; a relationship's product names both its component (`product_reference`) and the
//!   product it is part of (`relates_to_product_reference`), as an OpenVEX product with a
//!   subcomponent does. An id the tree does not define stays as written.
//! * `product_status`: `known_not_affected` → not affected, `fixed` and `first_fixed` →
//!   fixed, `known_affected`, `first_affected` and `last_affected` → affected,
//!   `under_investigation` → under investigation (`recommended` is not a status).
//! * A `flags[].label` for the product is the justification, `threats` of category `impact`
//!   the impact statement, `remediations` the action statement (products and groups of
//!   `product_groups` both count; an entry naming neither applies to every product).
//! * The vulnerability is `cve`, else the first `ids[].text`; entries with neither are
//!   skipped. The timestamp is `document.tracking.current_release_date`, the source
//!   `document.tracking.id`.

use std::collections::{BTreeMap, BTreeSet};

use ec_domain::scan::{VexStatement, VexStatus};
use serde::Deserialize;

use crate::json::{parse_timestamp, push_unique};
use crate::lenient::{Array, List, Obj, Object, Text, Texts};
use crate::{CSAF, CSAF_VEX_2_0, IngestError, Parsed, typed};

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(default, borrow)]
    document: Obj<Meta<'a>>,
    #[serde(default, borrow)]
    product_tree: Obj<ProductTree<'a>>,
    #[serde(default, borrow)]
    vulnerabilities: Array<Obj<Vulnerability<'a>>>,
}

#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(default, borrow)]
    csaf_version: Text<'a>,
    #[serde(default, borrow)]
    category: Text<'a>,
    #[serde(default, borrow)]
    tracking: Obj<Tracking<'a>>,
}

#[derive(Deserialize, Default)]
struct Tracking<'a> {
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    current_release_date: Text<'a>,
}

#[derive(Deserialize, Default)]
struct ProductTree<'a> {
    #[serde(default, borrow)]
    branches: List<Obj<Branch<'a>>>,
    #[serde(default, borrow)]
    full_product_names: List<Obj<FullProductName<'a>>>,
    #[serde(default, borrow)]
    relationships: List<Obj<Relationship<'a>>>,
    #[serde(default, borrow)]
    product_groups: List<Obj<Group<'a>>>,
}

#[derive(Deserialize, Default)]
struct Branch<'a> {
    #[serde(default, borrow)]
    product: Obj<FullProductName<'a>>,
    #[serde(default, borrow)]
    branches: List<Obj<Branch<'a>>>,
}

#[derive(Deserialize, Default)]
struct FullProductName<'a> {
    #[serde(default, borrow)]
    product_id: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    product_identification_helper: Obj<Helper<'a>>,
}

#[derive(Deserialize, Default)]
struct Helper<'a> {
    #[serde(default, borrow)]
    purl: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Relationship<'a> {
    #[serde(default, borrow)]
    full_product_name: Obj<FullProductName<'a>>,
    #[serde(default, borrow)]
    product_reference: Text<'a>,
    #[serde(default, borrow)]
    relates_to_product_reference: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Group<'a> {
    #[serde(default, borrow)]
    group_id: Text<'a>,
    #[serde(default, borrow)]
    product_ids: Texts<'a>,
}

#[derive(Deserialize, Default)]
struct Vulnerability<'a> {
    #[serde(default, borrow)]
    cve: Text<'a>,
    #[serde(default, borrow)]
    ids: List<Obj<Identifier<'a>>>,
    /// An object or `null`; any other value is an error.
    #[serde(default, borrow)]
    product_status: Option<Object<ProductStatus<'a>>>,
    #[serde(default, borrow)]
    flags: List<Obj<Annotation<'a>>>,
    #[serde(default, borrow)]
    threats: List<Obj<Annotation<'a>>>,
    #[serde(default, borrow)]
    remediations: List<Obj<Annotation<'a>>>,
}

#[derive(Deserialize, Default)]
struct Identifier<'a> {
    #[serde(default, borrow)]
    text: Text<'a>,
}

#[derive(Deserialize, Default)]
struct ProductStatus<'a> {
    #[serde(default, borrow)]
    known_not_affected: Texts<'a>,
    #[serde(default, borrow)]
    fixed: Texts<'a>,
    #[serde(default, borrow)]
    first_fixed: Texts<'a>,
    #[serde(default, borrow)]
    known_affected: Texts<'a>,
    #[serde(default, borrow)]
    first_affected: Texts<'a>,
    #[serde(default, borrow)]
    last_affected: Texts<'a>,
    #[serde(default, borrow)]
    under_investigation: Texts<'a>,
}

impl ProductStatus<'_> {
    /// Each list with the status it gives.
    fn lists(&self) -> [(&Texts<'_>, VexStatus); 7] {
        [
            (&self.known_not_affected, VexStatus::NotAffected),
            (&self.fixed, VexStatus::Fixed),
            (&self.first_fixed, VexStatus::Fixed),
            (&self.known_affected, VexStatus::Affected),
            (&self.first_affected, VexStatus::Affected),
            (&self.last_affected, VexStatus::Affected),
            (&self.under_investigation, VexStatus::UnderInvestigation),
        ]
    }
}

/// A flag, threat or remediation: what it says and the products and groups it covers.
#[derive(Deserialize, Default)]
struct Annotation<'a> {
    /// Every item counts (a list of no strings covers no product rather than all).
    #[serde(default, borrow)]
    product_ids: List<Text<'a>>,
    #[serde(default, borrow)]
    group_ids: List<Text<'a>>,
    #[serde(default, borrow)]
    label: Text<'a>,
    #[serde(default, borrow)]
    category: Text<'a>,
    #[serde(default, borrow)]
    details: Text<'a>,
    #[serde(default, borrow)]
    url: Text<'a>,
}

/// The product tree, flattened.
#[derive(Default)]
struct Tree<'a> {
    /// Product id to its identifier (purl, else name).
    names: BTreeMap<&'a str, String>,
    /// Relationship product id to the product ids it combines.
    combined: BTreeMap<&'a str, [&'a str; 2]>,
    groups: BTreeMap<&'a str, Vec<&'a str>>,
}

impl<'a> Tree<'a> {
    fn read(tree: Option<&'a ProductTree<'_>>) -> Tree<'a> {
        let mut t = Tree::default();
        let Some(tree) = tree else { return t };
        t.branches(&tree.branches);
        for p in tree.full_product_names.iter().filter_map(Obj::get) {
            t.product(p);
        }
        for r in tree.relationships.iter().filter_map(Obj::get) {
            let (Some(id), Some(component), Some(parent)) = (
                r.full_product_name
                    .get()
                    .and_then(|p| p.product_id.as_str()),
                r.product_reference.as_str(),
                r.relates_to_product_reference.as_str(),
            ) else {
                continue;
            };
            t.combined.insert(id, [component, parent]);
        }
        for g in tree.product_groups.iter().filter_map(Obj::get) {
            if let Some(id) = g.group_id.as_str() {
                t.groups.insert(id, g.product_ids.iter().collect());
            }
        }
        t
    }

    fn branches(&mut self, list: &'a List<Obj<Branch<'_>>>) {
        for b in list.iter().filter_map(Obj::get) {
            if let Some(p) = b.product.get() {
                self.product(p);
            }
            self.branches(&b.branches);
        }
    }

    fn product(&mut self, p: &'a FullProductName<'_>) {
        let Some(id) = p.product_id.as_str() else {
            return;
        };
        let name = p
            .product_identification_helper
            .get()
            .and_then(|h| h.purl.as_str())
            .or_else(|| p.name.as_str())
            .unwrap_or(id);
        self.names.entry(id).or_insert_with(|| name.to_string());
    }

    /// The identifiers a statement about `id` names.
    fn identifiers(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        match self.combined.get(id) {
            Some(parts) => {
                for p in parts {
                    push_unique(&mut out, self.names.get(p).map_or(*p, String::as_str));
                }
            }
            None => push_unique(&mut out, self.names.get(id).map_or(id, String::as_str)),
        }
        out
    }

    /// The product ids an annotation (`product_ids`, `group_ids`) covers; `None` for all.
    fn covered<'s>(&'s self, annotation: &'s Annotation<'_>) -> Option<BTreeSet<&'s str>> {
        let ids = &annotation.product_ids.0;
        let groups = &annotation.group_ids.0;
        if ids.is_empty() && groups.is_empty() {
            return None;
        }
        let mut out: BTreeSet<&str> = ids.iter().filter_map(Text::as_str).collect();
        for g in groups.iter().filter_map(Text::as_str) {
            out.extend(self.groups.get(g).into_iter().flatten().copied());
        }
        Some(out)
    }
}

/// The entries of a list (`flags`, `threats`, `remediations`) that cover `product`.
fn about<'v, 'a>(
    tree: &Tree<'_>,
    list: &'v List<Obj<Annotation<'a>>>,
    product: &str,
) -> Vec<&'v Annotation<'a>> {
    list.iter()
        .filter_map(Obj::get)
        .filter(|a| tree.covered(a).is_none_or(|ids| ids.contains(product)))
        .collect()
}

/// `Invalid` unless `document`'s `field` is `wanted`.
fn require(found: Option<&str>, field: &str, wanted: &str) -> Result<(), IngestError> {
    match found {
        Some(found) if found == wanted => Ok(()),
        found => Err(IngestError::invalid(
            CSAF,
            format!(
                "{field} {} is not read ({wanted} is)",
                found.unwrap_or("(missing)")
            ),
        )),
    }
}

pub fn parse(text: &[u8], fallback_source: &str) -> Result<Parsed, IngestError> {
    let doc: Document<'_> = typed(text, CSAF)?;
    let document = doc.document.get();
    require(
        document.and_then(|d| d.csaf_version.as_str()),
        "csaf_version",
        "2.0",
    )?;
    require(
        document.and_then(|d| d.category.as_str()),
        "category",
        "csaf_vex",
    )?;
    let format = CSAF_VEX_2_0;
    let tracking = document.and_then(|d| d.tracking.get());
    let source = tracking
        .and_then(|t| t.id.as_str())
        .unwrap_or(fallback_source);
    let timestamp = tracking
        .and_then(|t| t.current_release_date.as_str())
        .and_then(parse_timestamp);
    let tree = Tree::read(doc.product_tree.get());

    let mut vex = Vec::new();
    for v in doc.vulnerabilities.0.iter().filter_map(Obj::get) {
        let Some(id) = v.cve.as_str().or_else(|| {
            v.ids
                .iter()
                .filter_map(Obj::get)
                .find_map(|x| x.text.as_str())
        }) else {
            continue;
        };
        let Some(Object(status_map)) = &v.product_status else {
            continue;
        };
        for (products, status) in status_map.lists() {
            for product in products.iter() {
                let justification = about(&tree, &v.flags, product)
                    .into_iter()
                    .find_map(|f| f.label.as_str());
                let impact: Vec<&str> = about(&tree, &v.threats, product)
                    .into_iter()
                    .filter(|t| t.category.as_str() == Some("impact"))
                    .filter_map(|t| t.details.as_str())
                    .collect();
                let actions: Vec<String> = about(&tree, &v.remediations, product)
                    .into_iter()
                    .filter_map(|r| {
                        let details = r.details.as_str()?;
                        let mut s = match r.category.as_str() {
                            Some(c) => format!("{c}: {details}"),
                            None => details.to_string(),
                        };
                        if let Some(url) = r.url.as_str() {
                            s.push_str(&format!(" ({url})"));
                        }
                        Some(s)
                    })
                    .collect();
                vex.push(VexStatement {
                    vulnerability_id: id.to_string(),
                    products: tree.identifiers(product),
                    status,
                    justification: justification.map(str::to_string),
                    impact_statement: (!impact.is_empty()).then(|| impact.join("\n")),
                    action_statement: (!actions.is_empty()).then(|| actions.join("\n")),
                    timestamp,
                    source: Some(source.to_string()),
                });
            }
        }
    }
    Ok(Parsed {
        source_format: format,
        scan: None,
        vex,
    })
}

#[cfg(test)]
mod tests {
    use crate::CSAF_VEX_2_0;
    use crate::test_support::{error_of, read};
    use ec_domain::scan::{VexStatement, VexStatus};
    use time::macros::datetime;

    fn statements(doc: &str) -> Vec<VexStatement> {
        let i = read(doc);
        assert!(i.scan.is_none());
        assert_eq!(i.source_format, CSAF_VEX_2_0);
        i.vex
    }

    #[test]
    fn products_resolve_through_the_tree() {
        let doc = r#"{
          "document": {"category": "csaf_vex", "csaf_version": "2.0",
                       "tracking": {"id": "ACME-2024-001", "current_release_date": "2024-02-03T04:05:06Z"}},
          "product_tree": {
            "branches": [{"category": "vendor", "name": "Acme", "branches": [
              {"category": "product_name", "name": "app", "branches": [
                {"category": "product_version", "name": "1.0",
                 "product": {"product_id": "APP-1", "name": "Acme app 1.0",
                             "product_identification_helper": {"purl": "pkg:oci/app@sha256%3Aaa"}}}]},
              {"category": "product_name", "name": "lib",
               "product": {"product_id": "LIB-2", "name": "libfoo 2.0",
                           "product_identification_helper": {"purl": "pkg:npm/libfoo@2.0.0"}}}]}],
            "full_product_names": [{"product_id": "TOOL", "name": "Acme tool"}],
            "relationships": [{"category": "default_component_of",
              "full_product_name": {"product_id": "APP-1:LIB-2", "name": "libfoo 2.0 in app 1.0"},
              "product_reference": "LIB-2", "relates_to_product_reference": "APP-1"}],
            "product_groups": [{"group_id": "G-ALL", "product_ids": ["APP-1:LIB-2", "TOOL"]}]
          },
          "vulnerabilities": [
            {"cve": "CVE-2024-0001",
             "product_status": {"known_not_affected": ["APP-1:LIB-2", "TOOL"],
                                "fixed": ["LIB-2"], "under_investigation": ["GONE-9"],
                                "recommended": ["LIB-2"]},
             "flags": [{"label": "vulnerable_code_not_in_execute_path", "group_ids": ["G-ALL"]}],
             "threats": [{"category": "impact", "details": "only reachable from the admin CLI",
                          "product_ids": ["APP-1:LIB-2"]},
                         {"category": "exploit_status", "details": "none known"}],
             "remediations": [{"category": "vendor_fix", "details": "upgrade to 2.0.1",
                               "url": "https://acme.example/fix", "product_ids": ["LIB-2"]}]},
            {"ids": [{"system_name": "GHSA", "text": "GHSA-aaaa-bbbb-cccc"}],
             "product_status": {"known_affected": ["TOOL"]}},
            {"title": "no identifier at all", "product_status": {"known_affected": ["TOOL"]}}
          ]
        }"#;
        let vex = statements(doc);
        let summary: Vec<(&str, VexStatus, Vec<&str>)> = vex
            .iter()
            .map(|s| {
                (
                    s.vulnerability_id.as_str(),
                    s.status,
                    s.products.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "CVE-2024-0001",
                    VexStatus::NotAffected,
                    vec!["pkg:npm/libfoo@2.0.0", "pkg:oci/app@sha256%3Aaa"]
                ),
                ("CVE-2024-0001", VexStatus::NotAffected, vec!["Acme tool"]),
                (
                    "CVE-2024-0001",
                    VexStatus::Fixed,
                    vec!["pkg:npm/libfoo@2.0.0"]
                ),
                (
                    "CVE-2024-0001",
                    VexStatus::UnderInvestigation,
                    vec!["GONE-9"]
                ),
                (
                    "GHSA-aaaa-bbbb-cccc",
                    VexStatus::Affected,
                    vec!["Acme tool"]
                ),
            ]
        );
        // Flags through a product group; impact only where the threat names the product.
        assert_eq!(
            vex[0].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert_eq!(
            vex[0].impact_statement.as_deref(),
            Some("only reachable from the admin CLI")
        );
        assert_eq!(
            vex[1].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert_eq!(vex[1].impact_statement, None);
        assert_eq!(vex[2].justification, None);
        assert_eq!(
            vex[2].action_statement.as_deref(),
            Some("vendor_fix: upgrade to 2.0.1 (https://acme.example/fix)")
        );
        assert!(
            vex.iter()
                .all(|s| s.source.as_deref() == Some("ACME-2024-001"))
        );
        assert!(
            vex.iter()
                .all(|s| s.timestamp == Some(datetime!(2024-02-03 04:05:06 UTC)))
        );
    }

    /// `product_status` must be an object (or `null`, which lists no products); the error
    /// names the vulnerability.
    #[test]
    fn a_product_status_of_another_shape_is_named() {
        let doc = |status: &str| {
            format!(
                r#"{{"document": {{"category": "csaf_vex", "csaf_version": "2.0", "tracking": {{"id": "T"}}}},
                    "vulnerabilities": [{{"cve": "CVE-1", "product_status": {{"fixed": ["P"]}}}},
                                        {{"cve": "CVE-2", "product_status": {status}}}]}}"#
            )
        };
        let wrong = error_of(&doc(r#"["P"]"#));
        assert!(
            wrong.starts_with(
                "invalid csaf document: vulnerabilities[1].product_status: invalid type"
            ),
            "{wrong}"
        );
        assert_eq!(statements(&doc("null")).len(), 1);
    }
}
