//! The outsourcer's configuration: defaults < TOML file (`--config`) <
//! `BAPAY_OUTSOURCER__...` environment variables < flags, layered by
//! [`bapay_daemon::load`]: the keys every role has ([`CommonConfig`]), the
//! FairPay deployment ([`FairPayConfig`]) and O's own. Every key is
//! documented in the README.

use bapay_daemon::{CommonArgs, CommonConfig, FairPayConfig};
use serde::{Deserialize, Serialize};

/// Environment variable prefix.
pub const ENV_PREFIX: &str = "BAPAY_OUTSOURCER";

/// Command line of the `outsourcer` binary.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(name = "outsourcer", about = "BAPay outsourcer daemon (O)")]
pub struct Cli {
    /// Flags every role daemon has (incl. `--chain-adapter URL`).
    #[command(flatten)]
    pub common: CommonArgs,
    /// The arbiter's gRPC URL (overrides `arbiter_url`).
    #[arg(long = "arbiter")]
    pub arbiter: Option<String>,
}

impl Cli {
    /// Loads the layered configuration this command line asks for.
    pub fn load(&self) -> bapay_daemon::Result<Config> {
        let mut cfg: Config = self.common.load(ENV_PREFIX)?;
        if let Some(a) = &self.arbiter {
            cfg.arbiter_url = a.clone();
        }
        // A spare equal to a serving endpoint would put one calculator in
        // two slots of a job.
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = cfg.pool.iter().find(|e| !seen.insert(e.as_str())) {
            return Err(bapay_daemon::Error::Config(format!(
                "pool: {dup} is listed twice"
            )));
        }
        Ok(cfg)
    }
}

/// Everything the daemon reads at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// listen, data_dir, log_format, chain_adapter_url, finality_depth,
    /// poll_interval_ms.
    #[serde(flatten)]
    pub common: CommonConfig,
    /// The arbiter's gRPC URL (its key goes into every escrow).
    pub arbiter_url: String,
    /// Calculator endpoints `pool_count` draws from, in order.
    pub pool: Vec<String>,
    /// Default assumed honest fraction q.
    pub default_honest_fraction: f64,
    /// Blocks between the result deadline and t that O keeps for verifying,
    /// disputing and confirming Redeem_i (default result deadline = t - this).
    pub dispute_margin_blocks: u64,
    /// Default wait for acceptances and funding signatures, ms.
    pub offer_timeout_ms: u64,
    /// Fee rate when a job sets none, sat/vB.
    pub default_fee_rate_sat_per_vb: u64,
    /// Timeout of each call to a calculator or the arbiter, ms.
    pub rpc_timeout_ms: u64,
    /// The FairPay deployment O opens Ethereum jobs on (empty `contract`:
    /// Ethereum jobs are FAILED_PRECONDITION).
    pub ethereum: FairPayConfig,
    /// Ethereum: default commit deadline = t - this many seconds (time to
    /// verify and have T judge before its own margin).
    pub ethereum_margin_seconds: u64,
    /// Ethereum: seconds a calculator has to answer O's on-chain challenge
    /// of a root whose result or sample never reached O (the job's audit
    /// window; the result deadline must leave two of them before t).
    pub ethereum_challenge_window_seconds: u64,
    /// Ethereum: wei O posts with an on-chain challenge; the calculator
    /// gets it for a valid answer (it pays the answer's gas), O gets it
    /// back when the calculator stays silent.
    pub ethereum_challenge_deposit_wei: String,
    /// Bitcoin: convert every escrow Pay_i -> Pay'_i once all results are
    /// in (the trap key becomes P_R, so pooled results are punished too).
    pub conversion: bool,
    /// Largest fee of a CPFP child that bumps O's stuck Redeem_i or
    /// funding transaction, sat.
    pub max_bump_fee_sat: u64,
    /// Test and demo knobs: a misbehaving outsourcer. Never set in production.
    pub misbehave: Misbehave,
}

/// Deliberate misbehaviour, for the scenario tests and the demo only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Misbehave {
    /// File a dispute against every calculator even when its sample passed
    /// (a false dispute: the arbiter must reject it).
    pub false_dispute: bool,
    /// Never collect results, then accuse every calculator of silence (an
    /// unresponsive dispute against an honest calculator: T asks it, it
    /// answers, T rejects).
    #[serde(default)]
    pub false_unresponsive: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            common: CommonConfig::for_role("127.0.0.1:50061", "data/outsourcer", 500),
            arbiter_url: "http://127.0.0.1:50063".into(),
            pool: Vec::new(),
            default_honest_fraction: 0.5,
            dispute_margin_blocks: 6,
            offer_timeout_ms: 60_000,
            default_fee_rate_sat_per_vb: 2,
            rpc_timeout_ms: 10_000,
            ethereum: FairPayConfig::default(),
            ethereum_margin_seconds: 180,
            ethereum_challenge_window_seconds: 60,
            ethereum_challenge_deposit_wei: "1000000000000000".into(),
            conversion: true,
            max_bump_fee_sat: 20_000,
            misbehave: Misbehave::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn layers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.toml");
        std::fs::write(&path, "pool = [\"http://c1:1\", \"http://c2:2\"]\n").expect("write");
        let cli = Cli::try_parse_from([
            "outsourcer",
            "--config",
            path.to_str().expect("utf8"),
            "--listen",
            "127.0.0.1:0",
            "--arbiter",
            "http://t:3",
        ])
        .expect("parses");
        let cfg = cli.load().expect("loads");
        assert_eq!(cfg.common.listen, "127.0.0.1:0");
        assert_eq!(cfg.arbiter_url, "http://t:3");
        assert_eq!(cfg.pool.len(), 2);
        std::fs::write(&path, "pool = [\"http://c1:1\", \"http://c1:1\"]\n").expect("write");
        let cli = Cli::try_parse_from(["outsourcer", "--config", path.to_str().expect("utf8")])
            .expect("parses");
        let e = cli.load().expect_err("a pool endpoint twice");
        assert!(e.to_string().contains("listed twice"), "{e}");
        assert!(!cfg.misbehave.false_dispute);
    }
}
