use ec_embedded::Db;

#[tokio::test]
async fn migrations_apply_once_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ec.db");
    let db = Db::open(&path).unwrap();
    assert_eq!(
        db.schema_version().await.unwrap(),
        Db::latest_schema_version()
    );
    assert_eq!(db.path(), Some(path.as_path()));
    let mode: String = db
        .call(|c| Ok(c.pragma_query_value(None, "journal_mode", |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    drop(db);
    let again = Db::open(&path).unwrap();
    assert_eq!(
        again.schema_version().await.unwrap(),
        Db::latest_schema_version()
    );
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ec.db");
    let db = Db::open(&path).unwrap();
    let future = i64::from(Db::latest_schema_version()) + 1;
    db.call(move |c| Ok(c.pragma_update(None, "user_version", future)?))
        .await
        .unwrap();
    drop(db);
    let err = Db::open(&path).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

#[tokio::test]
async fn a_panicking_closure_does_not_break_the_database() {
    let (_dir, db) = super::temp_db();
    let r = db
        .call(|_c| -> Result<(), ec_embedded::DbError> { panic!("boom") })
        .await;
    assert!(r.is_err());
    let v = db.schema_version().await.unwrap();
    assert_eq!(v, Db::latest_schema_version());
}
