use ec_embedded::{DataDir, DataDirError};

#[test]
fn a_second_open_is_refused_until_the_first_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("data");
    let first = DataDir::open(&path).unwrap();
    assert!(first.objects().is_dir());
    assert_eq!(first.db(), path.join("exportcenter.db"));
    let err = DataDir::open(&path).unwrap_err();
    match &err {
        DataDirError::Locked { holder, .. } => assert_eq!(*holder, Some(std::process::id())),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(err.to_string().contains("in use"), "{err}");
    drop(first);
    let again = DataDir::open(&path).unwrap();
    assert_eq!(again.path(), path);
}

#[test]
fn secrets_are_created_once_with_private_permissions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let s1 = dir.load_or_create_secret("jwt.secret").unwrap();
    assert_eq!(s1.len(), 32);
    let s2 = dir.load_or_create_secret("jwt.secret").unwrap();
    assert_eq!(s1, s2);
    let other = dir.load_or_create_secret("presign.secret").unwrap();
    assert_ne!(s1, other);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("jwt.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(tmp.path().join("jwt.secret")).unwrap();
    assert_eq!(hex::decode(text.trim()).unwrap(), s1);

    // A secret someone wrote by hand is used as is; a broken one is an error.
    std::fs::write(tmp.path().join("mine"), format!("{}\n", "ab".repeat(20))).unwrap();
    assert_eq!(dir.load_or_create_secret("mine").unwrap(), vec![0xab; 20]);
    std::fs::write(tmp.path().join("broken"), "not hex").unwrap();
    assert!(matches!(
        dir.load_or_create_secret("broken"),
        Err(DataDirError::BadSecret { .. })
    ));
    std::fs::write(tmp.path().join("tiny"), "abcd").unwrap();
    assert!(matches!(
        dir.load_or_create_secret("tiny"),
        Err(DataDirError::BadSecret { .. })
    ));
    for bad in ["", "../x", "a/b", ".hidden", "LOCK"] {
        assert!(matches!(
            dir.load_or_create_secret(bad),
            Err(DataDirError::BadSecretName(_))
        ));
    }
}
