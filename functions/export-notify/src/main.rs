//! export-notify: the API Gateway WebSocket routes ($connect, $disconnect, $default).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::run::websocket().await
}
