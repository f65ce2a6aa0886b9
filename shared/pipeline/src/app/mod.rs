//! The application layer between HTTP and the stages: one service per resource of the API,
//! each holding only the ports it uses, each taking typed inputs ([`inputs`]) from an
//! authenticated [`Caller`]. `ec_api` translates HTTP to these calls and back; nothing here
//! knows HTTP.

pub mod audit;
pub mod destination_input;
pub mod destinations;
mod evidence;
pub mod exports;
pub mod holds;
pub mod inputs;
pub mod keys;
pub mod quota;
pub mod scans;
pub mod schedules;
pub mod templates;

pub use audit::Audit;
pub use destinations::Destinations;
pub use exports::Exports;
pub use keys::Keys;
pub use quota::{Accepted, QuotaStatus, Refused};
pub use scans::{IngestReceipt, Scans};
pub use schedules::Schedules;
pub use templates::{TemplateInfo, Templates};

use ec_domain::TenantId;

/// The authenticated caller: tenant and subject come from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub subject: String,
}

/// The API's services.
#[derive(Clone)]
pub struct App {
    pub exports: Exports,
    pub scans: Scans,
    pub templates: Templates,
    pub schedules: Schedules,
    pub destinations: Destinations,
    pub audit: Audit,
    /// The published seal signing keys.
    pub keys: Keys,
}
