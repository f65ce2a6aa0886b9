//! The audit trail's entries and their hash chain. Every tenant has one chain (refusals whose
//! tenant cannot be trusted go to the operators' `_system` chain); each entry carries its
//! place (`seq`) and the SHA-256 of the entry before it, so removing, reordering or editing
//! an entry breaks every later link. The hash is over a canonical JSON form (sorted keys, no
//! whitespace) that anyone can recompute from the JSON the API returns.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::TenantId;
use crate::wire::string_enum;

/// `prev_sha256` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain name of refusals whose tenant cannot be trusted (not a valid tenant id, so it
/// can never collide with one).
pub const SYSTEM_CHAIN: &str = "_system";

string_enum!(
    /// What was done (the contract's action names).
    AuditAction {
        ExportCreate = "export.create",
        ExportCancel = "export.cancel",
        ExportDownload = "export.download",
        ExportSealed = "export.sealed",
        ExportHold = "export.hold",
        ExportPurge = "export.purge",
        /// The retention sweeper deleted an export's artifacts.
        ExportExpired = "export.expired",
        ScanIngest = "scan.ingest",
        ScanDelete = "scan.delete",
        TemplatePut = "template.put",
        ScheduleCreate = "schedule.create",
        ScheduleUpdate = "schedule.update",
        ScheduleDelete = "schedule.delete",
        DestinationCreate = "destination.create",
        DestinationDelete = "destination.delete",
        DeliverySent = "delivery.sent",
        DeliveryFailed = "delivery.failed",
        AuthDenied = "auth.denied",
    }
);

string_enum!(
    /// How it ended.
    Outcome {
        Success = "success",
        /// Refused authentication or authorisation.
        Denied = "denied",
        /// Attempted and failed (bad input, conflict, an error).
        Failure = "failure",
    }
);

/// Which chain an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditChain {
    Tenant(TenantId),
    /// Refusals whose tenant cannot be trusted; read by operators.
    System,
}

impl AuditChain {
    pub fn as_str(&self) -> &str {
        match self {
            AuditChain::Tenant(t) => t.as_str(),
            AuditChain::System => SYSTEM_CHAIN,
        }
    }

    pub fn parse(s: &str) -> Option<AuditChain> {
        match s {
            SYSTEM_CHAIN => Some(AuditChain::System),
            t => TenantId::parse(t).ok().map(AuditChain::Tenant),
        }
    }
}

/// An entry before it has a place in its chain: what the caller records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    pub chain: AuditChain,
    pub at: OffsetDateTime,
    pub subject: String,
    pub action: AuditAction,
    pub resource: String,
    pub outcome: Outcome,
    pub status: u16,
    pub trace_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An appended entry (the contract's fields, plus `seq`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    /// 1 for a chain's first entry, then consecutive.
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds.
    pub at: String,
    /// The chain: the tenant id, or `_system`.
    pub tenant_id: String,
    pub subject: String,
    pub action: AuditAction,
    pub resource: String,
    pub outcome: Outcome,
    pub status: u16,
    pub trace_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub prev_sha256: String,
}

/// The longest text kept in a free-form field (a user agent can be anything).
const MAX_FIELD_CHARS: usize = 256;

fn clip(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FIELD_CHARS)
        .collect()
}

impl AuditDraft {
    /// The entry that follows `head` (the chain's current last entry; `None`: the first).
    pub fn after(&self, head: Option<&AuditEntry>) -> AuditEntry {
        AuditEntry {
            id: format!("aud-{}", ulid::Ulid::new().to_string().to_lowercase()),
            seq: head.map_or(1, |h| h.seq + 1),
            at: rfc3339_millis(self.at),
            tenant_id: self.chain.as_str().to_string(),
            subject: clip(&self.subject),
            action: self.action,
            resource: clip(&self.resource),
            outcome: self.outcome,
            status: self.status,
            trace_id: clip(&self.trace_id),
            source_ip: self.source_ip.as_deref().map(clip),
            user_agent: self.user_agent.as_deref().map(clip),
            prev_sha256: head.map_or_else(|| GENESIS.to_string(), AuditEntry::sha256),
        }
    }
}

impl AuditEntry {
    /// SHA-256 (hex) of the entry's canonical JSON: what the next entry's `prev_sha256` holds.
    pub fn sha256(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        hex::encode(Sha256::digest(canonical_json(&value).as_bytes()))
    }

    pub fn at_time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.at, &time::format_description::well_known::Rfc3339).ok()
    }
}

fn rfc3339_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// JSON with object keys sorted and no whitespace (RFC 8785's shape for the values audit
/// entries hold: strings, integers, null).
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&m[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// Which entries a listing returns: in `seq` order (newest first with `newest_first`),
/// past `after_seq` in that order (the previous page's cursor), within the time range
/// (inclusive), of one action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub action: Option<AuditAction>,
    pub after_seq: Option<u64>,
    pub newest_first: bool,
    pub limit: usize,
}

impl AuditQuery {
    /// Whether `e` passes the time and action filters (adapters apply the cursor and limit).
    pub fn matches(&self, e: &AuditEntry) -> bool {
        let at = e.at_time();
        self.action.is_none_or(|a| a == e.action)
            && self.from.is_none_or(|f| at.is_some_and(|t| t >= f))
            && self.to.is_none_or(|to| at.is_some_and(|t| t <= to))
    }
}

/// What checking a chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub chain: String,
    pub entries: usize,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The last entry's hash: what a later entry (or a sealed copy) must name.
    pub head_sha256: String,
}

/// Where and why a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {index} (seq {seq}): {why}")]
pub struct ChainBreak {
    pub index: usize,
    pub seq: u64,
    pub why: String,
}

/// Checks that `entries` (in order) form one unbroken stretch of a chain: one chain, seqs
/// consecutive, each `prev_sha256` the hash of the entry before, and the genesis hash on seq
/// 1. A stretch that starts later is checked from its first entry on.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<ChainReport, ChainBreak> {
    let brk = |index: usize, e: &AuditEntry, why: String| ChainBreak {
        index,
        seq: e.seq,
        why,
    };
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return Err(ChainBreak {
            index: 0,
            seq: 0,
            why: "no entries".into(),
        });
    };
    if first.seq == 1 && first.prev_sha256 != GENESIS {
        return Err(brk(
            0,
            first,
            "the first entry does not start the chain".into(),
        ));
    }
    for (i, pair) in entries.windows(2).enumerate() {
        let (prev, e) = (&pair[0], &pair[1]);
        if e.tenant_id != first.tenant_id {
            return Err(brk(i + 1, e, format!("belongs to chain {:?}", e.tenant_id)));
        }
        if e.seq != prev.seq + 1 {
            return Err(brk(
                i + 1,
                e,
                format!("follows seq {} (missing or reordered entries)", prev.seq),
            ));
        }
        if e.prev_sha256 != prev.sha256() {
            return Err(brk(
                i + 1,
                e,
                "prev_sha256 is not the hash of the entry before (an entry was altered)".into(),
            ));
        }
    }
    Ok(ChainReport {
        chain: first.tenant_id.clone(),
        entries: entries.len(),
        first_seq: first.seq,
        last_seq: last.seq,
        head_sha256: last.sha256(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(action: AuditAction) -> AuditDraft {
        AuditDraft {
            chain: AuditChain::Tenant(TenantId::parse("acme").unwrap()),
            at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            subject: "alice".into(),
            action,
            resource: "export/exp-1".into(),
            outcome: Outcome::Success,
            status: 202,
            trace_id: "t-1".into(),
            source_ip: Some("192.0.2.1".into()),
            user_agent: Some("curl/8\u{1b}[31m".into()),
        }
    }

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for _ in 0..n {
            let e = draft(AuditAction::ExportCreate).after(out.last());
            out.push(e);
        }
        out
    }

    #[test]
    fn a_chain_verifies_and_every_alteration_breaks_it() {
        let c = chain(5);
        assert_eq!(c[0].prev_sha256, GENESIS);
        assert_eq!(c[4].seq, 5);
        assert_eq!(c[0].at, "2027-01-15T08:00:00.000Z");
        assert_eq!(
            c[0].user_agent.as_deref(),
            Some("curl/8[31m"),
            "control characters dropped"
        );
        let report = verify_chain(&c).unwrap();
        assert_eq!(
            (report.entries, report.first_seq, report.last_seq),
            (5, 1, 5)
        );
        assert!(
            verify_chain(&c[2..]).is_ok(),
            "a later stretch verifies on its own"
        );

        let mut edited = c.clone();
        edited[1].subject = "mallory".into();
        assert_eq!(verify_chain(&edited).unwrap_err().seq, 3);
        let mut removed = c.clone();
        removed.remove(2);
        assert!(verify_chain(&removed).unwrap_err().why.contains("missing"));
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert!(verify_chain(&swapped).is_err());
        let mut forged_start = c.clone();
        forged_start[0].prev_sha256 = "ab".repeat(32);
        assert!(verify_chain(&forged_start).is_err());
    }

    #[test]
    fn the_hash_is_over_the_canonical_json_of_what_the_api_returns() {
        let e = &chain(1)[0];
        let api_json = serde_json::to_string(e).unwrap();
        let back: AuditEntry = serde_json::from_str(&api_json).unwrap();
        assert_eq!(back.sha256(), e.sha256());
        let value: Value = serde_json::from_str(&api_json).unwrap();
        let expected = hex::encode(Sha256::digest(canonical_json(&value).as_bytes()));
        assert_eq!(e.sha256(), expected);
        assert!(canonical_json(&value).starts_with("{\"action\":\"export.create\",\"at\":"));
    }

    #[test]
    fn queries_filter_by_time_and_action() {
        let e = &chain(1)[0];
        let t = e.at_time().unwrap();
        let q = |from, to, action| AuditQuery {
            from,
            to,
            action,
            ..AuditQuery::default()
        };
        assert!(q(Some(t), Some(t), Some(AuditAction::ExportCreate)).matches(e));
        assert!(!q(None, None, Some(AuditAction::ScanIngest)).matches(e));
        assert!(!q(Some(t + time::Duration::seconds(1)), None, None).matches(e));
        assert!(AuditChain::parse("_system") == Some(AuditChain::System));
        assert!(AuditChain::parse("../x").is_none());
    }
}
