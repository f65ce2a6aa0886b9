//! The scan catalogue in DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ec_domain::PortError;
use ec_domain::ports::{Page, PortResult, ScanCatalog};
use ec_domain::scan::ScanSummary;
use ec_domain::{ScanId, TenantId};
use time::OffsetDateTime;

use super::SCANS_BY_SCANNED_INDEX;
use super::attrs::{
    Item, get_s, n, page_limit, read_doc, read_pages, s, time_key, time_prefix, write_doc,
};
use super::table::Table;

/// [`ScanCatalog`] over a DynamoDB table keyed by (`tenant_id`, `scan_id`), with the
/// `by_scanned` index for time ranges. See the [module documentation](super).
#[derive(Debug, Clone)]
pub struct DynamoScanCatalog {
    table: Table,
}

impl DynamoScanCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoScanCatalog {
            table: Table::new(client, table),
        }
    }

    pub fn table(&self) -> &str {
        self.table.name()
    }

    fn key(tenant: &TenantId, scan_id: &ScanId) -> Item {
        Item::from([
            ("tenant_id".to_string(), s(tenant)),
            ("scan_id".to_string(), s(scan_id)),
        ])
    }
}

fn summary_of(item: &Item) -> PortResult<ScanSummary> {
    let tenant = get_s(item, "tenant_id", "stored scan summary")?;
    let scan_id = get_s(item, "scan_id", "stored scan summary")?;
    let what = format!("scan summary {tenant}/{scan_id}");
    let summary: ScanSummary = read_doc(item, &what)?;
    if summary.tenant_id != tenant || summary.scan_id != scan_id {
        return Err(PortError::Invalid(format!(
            "{what}: stored document is for {}/{}",
            summary.tenant_id, summary.scan_id
        )));
    }
    Ok(summary)
}

/// Stored times have whole seconds: the first whole second at or after `t`.
fn ceil_second(t: OffsetDateTime) -> OffsetDateTime {
    if t.nanosecond() == 0 {
        t
    } else {
        t.replace_nanosecond(0)
            .map(|f| f + time::Duration::SECOND)
            .unwrap_or(t)
    }
}

#[async_trait]
impl ScanCatalog for DynamoScanCatalog {
    async fn put(&self, summary: &ScanSummary) -> PortResult<()> {
        let what = format!("scan summary {}/{}", summary.tenant_id, summary.scan_id);
        let mut item = Self::key(&summary.tenant_id, &summary.scan_id);
        item.insert(
            "scanned_key".into(),
            s(time_key(summary.scanned_at, &summary.scan_id)),
        );
        item.insert("scanned_at".into(), n(summary.scanned_at.unix_timestamp()));
        item.insert("doc".into(), write_doc(summary, &what)?);
        self.table.put(item, &format!("put {what}")).await
    }

    async fn get(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<Option<ScanSummary>> {
        let key = Self::key(tenant, scan_id);
        let what = format!("get scan summary {tenant}/{scan_id}");
        let item = self.table.get(key, &what).await?;
        item.as_ref().map(summary_of).transpose()
    }

    async fn in_range(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<ScanSummary>> {
        // Every key of a second `T` lies in [`T#`, `T$`) since `$` follows `#`.
        let lo = format!("{}#", time_prefix(ceil_second(from)));
        let hi = format!("{}$", time_prefix(to));
        if limit == 0 || lo > hi {
            return Ok(Vec::new());
        }
        let what = format!("list scans of {tenant}");
        let found = read_pages(limit, &what, |start, missing| {
            self.table
                .query()
                .index_name(SCANS_BY_SCANNED_INDEX)
                .key_condition_expression("#t = :t AND #k BETWEEN :lo AND :hi")
                .expression_attribute_names("#t", "tenant_id")
                .expression_attribute_names("#k", "scanned_key")
                .expression_attribute_values(":t", s(tenant))
                .expression_attribute_values(":lo", s(&lo))
                .expression_attribute_values(":hi", s(&hi))
                .scan_index_forward(true)
                .limit(page_limit(missing))
                .set_exclusive_start_key(start)
        })
        .await?;
        found.iter().map(summary_of).collect()
    }

    async fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> PortResult<Page<ScanSummary>> {
        if limit == 0 {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let mut from = cursor.map(|c| decode_cursor(c, tenant)).transpose()?;
        let what = format!("list scans of {tenant}");
        // One item more than asked tells whether another page exists; the cursor is built
        // from the last item returned, so it is exact whatever the pages were.
        let mut found = read_pages(limit.saturating_add(1), &what, |start, missing| {
            self.table
                .query()
                .index_name(SCANS_BY_SCANNED_INDEX)
                .key_condition_expression("#t = :t")
                .expression_attribute_names("#t", "tenant_id")
                .expression_attribute_values(":t", s(tenant))
                .scan_index_forward(false)
                .limit(page_limit(missing))
                .set_exclusive_start_key(start.or_else(|| from.take()))
        })
        .await?;
        let more = found.len() > limit;
        found.truncate(limit);
        let next_cursor = match (more, found.last()) {
            (true, Some(last)) => Some(encode_cursor(last)?),
            _ => None,
        };
        let items = found
            .iter()
            .map(summary_of)
            .collect::<PortResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor })
    }

    async fn delete(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<()> {
        let what = format!("delete scan summary {tenant}/{scan_id}");
        self.table.delete(Self::key(tenant, scan_id), &what).await
    }
}

/// The opaque list cursor: the `by_scanned` key of the last scan returned, as base64url of
/// `scan_id` and `scanned_key` (the tenant is the caller's).
fn encode_cursor(item: &Item) -> PortResult<String> {
    let scan_id = get_s(item, "scan_id", "stored scan summary")?;
    let key = get_s(item, "scanned_key", "stored scan summary")?;
    Ok(URL_SAFE_NO_PAD.encode(format!("{scan_id}\n{key}")))
}

fn decode_cursor(cursor: &str, tenant: &TenantId) -> PortResult<Item> {
    let bad = || PortError::Invalid("malformed list cursor".into());
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (scan_id, key) = text.split_once('\n').ok_or_else(bad)?;
    if scan_id.is_empty() || !key.ends_with(&format!("#{scan_id}")) {
        return Err(bad());
    }
    Ok(Item::from([
        ("tenant_id".to_string(), s(tenant)),
        ("scan_id".to_string(), s(scan_id)),
        ("scanned_key".to_string(), s(key)),
    ]))
}
