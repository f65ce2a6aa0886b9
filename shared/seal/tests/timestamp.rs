//! RFC 3161 timestamps against a TSA made with OpenSSL (`tests/tsa/make-tsa.sh`: a CA and
//! a time-stamping certificate, ECDSA P-256 or RSA; answers made by `openssl ts -reply`
//! from our request): the answer is accepted for our digest and nonce, verifies over the
//! signature with the CA, and `openssl ts -verify` accepts it too; another signature,
//! another CA and another nonce are refused.

use std::path::Path;
use std::process::Command;

use ec_seal::timestamp;

fn tsa(dir: &Path, kind: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tsa/make-tsa.sh");
    let out = Command::new("sh")
        .arg(script)
        .arg(dir)
        .arg(kind)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The TSA's answer (`TimeStampResp` DER) to `request`.
fn reply(dir: &Path, request: &[u8]) -> Vec<u8> {
    std::fs::write(dir.join("q.tsq"), request).unwrap();
    let out = Command::new("openssl")
        .args(["ts", "-reply", "-config"])
        .arg(dir.join("tsa.cnf"))
        .arg("-queryfile")
        .arg(dir.join("q.tsq"))
        .arg("-inkey")
        .arg(dir.join("tsa.key"))
        .arg("-signer")
        .arg(dir.join("tsa.pem"))
        .arg("-out")
        .arg(dir.join("r.tsr"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("r.tsr")).unwrap()
}

#[test]
fn openssl_tsa_answers_are_checked_like_openssl_does() {
    let signature = b"a DSSE signature's bytes".to_vec();
    let digest = timestamp::imprint(&signature);
    let other_ca = tempfile::tempdir().unwrap();
    tsa(other_ca.path(), "ec");
    let other_ca_pem = std::fs::read_to_string(other_ca.path().join("ca.pem")).unwrap();
    for kind in ["ec", "rsa"] {
        let dir = tempfile::tempdir().unwrap();
        tsa(dir.path(), kind);
        let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
        let nonce = 0x1234_5678_9abc_def0u64;
        let answer = reply(dir.path(), &timestamp::request(&digest, nonce).unwrap());

        let accepted = timestamp::accept(&answer, &digest, nonce).unwrap();
        assert!(!accepted.trusted);
        assert!(
            accepted.tsa.contains("ExportCenter Test TSA"),
            "{accepted:?}"
        );
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((accepted.unix - now).abs() < 120, "{accepted:?}");
        assert!(
            timestamp::accept(&answer, &digest, nonce + 1).is_err(),
            "nonce"
        );

        let v = timestamp::verify(&answer, &signature, std::slice::from_ref(&ca)).unwrap();
        assert!(v.trusted, "{kind}");
        assert_eq!(v.time, accepted.time);
        let e = timestamp::verify(&answer, b"another signature", std::slice::from_ref(&ca))
            .unwrap_err();
        assert!(e.contains("not over this signature"), "{e}");
        let e = timestamp::verify(&answer, &signature, std::slice::from_ref(&other_ca_pem))
            .unwrap_err();
        assert!(e.contains("not issued by a trusted TSA CA"), "{e}");
        // Without a CA: the token verifies under its own certificate, untrusted.
        assert!(!timestamp::verify(&answer, &signature, &[]).unwrap().trusted);

        // OpenSSL agrees, independently.
        std::fs::write(dir.path().join("sig.bin"), &signature).unwrap();
        let ok = Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(dir.path().join("sig.bin"))
            .arg("-in")
            .arg(dir.path().join("r.tsr"))
            .arg("-CAfile")
            .arg(dir.path().join("ca.pem"))
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );

        // A tampered token is refused.
        let mut bad = answer.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert!(timestamp::verify(&bad, &signature, std::slice::from_ref(&ca)).is_err());
    }
}
