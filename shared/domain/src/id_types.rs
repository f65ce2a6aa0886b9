//! Typed identifiers: a tenant, an export, a scan and a schedule each have their own type,
//! so they cannot be swapped where they stand side by side (`tenant, export_id`), and each
//! is made in one place: `parse` for what arrives from outside (with the rule of what a
//! valid id is), the generators for new ones, serde through `parse` for what is stored.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// An id that does not follow its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not a valid id")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $what:literal, $valid:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The one constructor for ids that come from outside.
            pub fn parse(value: impl Into<String>) -> Result<$name, InvalidId> {
                let value = value.into();
                let valid: fn(&str) -> bool = $valid;
                if valid(&value) {
                    Ok($name(value))
                } else {
                    Err(InvalidId { what: $what, value })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(value: &str) -> Result<Self, InvalidId> {
                $name::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                $name::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A tenant: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}` (the contract's rule), checked here, once,
    /// where a verified token names it, so no other tenant reaches a key, a row or a queue.
    TenantId,
    "tenant",
    is_tenant_id
);

/// The contract's tenant rule: an ASCII letter or digit, then up to 63 letters, digits,
/// `.`, `_` or `-`.
fn is_tenant_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

id_type!(
    /// An export: `exp-` + a lowercase ULID, or a scheduled run's derived id.
    ExportId,
    "export",
    crate::ids::is_safe_id
);

id_type!(
    /// A stored scan (`scan-…`, a content address) or VEX document (`vex-…`).
    ScanId,
    "scan",
    crate::ids::is_safe_id
);

id_type!(
    /// A schedule: `sch-` + a lowercase ULID.
    ScheduleId,
    "schedule",
    crate::ids::is_safe_id
);

id_type!(
    /// A delivery destination: `dst-` + a lowercase ULID.
    DestinationId,
    "destination",
    crate::ids::is_safe_id
);

impl TenantId {
    /// The tenant an offline render (`exportctl render`) records.
    pub fn offline() -> TenantId {
        TenantId("local".into())
    }
}

impl ExportId {
    /// The id an offline render records: `offline-{unix seconds}`.
    pub fn offline(unix_seconds: i64) -> ExportId {
        ExportId(format!("offline-{unix_seconds}"))
    }

    /// Whether this is an offline render's id (`exportctl render`): nothing is sealed.
    pub fn is_offline(&self) -> bool {
        self.0.starts_with("offline-")
    }

    /// An id this crate derived from others (a scheduled run's): safe by construction.
    pub(crate) fn derived(id: String) -> ExportId {
        ExportId(id)
    }

    /// A new, unique export id that sorts by creation time.
    pub fn generate() -> ExportId {
        ExportId(crate::ids::new_export_id())
    }
}

impl ScanId {
    /// The id a scanner document is stored under: derived from the tenant and the bytes, so
    /// ingesting the same document again is idempotent.
    pub fn of_scan(tenant: &TenantId, document: &[u8]) -> ScanId {
        ScanId(crate::ids::scan_id_for(tenant, document))
    }

    /// The id a VEX document (or a scan document's embedded VEX) is stored under.
    pub fn of_vex(tenant: &TenantId, document: &[u8]) -> ScanId {
        ScanId(crate::ids::vex_id_for(tenant, document))
    }

    /// Whether this id names a stored VEX document (`vex-…`) rather than a scan.
    pub fn is_vex_document(&self) -> bool {
        self.0.starts_with("vex-")
    }
}

impl DestinationId {
    /// A new, unique destination id that sorts by creation time.
    pub fn generate() -> DestinationId {
        DestinationId(crate::ids::new_sortable_id("dst"))
    }
}

impl ScheduleId {
    /// A new, unique schedule id that sorts by creation time.
    pub fn generate() -> ScheduleId {
        ScheduleId(crate::ids::new_sortable_id("sch"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_by_their_rule_and_read_back() {
        let t = TenantId::parse("acme").unwrap();
        assert_eq!(t, "acme");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"acme\"");
        assert_eq!(serde_json::from_str::<TenantId>("\"acme\"").unwrap(), t);
        assert!(serde_json::from_str::<TenantId>("\"a/b\"").is_err());
        assert!(TenantId::parse("").is_err());
        for bad in ["a/b", "a b", "../../x", "-x", ".x", "_x"] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
        assert!(TenantId::parse("t".repeat(65)).is_err());
        assert!(TenantId::parse("t".repeat(64)).is_ok());
        assert!(TenantId::parse("Acme-Corp.eu_1").is_ok());
        assert!(ExportId::parse("../x").is_err());
        let e = ExportId::generate();
        assert!(e.starts_with("exp-"));
        assert_eq!(ExportId::parse(e.to_string()).unwrap(), e);
        assert!(ScheduleId::generate().starts_with("sch-"));
    }
}
