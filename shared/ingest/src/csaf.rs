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
use serde_json::Value;

use crate::json::{array_at, parse_timestamp, push_unique, str_at, str_path, strict_array_at};
use crate::{CSAF, CSAF_VEX_2_0, IngestError, Parsed};

const STATUSES: [(&str, VexStatus); 7] = [
    ("known_not_affected", VexStatus::NotAffected),
    ("fixed", VexStatus::Fixed),
    ("first_fixed", VexStatus::Fixed),
    ("known_affected", VexStatus::Affected),
    ("first_affected", VexStatus::Affected),
    ("last_affected", VexStatus::Affected),
    ("under_investigation", VexStatus::UnderInvestigation),
];

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
    fn read(tree: &'a Value) -> Tree<'a> {
        let mut t = Tree::default();
        t.branches(array_at(tree, "branches"));
        for p in array_at(tree, "full_product_names") {
            t.product(p);
        }
        for r in array_at(tree, "relationships") {
            let (Some(id), Some(component), Some(parent)) = (
                str_path(r, &["full_product_name", "product_id"]),
                str_at(r, "product_reference"),
                str_at(r, "relates_to_product_reference"),
            ) else {
                continue;
            };
            t.combined.insert(id, [component, parent]);
        }
        for g in array_at(tree, "product_groups") {
            if let Some(id) = str_at(g, "group_id") {
                let members = array_at(g, "product_ids")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                t.groups.insert(id, members);
            }
        }
        t
    }

    fn branches(&mut self, list: &'a [Value]) {
        for b in list {
            if let Some(p) = b.get("product") {
                self.product(p);
            }
            self.branches(array_at(b, "branches"));
        }
    }

    fn product(&mut self, p: &'a Value) {
        let Some(id) = str_at(p, "product_id") else {
            return;
        };
        let name = str_path(p, &["product_identification_helper", "purl"])
            .or_else(|| str_at(p, "name"))
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
    fn covered(&self, annotation: &'a Value) -> Option<BTreeSet<&'a str>> {
        let ids = array_at(annotation, "product_ids");
        let groups = array_at(annotation, "group_ids");
        if ids.is_empty() && groups.is_empty() {
            return None;
        }
        let mut out: BTreeSet<&str> = ids.iter().filter_map(Value::as_str).collect();
        for g in groups.iter().filter_map(Value::as_str) {
            out.extend(self.groups.get(g).into_iter().flatten().copied());
        }
        Some(out)
    }
}

/// `Invalid` unless `document`'s `field` is `wanted`.
fn require(document: &Value, field: &str, wanted: &str) -> Result<(), IngestError> {
    match str_at(document, field) {
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

pub fn parse(doc: &Value, fallback_source: &str) -> Result<Parsed, IngestError> {
    let document = doc.get("document").unwrap_or(&Value::Null);
    require(document, "csaf_version", "2.0")?;
    require(document, "category", "csaf_vex")?;
    let format = CSAF_VEX_2_0;
    let tracking = document.get("tracking").unwrap_or(&Value::Null);
    let source = str_at(tracking, "id").unwrap_or(fallback_source);
    let timestamp = str_at(tracking, "current_release_date").and_then(parse_timestamp);
    let tree = Tree::read(doc.get("product_tree").unwrap_or(&Value::Null));

    let mut vex = Vec::new();
    for (i, v) in strict_array_at(doc, "vulnerabilities", format, "")?
        .iter()
        .enumerate()
    {
        let Some(id) =
            str_at(v, "cve").or_else(|| array_at(v, "ids").iter().find_map(|x| str_at(x, "text")))
        else {
            continue;
        };
        let status_map = v.get("product_status").unwrap_or(&Value::Null);
        if !status_map.is_object() && !status_map.is_null() {
            return Err(IngestError::invalid(
                format,
                format!("vulnerabilities[{i}].product_status is not an object"),
            ));
        }
        // The entries of a list (`flags`, `threats`, `remediations`) that cover a product.
        let about = |list: &'static str, product: &str| -> Vec<&Value> {
            array_at(v, list)
                .iter()
                .filter(|a| tree.covered(a).is_none_or(|ids| ids.contains(product)))
                .collect()
        };
        for (key, status) in STATUSES {
            for product in array_at(status_map, key).iter().filter_map(Value::as_str) {
                let justification = about("flags", product)
                    .into_iter()
                    .find_map(|f| str_at(f, "label"));
                let impact: Vec<&str> = about("threats", product)
                    .into_iter()
                    .filter(|t| str_at(t, "category") == Some("impact"))
                    .filter_map(|t| str_at(t, "details"))
                    .collect();
                let actions: Vec<String> = about("remediations", product)
                    .into_iter()
                    .filter_map(|r| {
                        let details = str_at(r, "details")?;
                        let mut s = match str_at(r, "category") {
                            Some(c) => format!("{c}: {details}"),
                            None => details.to_string(),
                        };
                        if let Some(url) = str_at(r, "url") {
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
    use crate::test_support::read;
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
}
