//! `ApiGatewayPush` against a moto server (`EC_MOTO_ENDPOINT`). moto's management API
//! accepts any connection id, so only the success path can be exercised there; the error
//! mapping (410 GoneException → `Gone`, 429 → `Unavailable`) is checked against a stub
//! that answers every request with a fixed response.

mod common;

use std::time::Duration;

use bytes::Bytes;
use ec_aws::ApiGatewayPush;
use ec_aws::config::apigw_management_client;
use ec_domain::PortError;
use ec_domain::ports::ConnectionPush;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use common::{moto_config, moto_endpoint, test_config, unique};

#[tokio::test]
async fn post_to_connection() {
    let client = apigw_management_client(&moto_config().await, &moto_endpoint());
    let push = ApiGatewayPush::new(client);
    let conn = unique("conn");
    push.post(&conn, Bytes::from_static(br#"{"type":"export.status"}"#))
        .await
        .unwrap();
    push.post(&conn, Bytes::from_static(b"second"))
        .await
        .unwrap();
    // (moto's GetConnection answers `connectedAt` as an epoch number where the SDK expects
    // a timestamp string, so the connection cannot be read back through the SDK.)
    push.client()
        .delete_connection()
        .connection_id(&conn)
        .send()
        .await
        .unwrap();
}

/// An HTTP server answering every request with `status`, `error_type` and a JSON body.
async fn stub(status: u16, error_type: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                // Read the head and the body (Content-Length) before answering.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let body = format!(r#"{{"message":"{error_type}"}}"#);
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                     x-amzn-errortype: {error_type}\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn gone_and_throttled_are_mapped() {
    let gone = stub(410, "GoneException").await;
    let push = ApiGatewayPush::new(apigw_management_client(&test_config(&gone).await, &gone));
    match push.post("abc=", Bytes::from_static(b"x")).await {
        Err(PortError::Gone(id)) => assert_eq!(id, "abc="),
        other => panic!("expected Gone, got {other:?}"),
    }

    let busy = stub(429, "LimitExceededException").await;
    let push = ApiGatewayPush::new(apigw_management_client(&test_config(&busy).await, &busy));
    let res = tokio::time::timeout(
        Duration::from_secs(30),
        push.post("abc=", Bytes::from_static(b"x")),
    )
    .await
    .expect("post gave up in time");
    assert!(matches!(res, Err(PortError::Unavailable(_))), "{res:?}");

    let bad = stub(403, "ForbiddenException").await;
    let push = ApiGatewayPush::new(apigw_management_client(&test_config(&bad).await, &bad));
    let res = push.post("abc=", Bytes::from_static(b"x")).await;
    assert!(matches!(res, Err(PortError::Backend(_))), "{res:?}");
}
