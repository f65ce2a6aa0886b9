//! `exportctl verify BUNDLE [--key PEM] [--trusted-keys FILE]... [--tsa-ca PEM]... [--json]`:
//! checks a sealed bundle offline. With trusted keys (the service's JWKS, or PEM public
//! keys) the bundle's key must be among them and valid at the sealing time (the timestamp's
//! time when the bundle has one, else the manifest's `created_at`); without, the bundle is
//! checked against the key it carries and the answer says "self-asserted": integrity, not
//! who sealed it. A timestamp is always checked to cover the signature; with `--tsa-ca` its
//! TSA is checked too. Exits 1 with the reason on any failure.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ec_seal::{KeySet, VerifyError};
use serde_json::json;

/// How far a verification went.
enum Trust {
    SelfAsserted,
    Pinned,
    Trusted(Box<ec_seal::PublishedKey>),
}

fn trusted_set(files: &[PathBuf]) -> anyhow::Result<KeySet> {
    let mut set = KeySet::default();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let more = KeySet::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        set.keys.extend(more.keys);
    }
    Ok(set)
}

pub fn run(
    bundle: &Path,
    key: Option<&Path>,
    trusted_keys: &[PathBuf],
    tsa_ca: &[PathBuf],
    json: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let mut cas = Vec::new();
    for f in tsa_ca {
        cas.push(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?);
    }
    let result: Result<(ec_seal::Verified, Trust), VerifyError> = if !trusted_keys.is_empty() {
        let set = trusted_set(trusted_keys)?;
        ec_seal::verify_trusted(&bytes, &set, &cas)
            .map(|t| (t.verified, Trust::Trusted(Box::new(t.key))))
    } else if let Some(k) = key {
        let pem = std::fs::read_to_string(k).with_context(|| format!("reading {}", k.display()))?;
        ec_seal::verify_with_key(&bytes, &pem).map(|v| (v, Trust::Pinned))
    } else {
        ec_seal::verify(&bytes).map(|v| (v, Trust::SelfAsserted))
    };
    // The timestamp's TSA, when asked to (verify_trusted did it already).
    let result = result.and_then(|(v, trust)| {
        let stamped = match (&v.timestamp, cas.is_empty()) {
            (Some(t), false) => Some(t.trusted_by(&cas)?),
            (Some(t), true) => Some(t.stamped.clone()),
            (None, false) => {
                return Err(VerifyError::BadTimestamp {
                    reason: "--tsa-ca given but the bundle has no timestamp".into(),
                });
            }
            (None, true) => None,
        };
        Ok((v, trust, stamped))
    });
    let (v, trust, stamped) = match result {
        Ok(ok) => ok,
        Err(e) => {
            if json {
                println!(
                    "{}",
                    json!({"ok": false, "code": e.code(), "reason": e.to_string()})
                );
            } else {
                eprintln!("FAILED ({}): {e}", e.code());
            }
            std::process::exit(1);
        }
    };
    let time = |t: Option<time::OffsetDateTime>| t.map(ec_domain::time::rfc3339);
    // The timestamp's time when there is one, else the manifest's.
    let sealed_at = stamped
        .as_ref()
        .map(|s| s.time.clone())
        .unwrap_or_else(|| v.created_at.clone());
    let (trust_word, said) = match &trust {
        Trust::SelfAsserted => (
            "self-asserted",
            "self-asserted: checked against the key the bundle carries; give --trusted-keys to pin it to the service".to_string(),
        ),
        Trust::Pinned => ("pinned", "the key given with --key".to_string()),
        Trust::Trusted(k) => (
            "trusted",
            format!(
                "trusted: in the key set, valid from {} until {} and sealed at {}",
                time(k.not_before).unwrap_or_else(|| "any time".into()),
                time(k.not_after).unwrap_or_else(|| "now".into()),
                sealed_at
            ),
        ),
    };
    if json {
        let mut out = json!({"ok": true, "export_id": v.export_id, "tenant_id": v.tenant_id,
            "files": v.file_count, "merkle_root": v.merkle_root, "key_id": v.key_id,
            "algorithm": v.manifest.signature.algorithm, "sealed_at": sealed_at,
            "trust": trust_word});
        if let Trust::Trusted(k) = &trust {
            out["key_not_before"] = json!(time(k.not_before));
            out["key_not_after"] = json!(time(k.not_after));
        }
        if let Some(s) = &stamped {
            out["timestamp"] = json!({"time": s.time, "tsa": s.tsa, "tsa_trusted": s.trusted});
        }
        println!("{out}");
    } else {
        if let Some(s) = &stamped {
            println!(
                "timestamp: {} by {} ({})",
                s.time,
                s.tsa,
                if s.trusted {
                    "TSA checked against --tsa-ca"
                } else {
                    "TSA not checked: give --tsa-ca"
                }
            );
        }
        println!(
            "OK: export {} of tenant {}: {} files, merkle root {}, signed by {} key {} ({said})",
            v.export_id,
            v.tenant_id,
            v.file_count,
            v.merkle_root,
            v.manifest.signature.algorithm,
            v.key_id
        );
    }
    Ok(())
}
