//! The DynamoDB adapters against a moto server over HTTP (`EC_MOTO_ENDPOINT`). Without the
//! variable every test fails: they never skip. Each test creates its own tables, named with
//! a ULID, from the key schemas below, which mirror the module documentation of
//! `ec_aws::dynamodb` (and so the SAM template).

use std::collections::HashMap;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use ec_aws::dynamodb::{
    DynamoConnections, DynamoIdempotency, DynamoJobTable, DynamoScanCatalog, DynamoSchedules,
};
use ec_domain::PortError;
use ec_domain::job::{Job, JobError, JobStatus, Stage, Transition};
use ec_domain::ports::{
    Claim, ConnectionRegistry, IdempotencyStore, JobTable, ScanCatalog, ScheduleStore,
};
use ec_domain::request::{
    BuiltinTemplate, ExportOptions, ExportRequest, ExportType, Format, Scope, TemplateName,
};
use ec_domain::scan::ScanSummary;
use ec_domain::schedule::Schedule;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------
// Set-up: client and tables.

/// The moto endpoint, e.g. `http://127.0.0.1:5056`.
fn moto_endpoint() -> String {
    match std::env::var("EC_MOTO_ENDPOINT") {
        Ok(v) if !v.trim().is_empty() => v.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "EC_MOTO_ENDPOINT is not set: the DynamoDB tests need a moto server \
             (e.g. `moto_server -H 127.0.0.1 -p 5056` and \
             EC_MOTO_ENDPOINT=http://127.0.0.1:5056); they never skip"
        ),
    }
}

async fn client_for(endpoint: &str) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    Client::new(&config)
}

async fn client() -> Client {
    client_for(&moto_endpoint()).await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// One table's key schema: partition key, optional sort key (all strings), GSIs
/// `(name, pk, sk)` projecting ALL, and the TTL attribute.
struct TableDef {
    pk: &'static str,
    sk: Option<&'static str>,
    gsis: &'static [(&'static str, &'static str, Option<&'static str>)],
    ttl: Option<&'static str>,
}

const JOBS: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("export_id"),
    gsis: &[("by_created", "tenant_id", Some("created_key"))],
    ttl: Some("expires_at"),
};
const IDEMPOTENCY: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("idem_key"),
    gsis: &[],
    ttl: Some("expires_at"),
};
const SCANS: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("scan_id"),
    gsis: &[("by_scanned", "tenant_id", Some("scanned_key"))],
    ttl: None,
};
const CONNECTIONS: TableDef = TableDef {
    pk: "connection_id",
    sk: None,
    gsis: &[("by_tenant", "tenant_id", None)],
    ttl: Some("expires_at"),
};
const SCHEDULES: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("schedule_id"),
    gsis: &[],
    ttl: None,
};

fn key_schema(pk: &str, sk: Option<&str>) -> Vec<KeySchemaElement> {
    let el = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key schema element")
    };
    let mut keys = vec![el(pk, KeyType::Hash)];
    if let Some(sk) = sk {
        keys.push(el(sk, KeyType::Range));
    }
    keys
}

/// Creates a table from `def` with a unique name and returns the name.
async fn create_table(client: &Client, prefix: &str, def: &TableDef) -> String {
    let name = unique(prefix);
    let mut attrs: Vec<&str> = vec![def.pk];
    attrs.extend(def.sk);
    for (_, pk, sk) in def.gsis {
        attrs.push(pk);
        attrs.extend(*sk);
    }
    attrs.sort_unstable();
    attrs.dedup();
    let mut req = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(def.pk, def.sk)));
    for a in attrs {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        );
    }
    for (index, pk, sk) in def.gsis {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(*index)
                .set_key_schema(Some(key_schema(pk, *sk)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("gsi"),
        );
    }
    req.send().await.expect("create table");
    if let Some(ttl) = def.ttl {
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .expect("ttl spec"),
            )
            .send()
            .await
            .expect("enable ttl");
    }
    name
}

async fn raw_item(
    client: &Client,
    table: &str,
    key: &[(&str, &str)],
) -> Option<HashMap<String, AttributeValue>> {
    let key = key
        .iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
        .collect();
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .expect("raw get")
        .item
}

async fn corrupt_doc(client: &Client, table: &str, key: &[(&str, &str)]) {
    let key = key
        .iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
        .collect();
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key))
        .update_expression("SET #d = :d")
        .expression_attribute_names("#d", "doc")
        .expression_attribute_values(":d", AttributeValue::S("{not json".into()))
        .send()
        .await
        .expect("corrupt doc");
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().expect("number"),
        other => panic!("{name} is not a number: {other:?}"),
    }
}

fn ts(at: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at).unwrap()
}

// ---------------------------------------------------------------------------------------
// Jobs.

fn job(tenant: &str, id: &str, created_at: OffsetDateTime) -> Job {
    let req = ExportRequest {
        export_type: ExportType::ScanReport,
        format: Format::Json,
        scope: Scope::ScanIds(vec!["scan-a".into()]),
        options: ExportOptions {
            include_sbom: false,
            include_evidence: true,
        },
        template: TemplateName::Builtin(BuiltinTemplate::ComplianceDetailed),
    };
    Job::new(
        id.into(),
        tenant.into(),
        req,
        "alice".into(),
        None,
        created_at,
    )
}

fn t0() -> OffsetDateTime {
    ts(1_735_000_000)
}

const RET: time::Duration = time::Duration::days(30);

async fn jobs_table() -> (Client, String, DynamoJobTable) {
    let c = client().await;
    let table = create_table(&c, "ec-jobs", &JOBS).await;
    (c.clone(), table.clone(), DynamoJobTable::new(c, table))
}

/// Every page of a listing, checking each page's size; the ids in order and the page count.
async fn walk(
    jobs: &DynamoJobTable,
    tenant: &str,
    status: Option<JobStatus>,
    limit: usize,
) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = jobs
            .list(tenant, status, limit, cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= limit);
        if let Some(st) = status {
            assert!(page.items.iter().all(|j| j.status == st));
        }
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), limit, "a page with a cursor is full");
        }
        seen.extend(page.items.iter().map(|j| j.export_id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 1000, "listing does not end");
    }
    (seen, pages)
}

#[tokio::test]
async fn jobs_create_get_and_duplicate() {
    let (_c, _t, jobs) = jobs_table().await;
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), Some(j.clone()));
    let err = jobs.create(&j).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    assert_eq!(jobs.get("acme", "nope").await.unwrap(), None);
}

#[tokio::test]
async fn jobs_conditional_update_and_ttl_attribute() {
    let (c, table, jobs) = jobs_table().await;
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    let raw = raw_item(&c, &table, &[("tenant_id", "acme"), ("export_id", "exp-1")])
        .await
        .unwrap();
    assert!(!raw.contains_key("expires_at"), "no TTL before retention");
    assert_eq!(number(&raw, "version"), 1);
    assert_eq!(
        raw.get("created_key"),
        Some(&AttributeValue::S("2024-12-24T00:26:40Z#exp-1".into()))
    );

    let g = j
        .apply(Transition::Enter(Stage::Gathering), t0(), RET)
        .unwrap();
    jobs.update(&g, j.version).await.unwrap();
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap().unwrap().version, 2);

    // A second worker that read version 1 loses.
    let other = j.apply(Transition::Cancel, t0(), RET).unwrap();
    let err = jobs.update(&other, j.version).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap().unwrap(), g);

    // Updating a job that does not exist is a lost condition too, and creates nothing.
    let ghost = job("acme", "exp-ghost", t0());
    assert!(matches!(
        jobs.update(&ghost, 1).await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(jobs.get("acme", "exp-ghost").await.unwrap(), None);

    // The status attribute follows the document.
    let page = jobs
        .list("acme", Some(JobStatus::Running), 10, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![g.clone()]);

    // Ready sets the retention end, which becomes the TTL attribute (epoch seconds).
    let mut cur = g;
    for s in [Stage::Rendering, Stage::Storing, Stage::Sealing] {
        let next = cur.apply(Transition::Enter(s), t0(), RET).unwrap();
        jobs.update(&next, cur.version).await.unwrap();
        cur = next;
    }
    let ready = cur
        .apply(Transition::Ready { artifacts: vec![] }, t0(), RET)
        .unwrap();
    jobs.update(&ready, cur.version).await.unwrap();
    let raw = raw_item(&c, &table, &[("tenant_id", "acme"), ("export_id", "exp-1")])
        .await
        .unwrap();
    // TTL removes the row 90 days after retention ends, so downloads can still answer 410.
    assert_eq!(
        number(&raw, "expires_at"),
        (t0() + RET + time::Duration::days(90)).unix_timestamp()
    );
    assert_eq!(number(&raw, "version"), 6);
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), Some(ready));
}

#[tokio::test]
async fn jobs_concurrent_updates_have_one_winner() {
    let (_c, _t, jobs) = jobs_table().await;
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (jobs, j) = (jobs.clone(), j.clone());
        tasks.spawn(async move {
            let next = j
                .apply(Transition::Enter(Stage::Gathering), t0(), RET)
                .unwrap();
            match jobs.update(&next, j.version).await {
                Ok(()) => true,
                Err(PortError::ConditionFailed(_)) => false,
                Err(e) => panic!("unexpected error {e:?}"),
            }
        });
    }
    let mut wins = 0;
    while let Some(won) = tasks.join_next().await {
        wins += usize::from(won.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn jobs_list_pages_newest_first_with_status_filter() {
    let (_c, _t, jobs) = jobs_table().await;
    // 25 jobs, one second apart; every third one is failed. exp-14 and exp-15 share a
    // timestamp, right across the boundary of the first page.
    for i in 0..25i64 {
        let mut j = job(
            "acme",
            &format!("exp-{i:02}"),
            t0() + time::Duration::seconds(i),
        );
        if i == 14 {
            j.created_at = t0() + time::Duration::seconds(15);
        }
        jobs.create(&j).await.unwrap();
        if i % 3 == 0 {
            let f = j
                .apply(
                    Transition::Fail(JobError::new(ec_domain::ErrorCode::Internal, "y")),
                    t0(),
                    RET,
                )
                .unwrap();
            jobs.update(&f, j.version).await.unwrap();
        }
    }
    // Other tenants never show up.
    jobs.create(&job("globex", "exp-99", t0() + time::Duration::days(1)))
        .await
        .unwrap();

    let (seen, pages) = walk(&jobs, "acme", None, 10).await;
    assert_eq!(pages, 3);
    // The tie of exp-15 and exp-14 is broken by export_id, descending.
    let expected: Vec<String> = (0..25).rev().map(|i| format!("exp-{i:02}")).collect();
    assert_eq!(seen, expected);

    // Exactly one page: no cursor.
    let all = jobs.list("acme", None, 25, None).await.unwrap();
    assert_eq!(all.items.len(), 25);
    assert_eq!(all.next_cursor, None);
    // A page ending exactly at the last item has no cursor either.
    let (seen, pages) = walk(&jobs, "acme", None, 5).await;
    assert_eq!((seen.len(), pages), (25, 5));

    // Status filter with pagination: 9 failed jobs in pages of 4.
    let (failed, pages) = walk(&jobs, "acme", Some(JobStatus::Failed), 4).await;
    let expected: Vec<String> = (0..25)
        .rev()
        .filter(|i| i % 3 == 0)
        .map(|i| format!("exp-{i:02}"))
        .collect();
    assert_eq!(failed, expected);
    assert_eq!(pages, 3);
    let (failed, pages) = walk(&jobs, "acme", Some(JobStatus::Failed), 3).await;
    assert_eq!((failed, pages), (expected, 3));

    // Nothing matches: one empty page, no cursor.
    let none = jobs
        .list("acme", Some(JobStatus::Ready), 10, None)
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next_cursor.is_none());

    // Malformed cursors, and another tenant's cursor, are invalid.
    let first = jobs.list("acme", None, 10, None).await.unwrap();
    let acme_cursor = first.next_cursor.unwrap();
    for bad in ["garbage!", "e30", acme_cursor.as_str()] {
        let tenant = if bad == acme_cursor { "globex" } else { "acme" };
        assert!(
            matches!(
                jobs.list(tenant, None, 10, Some(bad)).await,
                Err(PortError::Invalid(_))
            ),
            "{bad}"
        );
    }
    let empty = jobs.list("acme", None, 0, None).await.unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
}

/// A sparse status over more items than one query page reads: the filter leaves pages
/// short or empty, and the adapter must keep reading while keeping cursors exact.
#[tokio::test]
async fn jobs_sparse_status_filter_reads_across_query_pages() {
    let (_c, _t, jobs) = jobs_table().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..150i64 {
        let jobs = jobs.clone();
        tasks.spawn(async move {
            let j = job(
                "acme",
                &format!("exp-{i:03}"),
                t0() + time::Duration::seconds(i),
            );
            jobs.create(&j).await.unwrap();
            if i % 50 == 7 {
                let c = j.apply(Transition::Cancel, t0(), RET).unwrap();
                jobs.update(&c, j.version).await.unwrap();
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let expected = ["exp-107", "exp-057", "exp-007"];
    for limit in [1, 2, 3, 4] {
        let (seen, pages) = walk(&jobs, "acme", Some(JobStatus::Cancelled), limit).await;
        assert_eq!(seen, expected, "limit {limit}");
        assert_eq!(pages, 3usize.div_ceil(limit), "limit {limit}");
    }
    let (seen, pages) = walk(&jobs, "acme", None, 40).await;
    assert_eq!(seen.len(), 150);
    assert_eq!(pages, 4);
    assert_eq!(seen.first().map(String::as_str), Some("exp-149"));
    assert_eq!(seen.last().map(String::as_str), Some("exp-000"));
}

#[tokio::test]
async fn jobs_tenants_are_isolated_and_delete_works() {
    let (_c, _t, jobs) = jobs_table().await;
    let a = job("acme", "exp-1", t0());
    let b = job("globex", "exp-1", t0());
    jobs.create(&a).await.unwrap();
    jobs.create(&b).await.unwrap(); // same id, other tenant
    assert_eq!(
        jobs.get("acme", "exp-1").await.unwrap().unwrap().tenant_id,
        "acme"
    );
    assert_eq!(
        jobs.get("globex", "exp-1")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        "globex"
    );
    let page = jobs.list("acme", None, 10, None).await.unwrap();
    assert_eq!(page.items, vec![a.clone()]);
    // An update through the other tenant's key cannot touch acme's row.
    let g = b.apply(Transition::Cancel, t0(), RET).unwrap();
    jobs.update(&g, 1).await.unwrap();
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), Some(a));
    jobs.delete("acme", "exp-1").await.unwrap();
    jobs.delete("acme", "exp-1").await.unwrap(); // idempotent
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), None);
    assert!(jobs.get("globex", "exp-1").await.unwrap().is_some());
}

#[tokio::test]
async fn jobs_a_corrupt_item_is_an_error_not_a_panic() {
    let (c, table, jobs) = jobs_table().await;
    jobs.create(&job("acme", "exp-1", t0())).await.unwrap();
    corrupt_doc(&c, &table, &[("tenant_id", "acme"), ("export_id", "exp-1")]).await;
    assert!(matches!(
        jobs.get("acme", "exp-1").await,
        Err(PortError::Invalid(_))
    ));
    assert!(matches!(
        jobs.list("acme", None, 10, None).await,
        Err(PortError::Invalid(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Idempotency.

async fn idempotency_table() -> (Client, String, DynamoIdempotency) {
    let c = client().await;
    let table = create_table(&c, "ec-idem", &IDEMPOTENCY).await;
    (c.clone(), table.clone(), DynamoIdempotency::new(c, table))
}

#[tokio::test]
async fn idempotency_claim_existing_release_and_expiry() {
    let (c, table, idem) = idempotency_table().await;
    let day = Duration::from_secs(86_400);
    assert_eq!(
        idem.claim("acme", "k1", "h1", "exp-1", day).await.unwrap(),
        Claim::Claimed
    );
    // Same key again, even with another request: the first claim stands.
    assert_eq!(
        idem.claim("acme", "k1", "h2", "exp-2", day).await.unwrap(),
        Claim::Existing {
            request_hash: "h1".into(),
            export_id: "exp-1".into()
        }
    );
    // The TTL attribute is epoch seconds, about a day ahead.
    let raw = raw_item(&c, &table, &[("tenant_id", "acme"), ("idem_key", "k1")])
        .await
        .unwrap();
    let ttl = number(&raw, "expires_at");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!((now + 86_390..=now + 86_410).contains(&ttl), "{ttl}");
    // Keys are per tenant.
    assert_eq!(
        idem.claim("globex", "k1", "h3", "exp-3", day)
            .await
            .unwrap(),
        Claim::Claimed
    );
    idem.release("acme", "k1").await.unwrap();
    idem.release("acme", "k1").await.unwrap(); // idempotent
    assert_eq!(
        idem.claim("acme", "k1", "h4", "exp-4", day).await.unwrap(),
        Claim::Claimed
    );
    assert!(matches!(
        idem.claim("globex", "k1", "h", "e", day).await.unwrap(),
        Claim::Existing { ref export_id, .. } if export_id == "exp-3"
    ));

    // An expired record can be claimed afresh, though DynamoDB's TTL has not removed it.
    let short = Duration::from_millis(300);
    assert_eq!(
        idem.claim("acme", "k2", "h1", "exp-1", short)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert!(matches!(
        idem.claim("acme", "k2", "h1", "exp-9", short)
            .await
            .unwrap(),
        Claim::Existing { .. }
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        idem.claim("acme", "k2", "h5", "exp-5", day).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        idem.claim("acme", "k2", "h6", "exp-6", day).await.unwrap(),
        Claim::Existing {
            request_hash: "h5".into(),
            export_id: "exp-5".into()
        }
    );
}

#[tokio::test]
async fn idempotency_concurrent_claims_have_one_winner() {
    let (_c, _t, idem) = idempotency_table().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let idem = idem.clone();
        tasks.spawn(async move {
            idem.claim(
                "acme",
                "k",
                &format!("h{i}"),
                &format!("exp-{i}"),
                Duration::from_secs(60),
            )
            .await
            .unwrap()
        });
    }
    let mut claimed = 0;
    let mut existing = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Claim::Claimed => claimed += 1,
            Claim::Existing { export_id, .. } => existing.push(export_id),
        }
    }
    assert_eq!(claimed, 1);
    // Every loser saw the one winner.
    existing.dedup();
    assert_eq!(existing.len(), 1, "{existing:?}");
}

// ---------------------------------------------------------------------------------------
// Scan catalogue.

fn summary(tenant: &str, id: &str, at: i64) -> ScanSummary {
    ScanSummary {
        scan_id: id.into(),
        tenant_id: tenant.into(),
        artifact_name: "alpine:3.19".into(),
        artifact_digest: Some("sha256:abc".into()),
        source_format: "trivy".into(),
        scanned_at: ts(at),
        findings: 3,
        components: 10,
    }
}

#[tokio::test]
async fn catalog_put_get_upsert_and_range() {
    let c = client().await;
    let table = create_table(&c, "ec-scans", &SCANS).await;
    let cat = DynamoScanCatalog::new(c.clone(), table.clone());
    cat.put(&summary("acme", "scan-c", 300)).await.unwrap();
    cat.put(&summary("acme", "scan-b", 200)).await.unwrap();
    cat.put(&summary("acme", "scan-a", 200)).await.unwrap();
    cat.put(&summary("acme", "scan-d", 400)).await.unwrap();
    cat.put(&summary("globex", "scan-x", 250)).await.unwrap();

    assert_eq!(
        cat.get("acme", "scan-c").await.unwrap(),
        Some(summary("acme", "scan-c", 300))
    );
    assert_eq!(cat.get("globex", "scan-c").await.unwrap(), None);

    let ids = |v: Vec<ScanSummary>| v.into_iter().map(|s| s.scan_id).collect::<Vec<_>>();
    // Inclusive on both ends, ordered by time then id.
    assert_eq!(
        ids(cat.in_range("acme", ts(200), ts(300), 10).await.unwrap()),
        ["scan-a", "scan-b", "scan-c"]
    );
    assert_eq!(
        ids(cat.in_range("acme", ts(0), ts(1000), 2).await.unwrap()),
        ["scan-a", "scan-b"]
    );
    assert!(
        cat.in_range("acme", ts(301), ts(399), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        cat.in_range("acme", ts(0), ts(1000), 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Reversed and sub-second bounds.
    assert!(
        cat.in_range("acme", ts(400), ts(200), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let half = time::Duration::milliseconds(500);
    assert_eq!(
        ids(cat
            .in_range("acme", ts(200) + half, ts(400) - half, 10)
            .await
            .unwrap()),
        ["scan-c"]
    );
    assert!(
        cat.in_range("acme", ts(300) + half, ts(300) + half, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(cat.in_range("globex", ts(0), ts(1000), 10).await.unwrap()),
        ["scan-x"]
    );

    // Upsert moves the scan in time.
    let mut moved = summary("acme", "scan-a", 500);
    moved.findings = 7;
    cat.put(&moved).await.unwrap();
    assert_eq!(cat.get("acme", "scan-a").await.unwrap(), Some(moved));
    assert_eq!(
        ids(cat.in_range("acme", ts(0), ts(1000), 10).await.unwrap()),
        ["scan-b", "scan-c", "scan-d", "scan-a"]
    );

    corrupt_doc(&c, &table, &[("tenant_id", "acme"), ("scan_id", "scan-d")]).await;
    assert!(matches!(
        cat.get("acme", "scan-d").await,
        Err(PortError::Invalid(_))
    ));
    assert!(matches!(
        cat.in_range("acme", ts(0), ts(1000), 10).await,
        Err(PortError::Invalid(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Connections.

#[tokio::test]
async fn connections_register_list_remove_and_expiry() {
    let c = client().await;
    let table = create_table(&c, "ec-conns", &CONNECTIONS).await;
    let reg = DynamoConnections::new(c.clone(), table.clone());
    let hour = Duration::from_secs(3600);
    reg.register("c2", "acme", hour).await.unwrap();
    reg.register("c1", "acme", hour).await.unwrap();
    reg.register("c3", "globex", hour).await.unwrap();
    reg.register("c9", "acme", Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(reg.list("acme").await.unwrap(), ["c1", "c2", "c9"]);
    assert_eq!(reg.list("globex").await.unwrap(), ["c3"]);
    let raw = raw_item(&c, &table, &[("connection_id", "c1")])
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ttl = number(&raw, "expires_at");
    assert!((now + 3590..=now + 3610).contains(&ttl), "{ttl}");

    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired, though DynamoDB's (lazy) TTL has not deleted it: hidden, then pruned.
    assert_eq!(reg.list("acme").await.unwrap(), ["c1", "c2"]);
    assert!(
        raw_item(&c, &table, &[("connection_id", "c9")])
            .await
            .is_none()
    );

    reg.remove("c1").await.unwrap();
    reg.remove("c1").await.unwrap();
    assert_eq!(reg.list("acme").await.unwrap(), ["c2"]);

    // Re-registering extends (and may move) a connection.
    reg.register("c3", "acme", hour).await.unwrap();
    assert_eq!(reg.list("acme").await.unwrap(), ["c2", "c3"]);
    assert!(reg.list("globex").await.unwrap().is_empty());

    // An expired registration renewed in time is kept.
    reg.register("c4", "acme", Duration::from_millis(200))
        .await
        .unwrap();
    reg.register("c4", "acme", hour).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reg.list("acme").await.unwrap(), ["c2", "c3", "c4"]);
}

// ---------------------------------------------------------------------------------------
// Schedules.

fn schedule(tenant: &str, id: &str, created: i64, next: Option<i64>) -> Schedule {
    Schedule::new(
        id.into(),
        tenant.into(),
        "0 6 * * 1".into(),
        "Europe/Berlin".into(),
        serde_json::json!({
            "type": "scan_report",
            "format": "json",
            "scope": {"scan_ids": ["scan-a"]},
        }),
        "alice".into(),
        ts(created),
        next.map(ts),
    )
}

#[tokio::test]
async fn schedules_crud_conditional_update_and_due() {
    let c = client().await;
    let table = create_table(&c, "ec-schedules", &SCHEDULES).await;
    let store = DynamoSchedules::new(c.clone(), table.clone());

    let s2 = schedule("acme", "sch-b", 100, Some(2_000));
    let s1 = schedule("acme", "sch-a", 200, Some(1_000));
    let s3 = schedule("acme", "sch-c", 100, None);
    let g = schedule("globex", "sch-g", 50, Some(1_500));
    for s in [&s2, &s1, &s3, &g] {
        store.create(s).await.unwrap();
    }
    assert!(matches!(
        store.create(&s1).await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(store.get("acme", "sch-a").await.unwrap(), Some(s1.clone()));
    assert_eq!(store.get("globex", "sch-a").await.unwrap(), None);

    // Oldest first, ties by id.
    let ids = |v: Vec<Schedule>| v.into_iter().map(|s| s.schedule_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list("acme").await.unwrap()),
        ["sch-b", "sch-c", "sch-a"]
    );
    assert_eq!(ids(store.list("globex").await.unwrap()), ["sch-g"]);
    assert!(store.list("initech").await.unwrap().is_empty());

    // Due: at or before now, most overdue first, across tenants; never the unscheduled.
    assert_eq!(
        ids(store.due(ts(2_000), 10).await.unwrap()),
        ["sch-a", "sch-g", "sch-b"]
    );
    assert_eq!(
        ids(store.due(ts(1_999), 10).await.unwrap()),
        ["sch-a", "sch-g"]
    );
    assert_eq!(ids(store.due(ts(1_600), 1).await.unwrap()), ["sch-a"]);
    assert!(store.due(ts(999), 10).await.unwrap().is_empty());
    assert!(store.due(ts(5_000), 0).await.unwrap().is_empty());

    // Conditional update: the stale writer loses; the next run moves.
    let mut ran = s1.clone();
    ran.last_run_at = Some(ts(1_000));
    ran.last_export_id = Some("exp-1".into());
    ran.last_error = Some(JobError::new(ec_domain::ErrorCode::Internal, "y"));
    ran.next_run_at = Some(ts(3_000));
    ran.version = 2;
    store.update(&ran, 1).await.unwrap();
    let mut stale = s1.clone();
    stale.version = 2;
    stale.cron = "0 7 * * 1".into();
    assert!(matches!(
        store.update(&stale, 1).await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(store.get("acme", "sch-a").await.unwrap(), Some(ran.clone()));
    assert!(matches!(
        store
            .update(&schedule("acme", "sch-ghost", 1, None), 1)
            .await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(store.get("acme", "sch-ghost").await.unwrap(), None);
    assert_eq!(
        ids(store.due(ts(2_000), 10).await.unwrap()),
        ["sch-g", "sch-b"]
    );
    // Clearing next_run_at takes a schedule out of `due`.
    let mut paused = ran.clone();
    paused.next_run_at = None;
    paused.version = 3;
    store.update(&paused, 2).await.unwrap();
    assert_eq!(
        ids(store.due(ts(10_000), 10).await.unwrap()),
        ["sch-g", "sch-b"]
    );

    store.delete("acme", "sch-b").await.unwrap();
    store.delete("acme", "sch-b").await.unwrap(); // idempotent
    assert_eq!(store.get("acme", "sch-b").await.unwrap(), None);
    assert_eq!(ids(store.list("acme").await.unwrap()), ["sch-c", "sch-a"]);
    assert_eq!(ids(store.due(ts(10_000), 10).await.unwrap()), ["sch-g"]);

    corrupt_doc(
        &c,
        &table,
        &[("tenant_id", "acme"), ("schedule_id", "sch-c")],
    )
    .await;
    assert!(matches!(
        store.get("acme", "sch-c").await,
        Err(PortError::Invalid(_))
    ));
    assert!(matches!(
        store.list("acme").await,
        Err(PortError::Invalid(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Error mapping.

#[tokio::test]
async fn a_missing_table_is_a_backend_error_and_no_server_is_unavailable() {
    let c = client().await;
    let jobs = DynamoJobTable::new(c, unique("ec-missing"));
    let err = jobs.get("acme", "exp-1").await.unwrap_err();
    assert!(matches!(err, PortError::Backend(_)), "{err:?}");

    // Nothing listens on port 9 of localhost: the connection is refused.
    let dead = client_for("http://127.0.0.1:9").await;
    let jobs = DynamoJobTable::new(dead, "whatever");
    let err = jobs.get("acme", "exp-1").await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
}
