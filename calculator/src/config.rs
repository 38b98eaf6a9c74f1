//! The calculator's configuration: defaults < TOML file (`--config`) <
//! `BAPAY_CALCULATOR__...` environment variables < flags (`--listen`,
//! `--data-dir`, `--log-format`, `--chain-adapter`), layered by
//! [`bapay_daemon::load`]. Implemented: every key below, incl. the FairPay
//! deployment and Ethereum limits (`[ethereum]`; an empty `contract` means
//! the calculator serves no Ethereum jobs). Not yet: allow-lists of
//! arbiters / co-calculators, a job capacity.

use std::path::PathBuf;

use bapay_daemon::{CommonArgs, LogFormat};
use serde::Deserialize;

/// Environment variable prefix.
pub const ENV_PREFIX: &str = "BAPAY_CALCULATOR";

/// Command line of the `calculator` binary.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(name = "calculator", about = "BAPay calculator daemon (C_i)")]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listen address (port 0 allowed).
    pub listen: String,
    /// Key file (`calculator.key`) and database (`calculator.sqlite`).
    pub data_dir: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// The chain-adapter's gRPC URL.
    pub chain_adapter_url: String,
    /// Offer limits (the "quote" of GetInfo).
    pub limits: Limits,
    /// Confirmations after which Pay_i counts as final.
    pub finality_depth: u64,
    /// How long an accepted offer stays open, ms.
    pub offer_ttl_ms: u64,
    /// Period of the background driver (escrow depth, claims), ms.
    pub poll_interval_ms: u64,
    /// Deliberate misbehaviour for tests and the demo (never in production).
    pub misbehave: crate::cheat::Misbehave,
    /// The FairPay deployment it accepts and its Ethereum offer limits.
    pub ethereum: EthereumConfig,
}

/// The FairPay deployment and the Ethereum offer limits. Wei amounts are
/// decimal strings (TOML integers stop at 2^63).
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EthereumConfig {
    /// EIP-155 chain id of the deployment (anvil: 31337).
    pub chain_id: u64,
    /// FairPay address, hex (`0x` optional); empty: Ethereum offers are
    /// declined UNSUPPORTED.
    pub contract: String,
    /// Smallest reward (fee d) accepted, wei.
    pub min_reward_wei: String,
    /// Largest bond (deposit g) posted, wei.
    pub max_bond_wei: String,
    /// Seconds needed between the latest block's time at the offer and the
    /// commit deadline.
    pub min_seconds_to_commit_deadline: u64,
}

impl Default for EthereumConfig {
    fn default() -> Self {
        EthereumConfig {
            chain_id: 31337,
            contract: String::new(),
            min_reward_wei: "1000000000000".into(),
            max_bond_wei: "1000000000000000000".into(),
            min_seconds_to_commit_deadline: 60,
        }
    }
}

/// Bitcoin offer limits.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Smallest d accepted, sat.
    pub min_fee_sat: u64,
    /// Largest g deposited, sat.
    pub max_deposit_sat: u64,
    /// Blocks needed between the tip at the offer and the result deadline.
    pub min_blocks_to_result_deadline: u64,
    /// Largest fee accepted in a presigned Charge_i / Charge'_i, sat.
    pub max_charge_fee_sat: u64,
    /// Largest fee accepted for the conversion Pay_i -> Pay'_i, sat.
    pub max_conversion_fee_sat: u64,
    /// Largest work per sub-task (search: leaves * rounds; linear: rows * cols).
    pub max_work: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:50062".into(),
            data_dir: "data/calculator".into(),
            log_format: LogFormat::Pretty,
            chain_adapter_url: "http://127.0.0.1:50051".into(),
            limits: Limits::default(),
            finality_depth: 1,
            offer_ttl_ms: 10 * 60 * 1000,
            poll_interval_ms: 1000,
            misbehave: crate::cheat::Misbehave::default(),
            ethereum: EthereumConfig::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min_fee_sat: 1_000,
            max_deposit_sat: 1_000_000,
            min_blocks_to_result_deadline: 6,
            max_charge_fee_sat: 10_000,
            max_conversion_fee_sat: 10_000,
            max_work: 1 << 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::try_parse_from([
            "calculator",
            "--listen",
            "127.0.0.1:0",
            "--chain-adapter",
            "http://adapter:1",
        ])
        .expect("parses");
        let cfg = cli.load().expect("loads");
        assert_eq!(cfg.listen, "127.0.0.1:0");
        assert_eq!(cfg.chain_adapter_url, "http://adapter:1");
        assert_eq!(cfg.limits, Limits::default());
    }

    #[test]
    fn file_sets_limits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[limits]\nmin_fee_sat = 7\n").expect("write");
        let cli = Cli::try_parse_from(["calculator", "--config", path.to_str().expect("utf8")])
            .expect("parses");
        let cfg = cli.load().expect("loads");
        assert_eq!(cfg.limits.min_fee_sat, 7);
        assert_eq!(
            cfg.limits.max_deposit_sat,
            Limits::default().max_deposit_sat
        );
    }
}
