//! Delivery destinations in SQLite (the versioned-document table), and their secrets
//! sealed with AES-256-GCM under a key kept in the data directory (`destinations.key`,
//! 32 random bytes, mode 0600). Each sealed secret is bound to its tenant and destination
//! (the AEAD's associated data), so a row copied to another destination does not decrypt.

use async_trait::async_trait;
use ec_domain::destination::{Destination, Secret};
use ec_domain::ports::{DestinationSecrets, DestinationStore, PortResult};
use ec_domain::{DestinationId, PortError, TenantId};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};

use crate::clock::to_ms;
use crate::db::Db;
use crate::versioned::{Versioned, VersionedTable};

/// [`DestinationStore`] over the `destinations` table, keyed by (tenant, destination id).
#[derive(Debug, Clone)]
pub struct SqliteDestinations {
    docs: VersionedTable<Destination>,
}

impl SqliteDestinations {
    pub fn new(db: Db) -> Self {
        SqliteDestinations {
            docs: VersionedTable::new(db),
        }
    }
}

impl Versioned for Destination {
    const KIND: &'static str = "destination";
    const TABLE: &'static str = "destinations";
    const ID_COLUMN: &'static str = "destination_id";
    const COLUMNS: &'static [&'static str] = &["created_at"];

    fn key(&self) -> (&str, &str, u64) {
        (&self.tenant_id, &self.destination_id, self.version)
    }

    fn column_values(&self) -> Vec<Value> {
        vec![Value::Integer(to_ms(self.created_at))]
    }
}

#[async_trait]
impl DestinationStore for SqliteDestinations {
    async fn create(&self, destination: &Destination) -> PortResult<()> {
        self.docs.create(destination).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        destination_id: &DestinationId,
    ) -> PortResult<Option<Destination>> {
        self.docs.get(tenant, destination_id).await
    }

    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<Destination>> {
        self.docs
            .select(
                "WHERE tenant = ?1 ORDER BY created_at, destination_id".into(),
                vec![Value::Text(tenant.to_string())],
            )
            .await
    }

    async fn delete(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<()> {
        self.docs.delete(tenant, destination_id).await
    }
}

/// [`DestinationSecrets`] in the `destination_secrets` table, sealed with AES-256-GCM.
pub struct SqliteDestinationSecrets {
    db: Db,
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for SqliteDestinationSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteDestinationSecrets")
    }
}

impl SqliteDestinationSecrets {
    /// `key`: the 32-byte AES-256 key (the data directory's `destinations.key`).
    pub fn new(db: Db, key: &[u8]) -> Result<Self, PortError> {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| PortError::Invalid("the destinations key is not 32 bytes".into()))?;
        Ok(SqliteDestinationSecrets {
            db,
            key: LessSafeKey::new(key),
            random: SystemRandom::new(),
        })
    }

    fn aad(tenant: &TenantId, destination_id: &DestinationId) -> String {
        format!("exportcenter/destination-secret/{tenant}/{destination_id}")
    }

    fn seal(&self, aad: &str, secret: &Secret) -> PortResult<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| PortError::Backend("no randomness for a nonce".into()))?;
        let mut sealed = secret.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| PortError::Backend("sealing the secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        Ok(out)
    }

    fn open(&self, aad: &str, sealed: &[u8]) -> PortResult<Secret> {
        let bad = || PortError::Invalid("a stored destination secret does not decrypt".into());
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or_else(bad)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut body)
            .map_err(|_| bad())?;
        let text = std::str::from_utf8(plain).map_err(|_| bad())?;
        Ok(Secret::new(text))
    }
}

#[async_trait]
impl DestinationSecrets for SqliteDestinationSecrets {
    async fn put(
        &self,
        tenant: &TenantId,
        destination_id: &DestinationId,
        secret: &Secret,
    ) -> PortResult<()> {
        let sealed = self.seal(&Self::aad(tenant, destination_id), secret)?;
        let (tenant, id) = (tenant.to_string(), destination_id.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO destination_secrets (tenant, destination_id, sealed)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (tenant, destination_id) DO UPDATE SET sealed = ?3",
                    params![tenant, id, sealed],
                )?;
                Ok(())
            })
            .await
    }

    async fn get(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<Secret> {
        let aad = Self::aad(tenant, destination_id);
        let (t, id) = (tenant.to_string(), destination_id.to_string());
        let sealed: Option<Vec<u8>> = self
            .db
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT sealed FROM destination_secrets WHERE tenant = ?1 AND destination_id = ?2",
                    params![t, id],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?;
        match sealed {
            Some(sealed) => self.open(&aad, &sealed),
            None => Err(PortError::NotFound(format!(
                "no secret for destination {destination_id}"
            ))),
        }
    }

    async fn delete(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<()> {
        let (tenant, id) = (tenant.to_string(), destination_id.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM destination_secrets WHERE tenant = ?1 AND destination_id = ?2",
                    params![tenant, id],
                )?;
                Ok(())
            })
            .await
    }
}
