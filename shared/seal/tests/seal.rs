use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use ec_domain::ports::Signer;
use ec_domain::snapshot::InputDigest;
use ec_seal::{
    BundleFile, Ed25519Signer, Envelope, Manifest, SealError, SealInput, Sealed, Statement,
    VerifyError, seal, verify, verify_with_key,
};
use time::macros::datetime;

fn file(path: &str, media_type: &str, body: &str) -> BundleFile {
    BundleFile {
        path: path.into(),
        media_type: media_type.into(),
        bytes: Bytes::from(body.to_string()),
    }
}

fn input() -> SealInput {
    SealInput {
        export_id: "exp-01jg0000000000000000000000".into(),
        tenant_id: "tenant-a".into(),
        created_at: datetime!(2024-12-29 10:30:00 UTC),
        inputs: vec![
            InputDigest {
                kind: "verdicts".into(),
                id: "scan-1".into(),
                sha256: "bb".repeat(32),
            },
            InputDigest {
                kind: "scan".into(),
                id: "scan-1".into(),
                sha256: "aa".repeat(32),
            },
        ],
        files: vec![
            file(
                "report.json",
                "application/json",
                "{\"findings\":[1,2,3]}\n",
            ),
            file(
                "evidence/snapshot.json",
                "application/json",
                "{\"schema\":\"exportcenter.snapshot/v1\"}\n",
            ),
            file(
                "evidence/sbom/sha256-abc.cdx.json",
                "application/vnd.cyclonedx+json",
                "{\"bomFormat\":\"CycloneDX\"}\n",
            ),
        ],
    }
}

async fn sealed(signer: &dyn Signer) -> Sealed {
    seal(input(), signer).await.expect("seal")
}

/// (path, bytes) of every entry, in archive order.
fn unpack(bundle: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bundle));
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.push((path, bytes));
    }
    out
}

fn repack(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// Repacks with `f` applied to the entry at `path`.
fn edit(bundle: &[u8], path: &str, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut entries = unpack(bundle);
    let entry = entries.iter_mut().find(|(p, _)| p == path).expect("entry");
    f(&mut entry.1);
    repack(&entries)
}

fn entry<'a>(entries: &'a [(String, Vec<u8>)], path: &str) -> &'a [u8] {
    &entries.iter().find(|(p, _)| p == path).expect("entry").1
}

/// A tar.gz with one raw entry whose header name is written byte for byte.
fn raw_tar(name: &[u8], kind: tar::EntryType, body: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.set_cksum();
    tar.append(&h, body).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

#[tokio::test]
async fn seal_then_verify() {
    let signer = Ed25519Signer::generate();
    let s = sealed(&signer).await;
    assert_eq!(s.sha256, ec_domain::ids::sha256_hex(&s.bytes));

    let v = verify(&s.bytes).expect("verify");
    assert_eq!(v.export_id, "exp-01jg0000000000000000000000");
    assert_eq!(v.tenant_id, "tenant-a");
    assert_eq!(v.created_at, "2024-12-29T10:30:00Z");
    assert_eq!(v.file_count, 5); // 3 caller files + public key + VERIFY.md
    assert_eq!(v.key_id, signer.key_id());
    assert_eq!(v.merkle_root, s.manifest.merkle_root);
    assert_eq!(v.manifest, s.manifest);
    verify_with_key(&s.bytes, &signer.public_key_pem()).expect("pinned verify");

    // Layout: manifest, sorted files, checksums for everything but itself.
    let m = &s.manifest;
    assert_eq!(m.schema, "exportcenter.manifest/v1");
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "VERIFY.md",
            "evidence/sbom/sha256-abc.cdx.json",
            "evidence/snapshot.json",
            "keys/signing.pub.pem",
            "report.json"
        ]
    );
    assert_eq!(m.inputs[0].kind, "scan", "inputs sorted");
    assert_eq!(m.signature.algorithm, "ed25519");
    assert_eq!(m.signature.public_key_path, "keys/signing.pub.pem");

    let entries = unpack(&s.bytes);
    let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "tar entries sorted by path");
    assert_eq!(names.len(), 8);
    let on_disk: Manifest = serde_json::from_slice(entry(&entries, "manifest.json")).unwrap();
    assert_eq!(&on_disk, m);
    let checksums = String::from_utf8(entry(&entries, "checksums.sha256").to_vec()).unwrap();
    assert_eq!(checksums.lines().count(), 7);
    assert!(checksums.contains(&format!("{}  report.json\n", m.files[4].sha256)));

    // Statement shape.
    let env: Envelope = serde_json::from_slice(entry(&entries, "manifest.dsse.json")).unwrap();
    assert_eq!(env.payload_type, "application/vnd.in-toto+json");
    assert_eq!(env.signatures[0].keyid, signer.key_id());
    let st: Statement = serde_json::from_slice(&B64.decode(&env.payload).unwrap()).unwrap();
    assert_eq!(st.type_, "https://in-toto.io/Statement/v1");
    assert_eq!(
        st.predicate_type,
        "https://exportcenter.dev/sealed-export/v1"
    );
    assert_eq!(st.subject.len(), 5);
    assert_eq!(st.subject[4].name, "report.json");
    assert_eq!(st.subject[4].digest["sha256"], m.files[4].sha256);
    assert_eq!(
        st.predicate.manifest_sha256,
        ec_domain::ids::sha256_hex(entry(&entries, "manifest.json"))
    );
    let doc = String::from_utf8(entry(&entries, "VERIFY.md").to_vec()).unwrap();
    assert!(doc.contains(&signer.key_id()) && doc.contains("exportctl verify bundle.tar.gz"));
}

#[tokio::test]
async fn headers_are_deterministic() {
    let signer = Ed25519Signer::generate();
    let s = sealed(&signer).await;
    let b = &s.bytes;
    assert_eq!(&b[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(b[3], 0, "no FNAME/FEXTRA/FCOMMENT flags");
    assert_eq!(&b[4..8], &[0, 0, 0, 0], "gzip mtime 0");
    assert_eq!(b[9], 255, "OS byte unknown");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&b[..]));
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert!(h.as_gnu().is_some());
        assert_eq!(h.mode().unwrap(), 0o644);
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
        assert_eq!(h.mtime().unwrap(), 1735468200);
        assert_eq!(h.username_bytes(), Some(&b""[..]));
        assert_eq!(h.groupname_bytes(), Some(&b""[..]));
    }
}

#[tokio::test]
async fn sealing_is_byte_for_byte_reproducible() {
    let signer = Ed25519Signer::generate();
    let a = sealed(&signer).await;
    let b = sealed(&signer).await;
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.sha256, b.sha256);

    // The same key reloaded from PEM, and the caller's file order, change nothing.
    let reloaded = Ed25519Signer::from_pkcs8_pem(&signer.to_pkcs8_pem().unwrap()).unwrap();
    let mut shuffled = input();
    shuffled.files.reverse();
    shuffled.inputs.reverse();
    let c = seal(shuffled, &reloaded).await.unwrap();
    assert_eq!(a.bytes, c.bytes);

    // Different inputs do change it.
    let mut later = input();
    later.created_at = datetime!(2024-12-29 10:30:01 UTC);
    assert_ne!(seal(later, &signer).await.unwrap().bytes, a.bytes);
}

#[tokio::test]
async fn empty_and_long_paths() {
    let signer = Ed25519Signer::generate();
    let mut empty = input();
    empty.files.clear();
    empty.inputs.clear();
    let s = seal(empty, &signer).await.unwrap();
    assert_eq!(verify(&s.bytes).unwrap().file_count, 2);

    let mut long = input();
    let path = format!("evidence/{}/report.json", "d".repeat(150));
    long.files.push(file(&path, "application/json", "{}"));
    let s = seal(long, &signer).await.unwrap();
    verify(&s.bytes).unwrap();
    assert!(unpack(&s.bytes).iter().any(|(p, _)| *p == path));
}

#[tokio::test]
async fn tampered_report_byte() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let bad = edit(&s.bytes, "report.json", |b| b[2] ^= 0x01);
    let err = verify(&bad).unwrap_err();
    assert!(
        matches!(&err, VerifyError::DigestMismatch { path, .. } if path == "report.json"),
        "{err}"
    );
    assert_eq!(err.code(), "SEAL_DIGEST_MISMATCH");
    assert_eq!(err.path(), Some("report.json"));
    assert!(err.to_string().contains("report.json"));

    let longer = edit(&s.bytes, "evidence/snapshot.json", |b| b.push(b' '));
    assert!(
        matches!(verify(&longer), Err(VerifyError::SizeMismatch { path, .. }) if path == "evidence/snapshot.json")
    );
}

#[tokio::test]
async fn extra_file() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let mut entries = unpack(&s.bytes);
    entries.push(("evidence/extra.json".into(), b"{}".to_vec()));
    let err = verify(&repack(&entries)).unwrap_err();
    assert!(
        matches!(&err, VerifyError::UnlistedFile { path } if path == "evidence/extra.json"),
        "{err}"
    );
    assert_eq!(err.code(), "SEAL_UNLISTED_FILE");
}

#[tokio::test]
async fn missing_file() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let mut entries = unpack(&s.bytes);
    entries.retain(|(p, _)| p != "evidence/snapshot.json");
    let err = verify(&repack(&entries)).unwrap_err();
    assert!(
        matches!(&err, VerifyError::MissingFile { path } if path == "evidence/snapshot.json"),
        "{err}"
    );

    let mut entries = unpack(&s.bytes);
    entries.retain(|(p, _)| p != "manifest.json");
    assert!(
        matches!(verify(&repack(&entries)), Err(VerifyError::MissingFile { path }) if path == "manifest.json")
    );
}

#[tokio::test]
async fn modified_manifest() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let bad = edit(&s.bytes, "manifest.json", |b| {
        let mut m: Manifest = serde_json::from_slice(b).unwrap();
        m.files[4].size += 1;
        *b = serde_json::to_vec_pretty(&m).unwrap();
    });
    let err = verify(&bad).unwrap_err();
    assert!(
        matches!(&err, VerifyError::ManifestMismatch { field, .. } if field == "manifest_sha256"),
        "{err}"
    );
    assert_eq!(err.code(), "SEAL_MANIFEST_MISMATCH");

    let renamed = edit(&s.bytes, "manifest.json", |b| {
        let mut m: Manifest = serde_json::from_slice(b).unwrap();
        m.tenant_id = "tenant-b".into();
        *b = serde_json::to_vec_pretty(&m).unwrap();
    });
    assert!(
        matches!(verify(&renamed), Err(VerifyError::ManifestMismatch { field, .. }) if field == "tenant_id")
    );

    let garbage = edit(&s.bytes, "manifest.json", |b| b.truncate(10));
    assert!(
        matches!(verify(&garbage), Err(VerifyError::Malformed { path, .. }) if path == "manifest.json")
    );
}

#[tokio::test]
async fn swapped_public_key() {
    let trusted = Ed25519Signer::generate();
    let attacker = Ed25519Signer::generate();
    // Re-sealed (re-signed) by another key: self-consistent, but not by the pinned key.
    let forged = sealed(&attacker).await;
    verify(&forged.bytes).expect("self-verify passes");
    let err = verify_with_key(&forged.bytes, &trusted.public_key_pem()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::UntrustedKey { expected, actual } if *expected == trusted.key_id() && *actual == attacker.key_id()),
        "{err}"
    );
    assert_eq!(err.code(), "SEAL_UNTRUSTED_KEY");

    // Only the key file swapped: the manifest names another key.
    let genuine = sealed(&trusted).await;
    let swapped = edit(&genuine.bytes, "keys/signing.pub.pem", |b| {
        *b = attacker.public_key_pem().into_bytes();
    });
    assert!(matches!(
        verify(&swapped),
        Err(VerifyError::KeyMismatch { .. })
    ));

    assert!(matches!(
        verify_with_key(&genuine.bytes, "not a key"),
        Err(VerifyError::BadTrustedKey { .. })
    ));
}

#[tokio::test]
async fn bad_signature() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let bad = edit(&s.bytes, "manifest.dsse.json", |b| {
        let mut env: Envelope = serde_json::from_slice(b).unwrap();
        let mut sig = B64.decode(&env.signatures[0].sig).unwrap();
        sig[0] ^= 0x80;
        env.signatures[0].sig = B64.encode(sig);
        *b = serde_json::to_vec_pretty(&env).unwrap();
    });
    let err = verify(&bad).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
    assert_eq!(err.code(), "SEAL_BAD_SIGNATURE");

    // A re-encoded payload (different statement) with the old signature.
    let bad_payload = edit(&s.bytes, "manifest.dsse.json", |b| {
        let mut env: Envelope = serde_json::from_slice(b).unwrap();
        let mut st: Statement = serde_json::from_slice(&B64.decode(&env.payload).unwrap()).unwrap();
        st.predicate.tenant_id = "tenant-b".into();
        env.payload = B64.encode(serde_json::to_vec(&st).unwrap());
        *b = serde_json::to_vec_pretty(&env).unwrap();
    });
    assert!(matches!(
        verify(&bad_payload),
        Err(VerifyError::BadSignature { .. })
    ));
}

#[tokio::test]
async fn tampered_checksums() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let bad = edit(&s.bytes, "checksums.sha256", |b| {
        let text = String::from_utf8(b.clone()).unwrap();
        *b = text
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes();
    });
    let err = verify(&bad).unwrap_err();
    assert!(
        matches!(&err, VerifyError::ChecksumsMismatch { path, .. } if path == "VERIFY.md"),
        "{err}"
    );
}

#[test]
fn unsafe_archive_entries() {
    for name in [&b"../evil"[..], b"/etc/passwd", b"a/../../evil", b"./x"] {
        let err = verify(&raw_tar(name, tar::EntryType::Regular, b"x")).unwrap_err();
        assert!(
            matches!(err, VerifyError::UnsafeEntry { .. }),
            "{name:?}: {err}"
        );
        assert_eq!(err.code(), "SEAL_UNSAFE_ENTRY");
    }
    let err = verify(&raw_tar(b"../evil", tar::EntryType::Regular, b"x")).unwrap_err();
    assert!(err.to_string().contains("../evil"));
    let link = verify(&raw_tar(b"report.json", tar::EntryType::Symlink, b"")).unwrap_err();
    assert!(matches!(link, VerifyError::UnsafeEntry { reason, .. } if reason.contains("symbolic")));
}

#[tokio::test]
async fn duplicate_entries() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let mut entries = unpack(&s.bytes);
    let report = entries
        .iter()
        .find(|(p, _)| p == "report.json")
        .unwrap()
        .clone();
    entries.push(report);
    let err = verify(&repack(&entries)).unwrap_err();
    assert!(
        matches!(&err, VerifyError::DuplicateEntry { path } if path == "report.json"),
        "{err}"
    );
}

#[test]
fn not_gzip() {
    assert_eq!(
        verify(b"PK\x03\x04 not a tarball").unwrap_err(),
        VerifyError::NotGzip
    );
    assert_eq!(verify(b"").unwrap_err(), VerifyError::NotGzip);
    assert_eq!(verify(b"").unwrap_err().code(), "SEAL_NOT_GZIP");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&[7u8; 2000]).unwrap();
    let not_tar = gz.finish().unwrap();
    assert!(matches!(
        verify(&not_tar),
        Err(VerifyError::CorruptArchive { .. })
    ));
    assert!(matches!(
        verify(&[0x1f, 0x8b, 8, 0, 1, 2]),
        Err(VerifyError::CorruptArchive { .. })
    ));
}

#[tokio::test]
async fn seal_rejects_unsafe_paths() {
    let signer = Ed25519Signer::generate();
    let with = |path: &str| {
        let mut i = input();
        i.files.push(file(path, "application/json", "{}"));
        i
    };
    for bad in ["/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b", ""] {
        let err = seal(with(bad), &signer).await.unwrap_err();
        assert!(
            matches!(err, SealError::UnsafePath { .. }),
            "{bad:?}: {err}"
        );
        assert_eq!(err.code(), "SEAL_UNSAFE_PATH");
    }
    for dup in ["report.json", "REPORT.json"] {
        assert!(
            matches!(
                seal(with(dup), &signer).await,
                Err(SealError::DuplicatePath { .. })
            ),
            "{dup}"
        );
    }
    for reserved in [
        "manifest.json",
        "checksums.sha256",
        "keys/signing.pub.pem",
        "VERIFY.md",
        "Manifest.JSON",
    ] {
        assert!(
            matches!(
                seal(with(reserved), &signer).await,
                Err(SealError::ReservedPath { .. })
            ),
            "{reserved}"
        );
    }
    assert!(matches!(
        seal(with("report.json/x"), &signer).await,
        Err(SealError::UnsafePath { .. })
    ));
    assert!(matches!(
        seal(with("keys"), &signer).await,
        Err(SealError::UnsafePath { .. })
    ));

    let mut bad_id = input();
    bad_id.tenant_id = "../t".into();
    assert!(matches!(
        seal(bad_id, &signer).await,
        Err(SealError::InvalidInput { .. })
    ));
}

fn extract(bundle: &[u8], dir: &Path) {
    for (path, bytes) in unpack(bundle) {
        let dest = dir.join(&path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

#[tokio::test]
async fn system_sha256sum_accepts_checksums() {
    let s = sealed(&Ed25519Signer::generate()).await;
    let dir = tempfile::tempdir().unwrap();
    extract(&s.bytes, dir.path());
    let out = Command::new("sha256sum")
        .args(["-c", "--strict", "checksums.sha256"])
        .current_dir(dir.path())
        .output()
        .expect("sha256sum runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 7);

    std::fs::write(dir.path().join("report.json"), "tampered").unwrap();
    let out = Command::new("sha256sum")
        .args(["-c", "checksums.sha256"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the script embedded in VERIFY.md, as a user would.
#[tokio::test]
async fn verify_md_script_works() {
    for (tool, arg) in [
        ("python3", "--version"),
        ("openssl", "version"),
        ("tar", "--version"),
    ] {
        assert!(
            have(tool, arg),
            "{tool} missing: VERIFY.md's script needs it"
        );
    }
    let ed25519 = Ed25519Signer::generate();
    let p256 = ec_seal::EcdsaP256Signer::generate().unwrap();
    for signer in [&ed25519 as &dyn Signer, &p256] {
        script_verifies(signer).await;
    }
}

/// VERIFY.md's script, taken from a bundle `signer` sealed, accepts it and refuses a
/// changed byte, an untrusted key id and a bad signature.
async fn script_verifies(signer: &dyn Signer) {
    let s = sealed(signer).await;
    let entries = unpack(&s.bytes);
    let doc = String::from_utf8(entry(&entries, "VERIFY.md").to_vec()).unwrap();
    let start = doc.find("```sh\n#!/bin/sh").expect("script block") + "```sh\n".len();
    let len = doc[start..].find("\n```").unwrap() + 1;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("verify-bundle.sh");
    std::fs::write(&script, &doc[start..start + len]).unwrap();
    let run = |bundle: &[u8], key: &str| {
        let p = dir.path().join("bundle.tar.gz");
        std::fs::write(&p, bundle).unwrap();
        let out = Command::new("sh")
            .arg(&script)
            .arg(&p)
            .arg(key)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, log) = run(&s.bytes, &signer.key_id());
    assert!(ok, "{log}");
    assert!(log.contains("OK: bundle verified"), "{log}");

    let (ok, log) = run(&s.bytes, &"0".repeat(64));
    assert!(!ok && log.contains("not by the trusted key"), "{log}");

    let (ok, _) = run(
        &edit(&s.bytes, "report.json", |b| b[0] ^= 1),
        &signer.key_id(),
    );
    assert!(!ok);

    // Signature check alone: consistent checksums, wrong signature.
    let bad_sig = edit(&s.bytes, "manifest.dsse.json", |b| {
        let mut env: Envelope = serde_json::from_slice(b).unwrap();
        let mut sig = B64.decode(&env.signatures[0].sig).unwrap();
        sig[5] ^= 1;
        env.signatures[0].sig = B64.encode(sig);
        *b = serde_json::to_vec_pretty(&env).unwrap();
    });
    let fixed = {
        let mut e = unpack(&bad_sig);
        let sum = ec_domain::ids::sha256_hex(entry(&e, "manifest.dsse.json"));
        let c = e.iter_mut().find(|(p, _)| p == "checksums.sha256").unwrap();
        let text: String = String::from_utf8(c.1.clone())
            .unwrap()
            .lines()
            .map(|l| {
                if l.ends_with("  manifest.dsse.json") {
                    format!("{sum}  manifest.dsse.json\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        c.1 = text.into_bytes();
        repack(&e)
    };
    let (ok, log) = run(&fixed, &signer.key_id());
    assert!(!ok && log.contains("bad signature"), "{log}");
    assert!(matches!(
        verify(&fixed),
        Err(VerifyError::BadSignature { .. })
    ));
}

#[test]
fn load_or_create_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/nested/signing.pem");
    let a = Ed25519Signer::load_or_create(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let b = Ed25519Signer::load_or_create(&path).unwrap();
    assert_eq!(a.key_id(), b.key_id());
    assert_eq!(
        a.key_id(),
        ec_seal::key_id_of_pem(&a.public_key_pem()).unwrap()
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    std::fs::write(&path, "garbage").unwrap();
    assert!(matches!(
        Ed25519Signer::load_or_create(&path),
        Err(SealError::Key(_))
    ));
    assert!(!format!("{a:?}").contains("PRIVATE"));
}

/// A signer whose key id does not follow the sha256-of-SPKI rule is refused.
#[tokio::test]
async fn seal_refuses_inconsistent_signer() {
    struct Liar(Ed25519Signer);
    #[async_trait::async_trait]
    impl Signer for Liar {
        fn key_id(&self) -> String {
            "my-key".into()
        }
        fn algorithm(&self) -> &'static str {
            "ed25519"
        }
        fn public_key_pem(&self) -> String {
            self.0.public_key_pem()
        }
        async fn sign(&self, m: &[u8]) -> ec_domain::ports::PortResult<Vec<u8>> {
            self.0.sign(m).await
        }
    }
    let err = seal(input(), &Liar(Ed25519Signer::generate()))
        .await
        .unwrap_err();
    assert!(matches!(err, SealError::Key(_)), "{err}");
}
