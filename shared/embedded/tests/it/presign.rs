use ec_embedded::{PresignError, sign_presigned, verify_presigned};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

#[test]
fn verify_ok_expired_and_tampered() {
    let key = "reports/acme/exp-1/report.pdf";
    let sig = sign_presigned(SECRET, key, 1_000);
    assert_eq!(sig.len(), 64);
    assert_eq!(verify_presigned(SECRET, key, 1_000, &sig, 999), Ok(()));
    assert_eq!(verify_presigned(SECRET, key, 1_000, &sig, 1_000), Ok(()));
    assert_eq!(
        verify_presigned(SECRET, key, 1_000, &sig, 1_001),
        Err(PresignError::Expired)
    );
    let flipped = format!(
        "{}{}",
        &sig[..63],
        if sig.ends_with('0') { '1' } else { '0' }
    );
    // Another key, a moved expiry, another secret, a flipped or malformed signature.
    let bad = [
        verify_presigned(SECRET, "reports/acme/exp-2/report.pdf", 1_000, &sig, 0),
        verify_presigned(SECRET, key, 2_000, &sig, 0),
        verify_presigned(b"another secret, also 32 bytes!!", key, 1_000, &sig, 0),
        verify_presigned(SECRET, key, 1_000, &flipped, 0),
        verify_presigned(SECRET, key, 1_000, "zz", 0),
        verify_presigned(SECRET, key, 1_000, "", 0),
        verify_presigned(SECRET, key, 1_000, &sig[..32], 0),
    ];
    for r in bad {
        assert_eq!(r, Err(PresignError::BadSignature));
    }
    // A forged link that is also expired says "bad signature", not "expired".
    assert_eq!(
        verify_presigned(SECRET, key, 1_000, "00", 5_000),
        Err(PresignError::BadSignature)
    );
}
