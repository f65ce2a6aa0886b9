//! Bundles sealed with ECDSA P-256 (the AWS KMS key's kind, signed with KMS's `DIGEST`
//! semantics by `EcdsaP256Signer`): they verify with the key they carry and with the key
//! pinned, name `ecdsa-p256-sha256` in the manifest, and fail on a changed signature, a
//! pinned ed25519 key, or a manifest that names the other algorithm.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use ec_domain::ports::Signer;
use ec_seal::{
    BundleFile, EcdsaP256Signer, Ed25519Signer, SealInput, VerifyError, seal, verify,
    verify_with_key,
};

fn input() -> SealInput {
    SealInput {
        export_id: "exp-01jg0000000000000000000000".into(),
        tenant_id: "tenant-a".into(),
        created_at: ec_domain::time::parse_rfc3339("2024-12-29T10:30:00Z").unwrap(),
        inputs: Vec::new(),
        files: vec![BundleFile {
            path: "report.json".into(),
            media_type: "application/json".into(),
            bytes: Bytes::from_static(b"{\"findings\":[]}\n"),
        }],
    }
}

#[tokio::test]
async fn ecdsa_bundles_verify() {
    let signer = EcdsaP256Signer::generate().unwrap();
    let s = seal(input(), &signer).await.unwrap();
    assert_eq!(s.manifest.signature.algorithm, "ecdsa-p256-sha256");
    let v = verify(&s.bytes).unwrap();
    assert_eq!(v.key_id, signer.key_id());
    verify_with_key(&s.bytes, &signer.public_key_pem()).unwrap();
    let ed = Ed25519Signer::generate();
    assert!(matches!(
        verify_with_key(&s.bytes, &ed.public_key_pem()),
        Err(VerifyError::UntrustedKey { .. })
    ));

    // The same key from its PKCS#8 PEM signs bundles that verify under the same id.
    let again = EcdsaP256Signer::from_pkcs8_pem(&signer.to_pkcs8_pem().unwrap()).unwrap();
    assert_eq!(again.key_id(), signer.key_id());
    let s2 = seal(input(), &again).await.unwrap();
    verify_with_key(&s2.bytes, &signer.public_key_pem()).unwrap();

    // The signature is DER over SHA-256 of the PAE: checked as the envelope says.
    let envelope: ec_seal::Envelope =
        serde_json::from_slice(&unpack(&s.bytes, "manifest.dsse.json")).unwrap();
    let sig = B64.decode(&envelope.signatures[0].sig).unwrap();
    assert_eq!(sig[0], 0x30, "a DER SEQUENCE");
    let key = ec_seal::PublicKey::from_pem(&signer.public_key_pem()).unwrap();
    let payload = B64.decode(&envelope.payload).unwrap();
    assert!(key.verify(&ec_seal::pae(&envelope.payload_type, &payload), &sig));
}

#[tokio::test]
async fn an_ed25519_claim_on_a_p256_key_is_refused() {
    struct Liar(EcdsaP256Signer);
    #[async_trait::async_trait]
    impl Signer for Liar {
        fn key_id(&self) -> String {
            self.0.key_id()
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
    let err = seal(input(), &Liar(EcdsaP256Signer::generate().unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, ec_seal::SealError::Key(_)), "{err}");
}

fn unpack(bundle: &[u8], path: &str) -> Vec<u8> {
    use std::io::Read;
    let gz = flate2::read::GzDecoder::new(bundle);
    let mut tar = tar::Archive::new(gz);
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == path {
            let mut out = Vec::new();
            e.read_to_end(&mut out).unwrap();
            return out;
        }
    }
    panic!("{path} missing");
}
