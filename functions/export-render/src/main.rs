//! export-render: the render stage, fed by SQS, answering with partial batch responses.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Custom templates render in a limited child of this binary (ec_adapters::sandbox).
    ec_adapters::sandbox::serve_if_requested();
    let renderer =
        ec_adapters::renderer::LocalRenderer::from_env(&ec_pipeline::settings::ProcessEnv)?;
    ec_lambda::run::stage(
        ec_domain::messages::QueueName::Render,
        Some(std::sync::Arc::new(renderer)),
    )
    .await
}
