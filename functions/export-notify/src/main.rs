//! export-notify: the API Gateway WebSocket routes ($connect, $disconnect, $default).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    ec_lambda::init_tracing();
    let routes = ec_lambda::aws::Aws::from_env().await?.ws_routes()?;
    let routes = &routes;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, lambda_runtime::Error>(routes.handle(&event.payload).await)
    }))
    .await
}
