//! What several formats say alike, each written once here: who made a document and what
//! names it (identity), where a vulnerability is published (advisory), which packages an
//! SBOM lists (inventory), purls and license expressions (package) and the worst severity
//! of a group (severity).
//!
//! Formats import `common` and `view`, never one another.

pub(crate) mod advisory;
pub(crate) mod identity;
pub(crate) mod inventory;
pub(crate) mod package;
pub(crate) mod severity;
