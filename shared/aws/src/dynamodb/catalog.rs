//! The scan catalogue in DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ec_domain::PortError;
use ec_domain::ports::{PortResult, ScanCatalog};
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
}
