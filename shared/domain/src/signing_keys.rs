//! The keys that seal bundles, as a deployment configures them: the key signing now, a key
//! taking over at an instant (a rotation announced ahead, so verifiers can fetch it before
//! it signs), and the retired keys — published with their validity so bundles they sealed
//! keep verifying for years. Which key seals an export is decided by the export's creation
//! time, the time its manifest records and verifiers check the key's validity at.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::ports::Signer;

/// A key that takes over from the current one at `from`.
#[derive(Clone)]
pub struct NextKey {
    pub from: OffsetDateTime,
    pub signer: Arc<dyn Signer>,
}

/// A key that no longer signs, as published: its JWK (`kid`, `kty`, `crv`, `x`, `y`?) and
/// the period it signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredKey {
    pub jwk: serde_json::Map<String, serde_json::Value>,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: OffsetDateTime,
}

/// Every sealing key of a deployment.
#[derive(Clone)]
pub struct SigningKeys {
    pub current: Arc<dyn Signer>,
    /// Since when `current` signs (`not_before` in the key set); `None`: for any time.
    pub current_since: Option<OffsetDateTime>,
    pub next: Option<NextKey>,
    pub retired: Vec<RetiredKey>,
    /// The current key was generated for this process (no key configured): it is not
    /// published — a key that dies with the process pins nothing.
    pub ephemeral: bool,
}

impl SigningKeys {
    /// One key, valid for any time, nothing retired.
    pub fn single(signer: Arc<dyn Signer>) -> SigningKeys {
        SigningKeys {
            current: signer,
            current_since: None,
            next: None,
            retired: Vec::new(),
            ephemeral: false,
        }
    }

    /// The key that seals an export created at `at`: the next key from its instant on.
    pub fn signer_at(&self, at: OffsetDateTime) -> &Arc<dyn Signer> {
        match &self.next {
            Some(next) if at >= next.from => &next.signer,
            _ => &self.current,
        }
    }

    /// Until when the current key signs: the next key's instant, if one is announced.
    pub fn current_until(&self) -> Option<OffsetDateTime> {
        self.next.as_ref().map(|n| n.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortResult;

    struct Named(&'static str);
    #[async_trait::async_trait]
    impl Signer for Named {
        fn key_id(&self) -> String {
            self.0.into()
        }
        fn algorithm(&self) -> &'static str {
            "ed25519"
        }
        fn public_key_pem(&self) -> String {
            String::new()
        }
        async fn sign(&self, _: &[u8]) -> PortResult<Vec<u8>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn the_next_key_signs_from_its_instant() {
        let t = crate::time::parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        let mut keys = SigningKeys::single(Arc::new(Named("old")));
        assert_eq!(keys.signer_at(t).key_id(), "old");
        assert_eq!(keys.current_until(), None);
        keys.next = Some(NextKey {
            from: t,
            signer: Arc::new(Named("new")),
        });
        assert_eq!(
            keys.signer_at(t - time::Duration::seconds(1)).key_id(),
            "old"
        );
        assert_eq!(keys.signer_at(t).key_id(), "new");
        assert_eq!(keys.current_until(), Some(t));
    }
}
