//! Which format a document is, from its content: one pass over the whole text that builds
//! nothing but the marker fields (and applies the JSON reader's nesting limit to every
//! value, skipped ones too), and a guess from the first bytes that lets the likely format be
//! read while the pass runs.

use serde::Deserialize as _;

use crate::IngestError;
use crate::lenient::{Deep, Kind, Obj, Text, TextOr, each_entry};
use crate::openvex;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detected {
    TrivyV2,
    TrivyLegacy,
    Grype,
    CycloneDx,
    Spdx,
    OpenVex,
    Csaf,
}

/// The top-level fields detection reads; every other value is skipped unbuilt (but
/// through the nesting limit, so the whole document is checked once).
#[derive(Default)]
struct Probe<'a> {
    schema_version: Kind,
    results: Kind,
    artifact_name: Kind,
    /// Grype's `descriptor.name`.
    descriptor_name: Text<'a>,
    matches: Kind,
    source: Kind,
    bom_format: Text<'a>,
    spdx_version: Text<'a>,
    context: Text<'a>,
    /// CSAF's `document.csaf_version`.
    csaf_version: Kind,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Probe<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Probe<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Probe<'a>, A::Error> {
                let mut p = Probe::default();
                each_entry(map, |key, map| {
                    match key {
                        "SchemaVersion" => p.schema_version = map.next_value()?,
                        "Results" => p.results = map.next_value()?,
                        "ArtifactName" => p.artifact_name = map.next_value()?,
                        "descriptor" => p.descriptor_name = map.next_value::<Field<'a>>()?.0,
                        "matches" => p.matches = map.next_value()?,
                        "source" => p.source = map.next_value()?,
                        "bomFormat" => p.bom_format = map.next_value()?,
                        "spdxVersion" => p.spdx_version = map.next_value()?,
                        "@context" => p.context = map.next_value()?,
                        "document" => p.csaf_version = map.next_value::<Field<'a>>()?.1,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                Ok(p)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The nested fields detection reads: `name` (of Grype's `descriptor`) and
/// `csaf_version` (of CSAF's `document`); a value that is not an object has neither.
#[derive(Default)]
struct Field<'a>(Text<'a>, Kind);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Field<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Field<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Field<'a>, A::Error> {
                let mut field = Field::default();
                each_entry(map, |key, map| {
                    match key {
                        "name" => field.0 = map.next_value()?,
                        "csaf_version" => field.1 = map.next_value()?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                Ok(field)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Field<'a>, A::Error> {
                Deep::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Field::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Field<'a>, E> {
                Ok(Field::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Field<'a>, E> {
                Ok(Field::default())
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Field<'a>, E> {
                Ok(Field::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Field<'a>, E> {
                Ok(Field::default())
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Field<'a>, E> {
                Ok(Field::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Field<'a>, E> {
                Ok(Field::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An item of a top-level array: a legacy Trivy result has a string `Target` and a
/// `Vulnerabilities` list (or `null`).
#[derive(Default)]
struct LegacyProbe(bool);

impl<'de> serde::Deserialize<'de> for LegacyProbe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `Target` and `Vulnerabilities` as the detection fields of a top-level object.
        let item: Obj<LegacyFields> = Obj::deserialize(d)?;
        Ok(LegacyProbe(item.0.is_some_and(|f| {
            f.target && matches!(f.vulnerabilities, Kind::Array | Kind::Null)
        })))
    }
}

#[derive(Default)]
struct LegacyFields {
    /// Whether `Target` is a string (even a blank one).
    target: bool,
    vulnerabilities: Kind,
}

impl<'de> serde::Deserialize<'de> for LegacyFields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LegacyFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<LegacyFields, A::Error> {
                let mut fields = LegacyFields::default();
                each_entry(map, |key, map| {
                    match key {
                        "Target" => {
                            fields.target =
                                matches!(map.next_value::<TextOr<'_, Deep>>()?, TextOr::Text(_))
                        }
                        "Vulnerabilities" => fields.vulnerabilities = map.next_value()?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                Ok(fields)
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads the whole text once, building nothing but the detection fields. Only here is the
/// text's JSON syntax checked: a syntax error is [`IngestError::NotJson`].
pub(crate) fn detect(text: &[u8]) -> Result<Option<Detected>, IngestError> {
    let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let not_json = |e: serde_json::Error| IngestError::NotJson(e.to_string());
    match first {
        Some(b'{') => {
            let probe: Probe<'_> = serde_json::from_slice(text).map_err(not_json)?;
            Ok(detect_object(&probe))
        }
        Some(b'[') => {
            let items: Vec<LegacyProbe> = serde_json::from_slice(text).map_err(not_json)?;
            let legacy = !items.is_empty() && items.iter().all(|i| i.0);
            Ok(legacy.then_some(Detected::TrivyLegacy))
        }
        _ => {
            serde_json::from_slice::<Deep>(text).map_err(not_json)?;
            Ok(None)
        }
    }
}

fn detect_object(p: &Probe<'_>) -> Option<Detected> {
    let present = |k: Kind| k != Kind::Absent;
    if present(p.schema_version) && (present(p.results) || present(p.artifact_name)) {
        return Some(Detected::TrivyV2);
    }
    let named_grype = p.descriptor_name.as_str() == Some("grype");
    if (named_grype && present(p.matches)) || (p.matches == Kind::Array && present(p.source)) {
        return Some(Detected::Grype);
    }
    if p.bom_format.as_str() == Some("CycloneDX") {
        return Some(Detected::CycloneDx);
    }
    if p.spdx_version
        .as_str()
        .is_some_and(|v| v.starts_with("SPDX-"))
    {
        return Some(Detected::Spdx);
    }
    if p.context
        .as_str()
        .is_some_and(|c| c.starts_with(openvex::CONTEXT))
    {
        return Some(Detected::OpenVex);
    }
    if present(p.csaf_version) {
        return Some(Detected::Csaf);
    }
    None
}

/// The format a document's first kilobytes suggest, for reading it while it is detected:
/// Trivy, Grype and SPDX write their marker field near the top.
pub(crate) fn sniff(text: &[u8]) -> Option<Detected> {
    let head = &text[..text.len().min(4096)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if has(b"\"SchemaVersion\"") {
        Some(Detected::TrivyV2)
    } else if has(b"\"matches\"") {
        Some(Detected::Grype)
    } else if has(b"\"spdxVersion\"") {
        Some(Detected::Spdx)
    } else {
        None
    }
}
