//! The `calculator` binary: parses flags, loads the layered configuration,
//! starts logging and runs [`bapay_calculator::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = bapay_calculator::Cli::parse();
    let config = cli.load()?;
    bapay_daemon::telemetry::init(config.common.log_format)?;
    bapay_calculator::run(config).await?;
    Ok(())
}
