//! RFC 3161 trusted timestamps over a bundle's signature: the request the seal stage sends
//! to a TSA (the message imprint is the SHA-256 of the DSSE signature bytes, with a nonce
//! and `certReq`), the checks of the answer before it goes into the bundle as
//! `manifest.dsse.tsr`, and the offline check of that file: the imprint is the signature's,
//! the CMS signature over the signed attributes verifies with the TSA certificate the token
//! carries (ECDSA P-256 or RSA PKCS#1 v1.5, SHA-256), and — given the TSA's CA — that
//! certificate is issued by it, is for time stamping, and was valid at the stamped time.
//! `openssl ts -verify` checks the same file independently (VERIFY.md shows how).

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{GeneralizedTime, Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Decode, DecodePem, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// The imprint a bundle's timestamp covers: SHA-256 of the DSSE signature bytes.
pub fn imprint(signature: &[u8]) -> [u8; 32] {
    Sha256::digest(signature).into()
}

/// A `TimeStampReq` (DER) for `digest` (SHA-256) with `nonce`, asking for the TSA's
/// certificate in the answer.
pub fn request(digest: &[u8; 32], nonce: u64) -> Result<Vec<u8>, String> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifierOwned {
                oid: SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(digest.to_vec()).map_err(|e| e.to_string())?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce.to_be_bytes()).map_err(|e| e.to_string())?),
        cert_req: true,
        extensions: None,
    };
    req.to_der().map_err(|e| e.to_string())
}

/// A bundle's timestamp (`manifest.dsse.tsr`), as verification found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub stamped: Stamped,
    pub(crate) answer: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

impl Timestamp {
    /// The timestamp, its TSA certificate checked against `cas` (PEM): issued by one, for
    /// time stamping, valid at the stamped time.
    pub fn trusted_by(&self, cas: &[String]) -> Result<Stamped, crate::VerifyError> {
        verify(&self.answer, &self.signature, cas)
            .map_err(|reason| crate::VerifyError::BadTimestamp { reason })
    }
}

/// What a timestamp says, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// The stamped time (RFC 3339).
    pub time: String,
    pub unix: i64,
    /// The TSA certificate's subject.
    pub tsa: String,
    /// Whether the TSA certificate was checked against a trusted CA.
    pub trusted: bool,
}

fn tst_info(signed: &SignedData) -> Result<TstInfo, String> {
    if signed.encap_content_info.econtent_type != TST_INFO {
        return Err("the token's content is not a TSTInfo".into());
    }
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token has no TSTInfo")?;
    let octets: OctetString = content.decode_as().map_err(|e| e.to_string())?;
    TstInfo::from_der(octets.as_bytes()).map_err(|e| format!("the TSTInfo: {e}"))
}

fn signed_data(resp: &TimeStampResp) -> Result<SignedData, String> {
    let status = resp.status.status as u8;
    // granted (0) or grantedWithMods (1)
    if status > 1 {
        return Err(format!("the TSA refused: status {status}"));
    }
    let token: &ContentInfo = resp
        .time_stamp_token
        .as_ref()
        .ok_or("the answer carries no token")?;
    if token.content_type != SIGNED_DATA {
        return Err("the token is not CMS SignedData".into());
    }
    token
        .content
        .decode_as::<SignedData>()
        .map_err(|e| format!("the token's SignedData: {e}"))
}

/// Checks a TSA's answer (`TimeStampResp` DER) for `digest` and `nonce` before it is kept.
pub fn accept(answer: &[u8], digest: &[u8; 32], nonce: u64) -> Result<Stamped, String> {
    let resp = TimeStampResp::from_der(answer).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    let signed = signed_data(&resp)?;
    let tst = tst_info(&signed)?;
    let want = Int::new(&nonce.to_be_bytes()).map_err(|e| e.to_string())?;
    if tst.nonce.as_ref() != Some(&want) {
        return Err("the TSA's nonce is not ours".into());
    }
    check_token(&signed, &tst, digest, &[])
}

/// Checks a kept timestamp (`manifest.dsse.tsr`) against the bundle's `signature`; with
/// `cas` (the TSA's CA certificates, PEM) the TSA too.
pub fn verify(answer: &[u8], signature: &[u8], cas_pem: &[String]) -> Result<Stamped, String> {
    let resp = TimeStampResp::from_der(answer).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    let signed = signed_data(&resp)?;
    let tst = tst_info(&signed)?;
    let mut cas = Vec::new();
    for pem in cas_pem {
        cas.push(Certificate::from_pem(pem.as_bytes()).map_err(|e| format!("a TSA CA: {e}"))?);
    }
    check_token(&signed, &tst, &imprint(signature), &cas)
}

fn check_token(
    signed: &SignedData,
    tst: &TstInfo,
    digest: &[u8; 32],
    cas: &[Certificate],
) -> Result<Stamped, String> {
    let mi = &tst.message_imprint;
    if mi.hash_algorithm.oid != SHA256 || mi.hashed_message.as_bytes() != digest {
        return Err("the timestamp is not over this signature".into());
    }
    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err("the token has not exactly one signer".into());
    };
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the token's signer has no signed attributes")?;
    let econtent = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or("the token has no TSTInfo")?
        .decode_as::<OctetString>()
        .map_err(|e| e.to_string())?;
    let attr = |oid| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let md: OctetString = attr(MESSAGE_DIGEST)
        .ok_or("no messageDigest attribute")?
        .decode_as()
        .map_err(|e| e.to_string())?;
    if signer.digest_alg.oid != SHA256
        || md.as_bytes() != Sha256::digest(econtent.as_bytes()).as_slice()
    {
        return Err("the signed attributes do not match the TSTInfo".into());
    }
    let ct: ObjectIdentifier = attr(CONTENT_TYPE)
        .ok_or("no contentType attribute")?
        .decode_as()
        .map_err(|e| e.to_string())?;
    if ct != TST_INFO {
        return Err("the signed content type is not TSTInfo".into());
    }
    let cert = signer_cert(signed, &signer.sid)?;
    let message = attrs.to_der().map_err(|e| e.to_string())?;
    verify_with(
        &cert,
        &signer.signature_algorithm.oid,
        &message,
        signer.signature.as_bytes(),
    )?;
    let stamped_at = tst.gen_time;
    let unix = stamped_at.to_unix_duration().as_secs() as i64;
    let trusted = !cas.is_empty();
    if trusted {
        check_tsa_cert(&cert, cas, stamped_at)?;
    }
    let time = time::OffsetDateTime::from_unix_timestamp(unix)
        .map(ec_domain::time::rfc3339)
        .map_err(|e| e.to_string())?;
    Ok(Stamped {
        time,
        unix,
        tsa: cert.tbs_certificate.subject.to_string(),
        trusted,
    })
}

fn signer_cert(signed: &SignedData, sid: &SignerIdentifier) -> Result<Certificate, String> {
    let certs = signed
        .certificates
        .as_ref()
        .ok_or("the token carries no certificate (request it with certReq)")?;
    for choice in certs.0.iter() {
        let CertificateChoices::Certificate(c) = choice else {
            continue;
        };
        let tbs = &c.tbs_certificate;
        let matches = match sid {
            SignerIdentifier::IssuerAndSerialNumber(i) => {
                i.issuer == tbs.issuer && i.serial_number == tbs.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                tbs.extensions.iter().flatten().any(|e| {
                    e.extn_id.to_string() == "2.5.29.14"
                        && e.extn_value.as_bytes().ends_with(ski.0.as_bytes())
                })
            }
        };
        if matches {
            return Ok(c.clone());
        }
    }
    Err("the token does not carry its signer's certificate".into())
}

/// Verifies `signature` over `message` with `cert`'s key: ECDSA P-256 or RSA, SHA-256.
fn verify_with(
    cert: &Certificate,
    algorithm: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let der = spki.to_der().map_err(|e| e.to_string())?;
    let ok = match spki.algorithm.oid {
        EC_PUBLIC_KEY if [ECDSA_SHA256].contains(algorithm) => {
            use p256::ecdsa::signature::Verifier;
            use p256::pkcs8::DecodePublicKey;
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(&der)
                .map_err(|e| format!("the TSA key: {e}"))?;
            p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| key.verify(message, &s).is_ok())
        }
        RSA if [RSA, RSA_SHA256].contains(algorithm) => {
            use rsa::pkcs8::DecodePublicKey;
            use rsa::signature::Verifier;
            let key = rsa::RsaPublicKey::from_public_key_der(&der)
                .map_err(|e| format!("the TSA key: {e}"))?;
            let key = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key);
            rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|s| key.verify(message, &s).is_ok())
        }
        other => {
            return Err(format!(
                "unsupported TSA key or signature ({other}, {algorithm})"
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err("the timestamp's signature does not verify".into())
    }
}

/// The TSA certificate is one of `cas` or issued by one, is for time stamping, and was
/// valid at `at`.
fn check_tsa_cert(
    cert: &Certificate,
    cas: &[Certificate],
    at: GeneralizedTime,
) -> Result<(), String> {
    let issued = cas.iter().any(|ca| {
        ca == cert
            || (ca.tbs_certificate.subject == cert.tbs_certificate.issuer
                && cert.tbs_certificate.to_der().ok().is_some_and(|tbs| {
                    verify_with(
                        ca,
                        &cert.signature_algorithm.oid,
                        &tbs,
                        cert.signature.raw_bytes(),
                    )
                    .is_ok()
                }))
    });
    if !issued {
        return Err("the TSA certificate is not issued by a trusted TSA CA".into());
    }
    let eku = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == EXT_KEY_USAGE)
        .ok_or("the TSA certificate has no extended key usage")?;
    let usages = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|e| e.to_string())?;
    if !usages.0.contains(&TIME_STAMPING) {
        return Err("the TSA certificate is not for time stamping".into());
    }
    let v = &cert.tbs_certificate.validity;
    let at = at.to_unix_duration();
    if at < v.not_before.to_unix_duration() || at > v.not_after.to_unix_duration() {
        return Err("the TSA certificate was not valid at the stamped time".into());
    }
    Ok(())
}
