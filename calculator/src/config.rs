//! The calculator's configuration: defaults < TOML file (`--config`) <
//! `BAPAY_CALCULATOR__...` environment variables < flags (`--listen`,
//! `--data-dir`, `--log-format`, `--chain-adapter`), layered by
//! [`bapay_daemon::load`]: the keys every role has ([`CommonConfig`]), the
//! offer limits, and the FairPay deployment with the Ethereum limits
//! (`[ethereum]`; an empty `contract` means the calculator serves no
//! Ethereum jobs).

use bapay_daemon::{CommonArgs, CommonConfig, FairPayConfig};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// listen, data_dir, log_format, chain_adapter_url, finality_depth
    /// (confirmations after which Pay_i counts as final), poll_interval_ms.
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Offer limits (the "quote" of GetInfo).
    pub limits: Limits,
    /// The arbiters this calculator accepts in an offer: 32-byte x-only
    /// keys (64 hex) for Bitcoin, 20-byte addresses (0x + 40 hex) for
    /// Ethereum. Any other arbiter is declined UNTRUSTED_PARTY (an O naming
    /// a key of its own as T could redeem every escrow). Empty: no offer is
    /// accepted. A list, or one comma-separated string.
    #[serde(with = "bapay_daemon::config::string_list")]
    pub trusted_arbiters: Vec<String>,
    /// Accept the paper's variant where the trap also reaches the deposit
    /// (`trap_deposit` terms), and only if every other calculator of the
    /// job is in `trusted_calculators` (O with one sybil calculator knows
    /// every message and could spring the trap on the deposits).
    pub accept_trap_on_deposit: bool,
    /// Accept l-of-n jobs (Bitcoin terms with a threshold trap leaf): any l
    /// colluding co-calculators of such a job learn x and can sweep this
    /// calculator's fee d with it (its deposit stays out of every trap's
    /// reach). Off: declined UNTRUSTED_PARTY.
    pub accept_threshold_jobs: bool,
    /// Co-calculators trusted for `trap_deposit` jobs (x-only keys, hex).
    #[serde(with = "bapay_daemon::config::string_list")]
    pub trusted_calculators: Vec<String>,
    /// How long an accepted offer stays open, ms.
    pub offer_ttl_ms: u64,
    /// The URL the arbiter reaches this calculator at, signed into every
    /// acceptance (unresponsive disputes: T asks C_i there). Empty: the
    /// listen address, which must then not be 0.0.0.0 / [::].
    pub advertise_url: String,
    /// Deliberate misbehaviour for tests and the demo (never in production).
    pub misbehave: crate::cheat::Misbehave,
    /// The FairPay deployment it accepts and its Ethereum offer limits.
    pub ethereum: EthereumConfig,
}

impl Config {
    /// Is the x-only key `key` (an offer's pk_T) a trusted arbiter?
    pub fn trusts_arbiter_key(&self, key: &bitcoin::XOnlyPublicKey) -> bool {
        let want = key.to_string();
        self.trusted_arbiters
            .iter()
            .any(|a| a.trim().eq_ignore_ascii_case(&want))
    }

    /// Is `address` (an offer's job.arbiter) a trusted arbiter?
    pub fn trusts_arbiter_address(&self, address: &alloy::primitives::Address) -> bool {
        self.trusted_arbiters
            .iter()
            .any(|a| a.trim().parse::<alloy::primitives::Address>().ok() == Some(*address))
    }

    /// Is the x-only key `key` a trusted co-calculator (`trap_deposit` jobs)?
    pub fn trusts_calculator(&self, key: &bitcoin::XOnlyPublicKey) -> bool {
        let want = key.to_string();
        self.trusted_calculators
            .iter()
            .any(|c| c.trim().eq_ignore_ascii_case(&want))
    }
}

/// The FairPay deployment and the Ethereum offer limits. Wei amounts are
/// decimal strings (TOML integers stop at 2^63).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EthereumConfig {
    /// chain_id and contract (empty: Ethereum offers are declined
    /// UNSUPPORTED).
    #[serde(flatten)]
    pub deployment: FairPayConfig,
    /// Smallest reward (fee d) accepted, wei.
    pub min_reward_wei: String,
    /// Largest bond (deposit g) posted, wei.
    pub max_bond_wei: String,
    /// Seconds needed between the latest block's time at the offer and the
    /// commit deadline.
    pub min_seconds_to_commit_deadline: u64,
    /// Most seconds between the latest block's time at the offer and t.
    pub max_seconds_to_payout: u64,
    /// Fewest seconds O's on-chain challenge may give this calculator to
    /// answer (job.audit's window).
    pub min_challenge_window_seconds: u64,
    /// Smallest challenge deposit, wei: what O pays this calculator for
    /// answering a challenge; it must cover the answer's gas.
    pub min_challenge_deposit_wei: String,
    /// Most positions one challenge may open (bounds the answer's gas;
    /// at most FairPay's MAX_SAMPLES = 128).
    pub max_challenge_samples: u32,
}

impl Default for EthereumConfig {
    fn default() -> Self {
        EthereumConfig {
            deployment: FairPayConfig::default(),
            min_reward_wei: "1000000000000".into(),
            max_bond_wei: "1000000000000000000".into(),
            min_seconds_to_commit_deadline: 60,
            max_seconds_to_payout: 14 * 24 * 3600,
            min_challenge_window_seconds: 30,
            min_challenge_deposit_wei: "1000000000000000".into(),
            max_challenge_samples: bapay_fairpay::MAX_SAMPLES,
        }
    }
}

/// Bitcoin offer limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Largest fee of the CPFP child that bumps a stuck claim, sat (paid
    /// from the claim's own output).
    pub max_bump_fee_sat: u64,
    /// Blocks a claim may wait unconfirmed in the mempool before it is
    /// bumped (a claim refused for its fee is bumped at once).
    pub bump_after_blocks: u64,
    /// Largest work per sub-task (search: leaves * rounds; linear: rows * cols).
    pub max_work: u64,
    /// Most blocks between the tip at the offer and t (the deposit is
    /// locked until t: a t years away would lock it for the price of d).
    pub max_blocks_to_payout: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            common: CommonConfig::for_role("127.0.0.1:50062", "data/calculator", 1000),
            limits: Limits::default(),
            trusted_arbiters: Vec::new(),
            accept_trap_on_deposit: false,
            accept_threshold_jobs: false,
            trusted_calculators: Vec::new(),
            offer_ttl_ms: 10 * 60 * 1000,
            advertise_url: String::new(),
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
            max_bump_fee_sat: 20_000,
            bump_after_blocks: 3,
            max_work: 1 << 30,
            max_blocks_to_payout: 2016,
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
        assert_eq!(cfg.common.listen, "127.0.0.1:0");
        assert_eq!(cfg.common.chain_adapter_url, "http://adapter:1");
        assert_eq!(cfg.limits, Limits::default());
    }

    #[test]
    fn trusted_arbiters_from_a_list_or_a_string() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "trusted_arbiters = [\"a\", \"b\"]\n").expect("write");
        let cli = Cli::try_parse_from(["calculator", "--config", path.to_str().expect("utf8")])
            .expect("parses");
        assert_eq!(cli.load().expect("loads").trusted_arbiters, ["a", "b"]);
        std::fs::write(&path, "trusted_arbiters = \"a, b,\"\n").expect("write");
        assert_eq!(cli.load().expect("loads").trusted_arbiters, ["a", "b"]);
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
