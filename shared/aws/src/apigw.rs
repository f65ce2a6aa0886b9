//! [`ConnectionPush`] through the API Gateway Management API (`PostToConnection`).

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use bytes::Bytes;
use ec_domain::PortError;
use ec_domain::ports::{ConnectionPush, PortResult};

use crate::sdk_error::{ErrorClass, classify, port_error};

/// Pushes messages down WebSocket connections of one API stage. Build the client with
/// [`crate::config::apigw_management_client`] and the stage's management endpoint.
#[derive(Debug, Clone)]
pub struct ApiGatewayPush {
    client: Client,
}

impl ApiGatewayPush {
    pub fn new(client: Client) -> Self {
        ApiGatewayPush { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

#[async_trait]
impl ConnectionPush for ApiGatewayPush {
    /// `PortError::Gone` when the connection no longer exists (`GoneException`, 410).
    async fn post(&self, connection_id: &str, payload: Bytes) -> PortResult<()> {
        self.client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(payload.to_vec()))
            .send()
            .await
            .map_err(|e| {
                let gone = matches!(
                    e.as_service_error(),
                    Some(PostToConnectionError::GoneException(_))
                ) || classify(&e) == ErrorClass::Gone;
                if gone {
                    PortError::Gone(connection_id.to_string())
                } else {
                    port_error(&format!("cannot post to connection {connection_id}"), e)
                }
            })?;
        Ok(())
    }
}
