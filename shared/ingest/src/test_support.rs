//! What the format readers' unit tests share: reading one document the way the tests of
//! every format do, so that a change to [`parse_document`] is made in one place.

use time::macros::datetime;

use crate::{Ingested, parse_document};

/// `doc` read as tenant `t1`, ingested at 2025-01-01 00:00 UTC; a document that is not
/// read fails the test with the error.
pub(crate) fn read(doc: &str) -> Ingested {
    match parse_document(
        doc.as_bytes(),
        &"t1".parse().unwrap(),
        datetime!(2025-01-01 00:00:00 UTC),
    ) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

/// Why `doc` is not read (`"read"` when it is), as the error says it.
pub(crate) fn error_of(doc: &str) -> String {
    match parse_document(
        doc.as_bytes(),
        &"t1".parse().unwrap(),
        datetime!(2025-01-01 00:00:00 UTC),
    ) {
        Ok(_) => "read".into(),
        Err(e) => e.to_string(),
    }
}
