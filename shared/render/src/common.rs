//! What several formats say alike, each written once here: who made a document and what
//! names it (identity), where a vulnerability is published (advisory), which packages an
//! SBOM lists (inventory), purls and license expressions (package), the worst severity of
//! a group (severity), policy decisions' names (decision), the data tables of CSV and XLSX
//! (columns), a vulnerability's dates, EPSS and KEV (facts), the report document that JSON writes and custom templates read
//! (document), and the statements every VEX rendering carries (vex_export). The CVSS entry a report prints is the view's
//! ([`crate::view::FindingRow::best_cvss`]).
//!
//! Formats import `common` and `view`, never one another.

pub(crate) mod advisory;
pub(crate) mod columns;
pub(crate) mod decision;
pub(crate) mod document;
pub(crate) mod facts;
pub(crate) mod identity;
pub(crate) mod inventory;
pub(crate) mod package;
pub(crate) mod severity;
pub(crate) mod vex_export;
