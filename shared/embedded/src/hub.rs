//! The push side of the embedded stack's notifier: live WebSocket connections of this
//! process by id, each a channel to its socket task (the local stand-in for API Gateway's
//! Management API). The `/ws` endpoint (`ec_serve`) registers and removes them.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use ec_domain::PortError;
use ec_domain::ports::{ConnectionPush, PortResult};

/// Live connections of this process, by connection id.
#[derive(Default)]
pub struct Hub {
    senders: Mutex<HashMap<String, mpsc::UnboundedSender<Bytes>>>,
}

impl Hub {
    pub fn insert(&self, id: &str, tx: mpsc::UnboundedSender<Bytes>) {
        if let Ok(mut m) = self.senders.lock() {
            m.insert(id.to_string(), tx);
        }
    }

    pub fn remove(&self, id: &str) {
        if let Ok(mut m) = self.senders.lock() {
            m.remove(id);
        }
    }
}

#[async_trait]
impl ConnectionPush for Hub {
    async fn post(&self, connection_id: &str, payload: Bytes) -> PortResult<()> {
        let tx = self
            .senders
            .lock()
            .map_err(|_| PortError::Backend("hub lock poisoned".into()))?
            .get(connection_id)
            .cloned();
        match tx {
            Some(tx) if tx.send(payload).is_ok() => Ok(()),
            _ => Err(PortError::Gone(connection_id.to_string())),
        }
    }
}
