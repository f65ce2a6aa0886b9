//! The KMS signer against moto over HTTP (`EC_MOTO_ENDPOINT`): the key's lifecycle (created
//! `ECC_NIST_P256`/`SIGN_VERIFY`, read, scheduled for deletion), its public key
//! and id, and the `Sign` request it sends — read back from moto's request recorder:
//! `MessageType: DIGEST`, `ECDSA_SHA_256`, the message being the 32-byte SHA-256 of what is
//! signed. **Emulator caveat, measured here**: moto 5 ignores `MessageType` and signs every
//! message as RAW, hashing our digest again, so its signature verifies over the digest,
//! not over the message; what real KMS returns for DIGEST is checked with
//! `EcdsaP256Signer`, which follows KMS's documented DIGEST semantics (ec-seal's tests and
//! the securesystemslib check). Also: which key the AWS start-up picks.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ec_aws::KmsSigner;
use ec_aws::signing::SigningKey;
use ec_domain::PortError;
use ec_domain::ports::Signer;
use ec_seal::PublicKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

async fn create_key(kms: &aws_sdk_kms::Client, spec: aws_sdk_kms::types::KeySpec) -> String {
    let usage = if spec == aws_sdk_kms::types::KeySpec::SymmetricDefault {
        aws_sdk_kms::types::KeyUsageType::EncryptDecrypt
    } else {
        aws_sdk_kms::types::KeyUsageType::SignVerify
    };
    kms.create_key()
        .key_spec(spec)
        .key_usage(usage)
        .description("ec-aws kms test")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

/// The JSON bodies of the KMS requests moto recorded since recording started.
async fn recorded_kms(http: &reqwest::Client, target: &str) -> Vec<Value> {
    let url = format!(
        "{}/moto-api/recorder/download-recording",
        common::moto_endpoint()
    );
    let text = http.get(url).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| {
            e["headers"]["X-Amz-Target"] == target || e["headers"]["x-amz-target"] == target
        })
        .filter_map(|e| {
            let raw = e["body"].as_str().unwrap_or_default();
            let bytes = if e["body_encoded"] == true {
                B64.decode(raw).unwrap_or_default()
            } else {
                raw.as_bytes().to_vec()
            };
            serde_json::from_slice(&bytes).ok()
        })
        .collect()
}

#[tokio::test]
async fn kms_signer_reads_its_key_and_signs_digests() {
    let sdk = common::moto_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = create_key(&kms, aws_sdk_kms::types::KeySpec::EccNistP256).await;

    let signer = KmsSigner::connect(kms.clone(), &key).await.unwrap();
    let der = kms
        .get_public_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap();
    let public = PublicKey::from_spki_der(der.as_ref()).unwrap();
    assert!(matches!(public, PublicKey::P256(_)));
    assert_eq!(signer.key_id(), public.key_id().unwrap());
    assert_eq!(signer.algorithm(), "ecdsa-p256-sha256");
    assert_eq!(
        PublicKey::from_pem(&signer.public_key_pem()).unwrap(),
        public
    );
    assert!(!format!("{signer:?}").contains("BEGIN"));

    // The Sign request: a DIGEST of the message, ECDSA_SHA_256, this key.
    let http = reqwest::Client::new();
    let moto = common::moto_endpoint();
    http.post(format!("{moto}/moto-api/recorder/start-recording"))
        .send()
        .await
        .unwrap();
    // Larger than KMS's 4,096-byte RAW limit, as a DSSE PAE is.
    let message = vec![b'x'; 10_000];
    let signature = signer.sign(&message).await.unwrap();
    let sent = recorded_kms(&http, "TrentService.Sign").await;
    http.post(format!("{moto}/moto-api/recorder/stop-recording"))
        .send()
        .await
        .unwrap();
    let digest = Sha256::digest(&message);
    let ours: Vec<&Value> = sent.iter().filter(|b| b["KeyId"] == key.as_str()).collect();
    assert_eq!(ours.len(), 1, "{sent:?}");
    assert_eq!(ours[0]["MessageType"], "DIGEST");
    assert_eq!(ours[0]["SigningAlgorithm"], "ECDSA_SHA_256");
    assert_eq!(ours[0]["Message"], B64.encode(digest));

    // The signature is DER, kept as KMS gave it. moto signed our digest as a RAW message
    // (hashing it again): it verifies over the digest. Real KMS signs the digest itself,
    // which verifies over the message — EcdsaP256Signer's bytes, checked elsewhere.
    assert_eq!(signature[0], 0x30, "DER");
    assert!(public.verify(&digest, &signature), "moto's RAW semantics");

    // Lifecycle: the key goes, after its waiting period (moto also signs with a disabled
    // key, so that refusal cannot be shown here).
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let state = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_state;
    assert_eq!(state, Some(aws_sdk_kms::types::KeyState::PendingDeletion));

    // Keys that cannot sign ECDSA_SHA_256 are refused at start-up.
    for spec in [
        aws_sdk_kms::types::KeySpec::Rsa2048,
        aws_sdk_kms::types::KeySpec::SymmetricDefault,
    ] {
        let other = create_key(&kms, spec).await;
        let err = KmsSigner::connect(kms.clone(), &other).await.unwrap_err();
        assert!(!matches!(err, PortError::Unavailable(_)), "{err}");
    }
}

#[tokio::test]
async fn the_start_up_picks_the_sealing_key() {
    let sdk = common::moto_config().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = create_key(&kms, aws_sdk_kms::types::KeySpec::EccNistP256).await;
    let with_kms = [("EXPORTCENTER_SIGNING_KMS_KEY_ID", key.as_str())];
    let k = SigningKey::load(&with_kms, || kms.clone()).await.unwrap();
    assert_eq!(
        k.for_sealing().unwrap().current.algorithm(),
        "ecdsa-p256-sha256"
    );
    assert!(
        SigningKey::local(&with_kms).is_err(),
        "KMS needs the async start-up"
    );
    // The API publishes the KMS key it reads (never a key of its own).
    let set = ec_seal::KeySet::published(&k.keys).unwrap();
    assert_eq!(set.keys.len(), 1);
    assert_eq!(set.keys[0].kid, k.keys.current.key_id());

    let pem = ec_seal::EcdsaP256Signer::generate()
        .unwrap()
        .to_pkcs8_pem()
        .unwrap();
    let with_pem = [("EXPORTCENTER_SIGNING_KEY_PEM", pem.as_str())];
    let k = SigningKey::load(&with_pem, || kms.clone()).await.unwrap();
    assert_eq!(
        k.for_sealing().unwrap().current.algorithm(),
        "ecdsa-p256-sha256"
    );
    let bad = [(
        "EXPORTCENTER_SIGNING_KEY_PEM",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    )];
    assert!(SigningKey::local(&bad).is_err());

    // Nothing configured: the seal function refuses, unless the dev flag allows a key per
    // instance.
    let none: [(&str, &str); 0] = [];
    let k = SigningKey::load(&none, || kms.clone()).await.unwrap();
    let err = k.for_sealing().err().expect("refused without a key");
    assert!(
        err.to_string().contains("EXPORTCENTER_SIGNING_KMS_KEY_ID"),
        "{err}"
    );
    let dev = [("EXPORTCENTER_ALLOW_EPHEMERAL_KEY", "true")];
    let k = SigningKey::local(&dev).unwrap();
    assert_eq!(k.for_sealing().unwrap().current.algorithm(), "ed25519");
    // A key made by this process is never published.
    assert!(ec_seal::KeySet::published(&k.keys).is_err());
}
