//! The arbiter's configuration: defaults < TOML file (`--config`) <
//! `BAPAY_ARBITER__...` environment variables < flags (`--listen`,
//! `--data-dir`, `--log-format`, `--chain-adapter`), layered by
//! [`bapay_daemon::load`]. The keys every role has ([`CommonConfig`]) and
//! the FairPay deployment ([`FairPayConfig`], `[ethereum]`; an empty
//! `contract` means T serves no Ethereum disputes) are flattened in.

use bapay_daemon::{CommonArgs, CommonConfig, FairPayConfig};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// listen, data_dir, log_format, chain_adapter_url, finality_depth
    /// (confirmations the escrow needs before T judges it), poll_interval_ms.
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Sample size m of the jobs T arbitrates (T derives the sample itself).
    pub sample_size: u32,
    /// Largest fee T accepts in a Redeem_i, sat (also bounds the fee rate).
    pub max_redeem_fee_sat: u64,
    /// Bitcoin: T refuses new disputes once tip >= t - this.
    pub bitcoin_margin_blocks: u64,
    /// Response window of an unresponsive calculator, ms.
    pub response_window_ms: u64,
    /// The FairPay deployment T judges on.
    pub ethereum: FairPayConfig,
    /// Ethereum: T refuses new disputes once block time >= t - this.
    pub ethereum_margin_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            common: CommonConfig::for_role("127.0.0.1:50063", "data/arbiter", 1000),
            sample_size: 16,
            max_redeem_fee_sat: 10_000,
            bitcoin_margin_blocks: 2,
            response_window_ms: 60_000,
            ethereum: FairPayConfig::default(),
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
        assert_eq!(cfg.common.listen, "127.0.0.1:0");
        assert_eq!(cfg.sample_size, Config::default().sample_size);
    }

    #[test]
    fn file_sets_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "sample_size = 7\nfinality_depth = 3\n").expect("write");
        let cli = Cli::try_parse_from(["arbiter", "--config", path.to_str().expect("utf8")])
            .expect("parses");
        let cfg = cli.load().expect("loads");
        assert_eq!((cfg.sample_size, cfg.common.finality_depth), (7, 3));
    }
}
