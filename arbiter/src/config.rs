//! The arbiter's configuration: defaults < TOML file (`--config`) <
//! `BAPAY_ARBITER__...` environment variables < flags (`--listen`,
//! `--data-dir`, `--log-format`, `--chain-adapter`), layered by
//! [`bapay_daemon::load`].
//!
//! Implemented: every key below, incl. the FairPay deployment T judges on
//! (`[ethereum]`, reached through the chain-adapter; an empty `contract`
//! means T serves no Ethereum disputes) and `ethereum_margin_seconds`.
//! `response_window_ms` is only reported by GetInfo (no unresponsive
//! disputes yet).

use std::path::PathBuf;

use bapay_daemon::{CommonArgs, LogFormat};
use serde::Deserialize;

/// Environment variable prefix.
pub const ENV_PREFIX: &str = "BAPAY_ARBITER";

/// Command line of the `arbiter` binary.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(name = "arbiter", about = "BAPay arbiter daemon (T)")]
pub struct Cli {
    /// Flags every role daemon has (incl. `--chain-adapter URL`).
    #[command(flatten)]
    pub common: CommonArgs,
}

impl Cli {
    /// Loads the layered configuration this command line asks for.
    pub fn load(&self) -> bapay_daemon::Result<Config> {
        self.common.load(ENV_PREFIX)
    }
}

/// Everything the daemon reads at start.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listen address (port 0 allowed).
    pub listen: String,
    /// Key file (`arbiter.key`) and database (`arbiter.sqlite`).
    pub data_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// The chain-adapter's gRPC URL.
    pub chain_adapter_url: String,
    /// Sample size m of the jobs T arbitrates (T derives the sample itself).
    pub sample_size: u32,
    /// Largest fee T accepts in a Redeem_i, sat (also bounds the fee rate).
    pub max_redeem_fee_sat: u64,
    /// Bitcoin: T refuses new disputes once tip >= t - this.
    pub bitcoin_margin_blocks: u64,
    /// Confirmations the escrow transaction needs before T judges it.
    pub finality_depth: u64,
    /// Response window of an unresponsive calculator, ms (reported only).
    pub response_window_ms: u64,
    /// The FairPay deployment T judges on.
    pub ethereum: EthereumConfig,
    /// Ethereum: T refuses new disputes once block time >= t - this.
    pub ethereum_margin_seconds: u64,
}

/// The FairPay deployment T judges on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EthereumConfig {
    /// EIP-155 chain id (anvil: 31337).
    pub chain_id: u64,
    /// FairPay address, hex; empty: no Ethereum disputes
    /// (FAILED_PRECONDITION, chain not configured).
    pub contract: String,
}

impl Default for EthereumConfig {
    fn default() -> Self {
        EthereumConfig {
            chain_id: 31337,
            contract: String::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:50063".into(),
            data_dir: "data/arbiter".into(),
            log_format: LogFormat::Pretty,
            chain_adapter_url: "http://127.0.0.1:50051".into(),
            sample_size: 16,
            max_redeem_fee_sat: 10_000,
            bitcoin_margin_blocks: 2,
            finality_depth: 1,
            response_window_ms: 60_000,
            ethereum: EthereumConfig::default(),
            ethereum_margin_seconds: 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::try_parse_from(["arbiter", "--listen", "127.0.0.1:0"]).expect("parses");
        let cfg = cli.load().expect("loads");
        assert_eq!(cfg.listen, "127.0.0.1:0");
        assert_eq!(cfg.sample_size, Config::default().sample_size);
    }

    #[test]
    fn file_sets_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "sample_size = 7\n").expect("write");
        let cli = Cli::try_parse_from(["arbiter", "--config", path.to_str().expect("utf8")])
            .expect("parses");
        assert_eq!(cli.load().expect("loads").sample_size, 7);
    }
}
