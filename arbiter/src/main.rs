//! The `arbiter` binary: parses flags, loads the layered configuration,
//! starts logging and runs [`bapay_arbiter::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = bapay_arbiter::Cli::parse();
    let config = cli.load()?;
    bapay_daemon::telemetry::init(config.common.log_format)?;
    bapay_arbiter::run(config).await?;
    Ok(())
}
