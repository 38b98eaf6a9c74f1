//! The `outsourcer` binary: parses flags, loads the layered configuration,
//! starts logging and runs [`bapay_outsourcer::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = bapay_outsourcer::Cli::parse();
    let config = cli.load()?;
    bapay_daemon::telemetry::init(config.common.log_format)?;
    bapay_outsourcer::run(config).await?;
    Ok(())
}
