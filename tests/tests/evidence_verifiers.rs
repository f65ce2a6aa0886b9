//! Sealed bundles checked by tools ExportCenter did not write, for both kinds of key
//! (ed25519, the embedded stack's; ECDSA P-256 signed with KMS's DIGEST semantics, the AWS
//! stack's): securesystemslib verifies the DSSE envelope and the in-toto attestation
//! framework's validator the Statement (`tests/python/check_dsse.py`); OpenSSL reads the
//! public key and its DER digest is the manifest's key id. A changed signature and a key
//! that is not the bundle's are refused.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use ec_domain::ports::Signer;
use ec_seal::{BundleFile, EcdsaP256Signer, Ed25519Signer, SealInput, seal};

fn input() -> SealInput {
    SealInput {
        export_id: "exp-01jg0000000000000000000000".into(),
        tenant_id: "acme".into(),
        created_at: ec_domain::time::parse_rfc3339("2026-12-06T10:00:00Z").unwrap(),
        inputs: Vec::new(),
        files: vec![BundleFile {
            path: "report.json".into(),
            media_type: "application/json".into(),
            bytes: Bytes::from_static(b"{\"findings\":[]}\n"),
        }],
    }
}

fn extract(bundle: &[u8], dir: &Path) {
    let gz = flate2::read::GzDecoder::new(bundle);
    tar::Archive::new(gz).unpack(dir).unwrap();
}

/// `check_dsse.py DIR [KEY]`: (exit success, what it printed).
fn check(dir: &Path, trusted: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new(ec_tests::python());
    cmd.arg(ec_tests::repo_root().join("tests/python/check_dsse.py"))
        .arg(dir);
    if let Some(k) = trusted {
        cmd.arg(k);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn securesystemslib_and_openssl_verify_both_kinds_of_bundle() {
    let ed25519 = Ed25519Signer::generate();
    let p256 = EcdsaP256Signer::generate().unwrap();
    let other = EcdsaP256Signer::generate().unwrap();
    for (signer, scheme) in [
        (&ed25519 as &dyn Signer, "ed25519"),
        (&p256, "ecdsa-sha2-nistp256"),
    ] {
        let sealed = seal(input(), signer).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        extract(&sealed.bytes, dir.path());
        let (ok, said) = check(dir.path(), None);
        assert!(ok, "{said}");
        assert_eq!(said.trim(), format!("OK {scheme} {}", signer.key_id()));

        // OpenSSL reads the key; the sha256 of its DER is the key id.
        let der = Command::new("openssl")
            .args(["pkey", "-pubin", "-outform", "DER", "-in"])
            .arg(dir.path().join("keys/signing.pub.pem"))
            .output()
            .unwrap();
        assert!(
            der.status.success(),
            "{}",
            String::from_utf8_lossy(&der.stderr)
        );
        assert_eq!(ec_domain::ids::sha256_hex(&der.stdout), signer.key_id());

        // Another key pinned: refused.
        let pinned = dir.path().join("other.pem");
        std::fs::write(&pinned, other.public_key_pem()).unwrap();
        let (ok, said) = check(dir.path(), Some(&pinned));
        assert!(!ok && said.contains("FAIL"), "{said}");

        // A changed signature: refused.
        let path = dir.path().join("manifest.dsse.json");
        let mut envelope: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut sig = B64
            .decode(envelope["signatures"][0]["sig"].as_str().unwrap())
            .unwrap();
        let last = sig.len() - 1;
        sig[last] ^= 1;
        envelope["signatures"][0]["sig"] = B64.encode(sig).into();
        std::fs::write(&path, serde_json::to_vec(&envelope).unwrap()).unwrap();
        let (ok, said) = check(dir.path(), None);
        assert!(!ok && said.contains("VerificationError"), "{said}");
    }
}
