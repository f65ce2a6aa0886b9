//! The audit trail as the API and the stages use it: recording an entry (best effort: the
//! action it records has already happened, so a log that cannot take the entry is logged as
//! an error, never turned into a failed request) and listing a chain
//! (`GET /api/v1/audit?from&to&action&limit&cursor`).

use std::sync::Arc;

use ec_domain::ApiError;
use ec_domain::audit::{AuditAction, AuditChain, AuditDraft, AuditEntry, AuditQuery};
use ec_domain::ports::{AuditLog, Page};
use ec_domain::time::parse_rfc3339;

use super::inputs::list_limit;

/// The audit service.
#[derive(Clone)]
pub struct Audit {
    pub log: Arc<dyn AuditLog>,
}

impl Audit {
    /// Appends `draft` to its chain; `None` (and an error in the log) when it could not.
    pub async fn record(&self, draft: AuditDraft) -> Option<AuditEntry> {
        match self.log.append(&draft).await {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::error!(
                    chain = draft.chain.as_str(),
                    action = %draft.action,
                    error = %e,
                    "could not append to the audit trail"
                );
                None
            }
        }
    }

    /// One page of `chain`.
    pub async fn list(
        &self,
        chain: &AuditChain,
        query: &AuditQuery,
    ) -> Result<Page<AuditEntry>, ApiError> {
        Ok(self.log.list(chain, query).await?)
    }
}

/// `GET /api/v1/audit`'s query string, checked.
pub fn parse_query(
    from: Option<&str>,
    to: Option<&str>,
    action: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
    order: Option<&str>,
) -> Result<AuditQuery, ApiError> {
    let newest_first = match order {
        None | Some("oldest") => false,
        Some("newest") => true,
        Some(_) => return Err(ApiError::validation("order", "expected oldest or newest")),
    };
    let time = |field: &'static str, v: Option<&str>| {
        v.map(|s| {
            parse_rfc3339(s).ok_or_else(|| ApiError::validation(field, "must be an RFC 3339 time"))
        })
        .transpose()
    };
    let action = action
        .map(|a| {
            AuditAction::parse(a).ok_or_else(|| {
                let names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                ApiError::validation("action", format!("expected one of {}", names.join(", ")))
            })
        })
        .transpose()?;
    let limit = list_limit(limit)?;
    let after_seq = cursor
        .map(|c| {
            c.parse::<u64>()
                .map_err(|_| ApiError::validation("cursor", "not a cursor this listing returned"))
        })
        .transpose()?;
    Ok(AuditQuery {
        from: time("from", from)?,
        to: time("to", to)?,
        action,
        after_seq,
        newest_first,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_checked() {
        let q = parse_query(
            Some("2026-01-01T00:00:00Z"),
            None,
            Some("export.download"),
            Some("10"),
            Some("42"),
            Some("newest"),
        )
        .unwrap();
        assert_eq!(q.action, Some(AuditAction::ExportDownload));
        assert_eq!((q.limit, q.after_seq, q.newest_first), (10, Some(42), true));
        for (from, action, limit, cursor) in [
            (Some("yesterday"), None, None, None),
            (None, Some("export.delete"), None, None),
            (None, None, Some("0"), None),
            (None, None, Some("100000"), None),
            (None, None, None, Some("abc")),
        ] {
            assert!(parse_query(from, None, action, limit, cursor, None).is_err());
        }
        assert!(parse_query(None, None, None, None, None, Some("sideways")).is_err());
    }
}
