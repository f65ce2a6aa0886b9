//! `exportctl audit`: export a tenant's audit chain from a running server as JSON lines
//! (paging through `GET /api/v1/audit`), and verify such a file offline: one chain,
//! consecutive `seq`, each `prev_sha256` the SHA-256 of the entry before (see
//! `ec_domain::audit`). A verified file's last hash is what to keep to detect a later
//! rewrite of the whole tail.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context as _;

use ec_domain::audit::{AuditEntry, ChainBreak, ChainReport, verify_chain};

use crate::client::Client;

/// Reads JSON lines of entries (blank lines skipped), or one `{"items": [...]}` page.
pub fn read_entries(path: &Path) -> anyhow::Result<Vec<AuditEntry>> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut entries = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", path.display(), n + 1))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if n == 0 && line.starts_with("{\"items\"") {
            #[derive(serde::Deserialize)]
            struct PageDoc {
                items: Vec<AuditEntry>,
            }
            let page: PageDoc = serde_json::from_str(line).context("an audit page")?;
            entries.extend(page.items);
            continue;
        }
        let e: AuditEntry = serde_json::from_str(line)
            .with_context(|| format!("{}: line {} is not an audit entry", path.display(), n + 1))?;
        entries.push(e);
    }
    Ok(entries)
}

/// Verifies a file; the report, or where the chain breaks.
pub fn verify_file(path: &Path) -> anyhow::Result<Result<ChainReport, ChainBreak>> {
    Ok(verify_chain(&read_entries(path)?))
}

/// Writes every entry of the chain the client's token reads (the tenant's, or `_system`)
/// to `out` as JSON lines; returns how many.
pub async fn export(client: &Client, system: bool, out: &mut dyn Write) -> anyhow::Result<usize> {
    let mut cursor: Option<String> = None;
    let mut count = 0;
    loop {
        let page = client.audit_page(system, cursor.as_deref()).await?;
        for e in &page.items {
            serde_json::to_writer(&mut *out, e)?;
            out.write_all(b"\n")?;
        }
        count += page.items.len();
        match page.next_cursor {
            Some(c) if !page.items.is_empty() => cursor = Some(c),
            _ => return Ok(count),
        }
    }
}
