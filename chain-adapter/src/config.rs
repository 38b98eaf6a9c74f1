//! Configuration: defaults, then a TOML file (`--config FILE`), then
//! `BAPAY_CHAIN__...` environment variables (`__` separates sections, e.g.
//! `BAPAY_CHAIN__BITCOIN__RPC_URL`), then command-line flags.

use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

use crate::error::{Error, Result};

/// Command-line flags of the `chain-adapter` binary. Every flag overrides the
/// matching configuration key.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "chain-adapter",
    version,
    about = "BAPay chain-adapter: gRPC over bitcoind and an Ethereum node"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gRPC listen address (`listen`), e.g. 127.0.0.1:50051 or 127.0.0.1:0.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Start a regtest bitcoind and an anvil as child processes and use them
    /// (`spawn_nodes`).
    #[arg(long)]
    pub spawn_nodes: bool,
    /// bitcoind JSON-RPC URL (`bitcoin.rpc_url`).
    #[arg(long, value_name = "URL")]
    pub bitcoin_rpc_url: Option<String>,
    /// Bitcoin network: regtest, signet, testnet, testnet4, main (`bitcoin.network`).
    #[arg(long, value_name = "NET")]
    pub bitcoin_network: Option<String>,
    /// bitcoind cookie file (`bitcoin.cookie_file`).
    #[arg(long, value_name = "FILE")]
    pub bitcoin_cookie_file: Option<PathBuf>,
    /// bitcoind RPC user (`bitcoin.rpc_user`).
    #[arg(long)]
    pub bitcoin_rpc_user: Option<String>,
    /// bitcoind RPC password (`bitcoin.rpc_password`).
    #[arg(long)]
    pub bitcoin_rpc_password: Option<String>,
    /// Ethereum JSON-RPC URL (`ethereum.rpc_url`).
    #[arg(long, value_name = "URL")]
    pub ethereum_rpc_url: Option<String>,
    /// Ethereum network: anvil, mainnet, sepolia, holesky, hoodi (`ethereum.network`).
    #[arg(long, value_name = "NET")]
    pub ethereum_network: Option<String>,
    /// Directory of its TLS files made on first start (`data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// No TLS and no per-role checks (`tls.insecure_plaintext`); refused
    /// unless `--listen` is a loopback address.
    #[arg(long)]
    pub insecure_plaintext: bool,
}

/// The whole adapter configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC listen address.
    pub listen: String,
    /// Start our own regtest bitcoind and anvil (local demo).
    pub spawn_nodes: bool,
    /// Bitcoin side.
    pub bitcoin: BitcoinConfig,
    /// Ethereum side.
    pub ethereum: EthereumConfig,
    /// Where its TLS identity is made on first start (`<data_dir>/tls/`).
    pub data_dir: PathBuf,
    /// Transport security (`bapay_daemon::tls`): on by default; callers
    /// need a role certificate, the regtest / anvil helpers the admin one.
    pub tls: bapay_daemon::tls::TlsConfig,
}

/// `[bitcoin]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BitcoinConfig {
    /// Serve the Bitcoin service at all.
    pub enabled: bool,
    /// bitcoind JSON-RPC URL.
    pub rpc_url: String,
    /// Network the adapter expects (regtest, signet, testnet, testnet4, main).
    pub network: String,
    /// Cookie file (preferred over user/password when set).
    pub cookie_file: Option<PathBuf>,
    /// RPC user (with `rpc_password`).
    pub rpc_user: Option<String>,
    /// RPC password.
    pub rpc_password: Option<String>,
    /// Per-call timeout for node requests, milliseconds.
    pub timeout_ms: u64,
    /// How often watch streams poll the node, milliseconds.
    pub watch_poll_ms: u64,
    /// Fee rate returned by EstimateFee on regtest when bitcoind has none.
    pub fallback_fee_sat_per_vb: f64,
    /// Faucet secret key (32-byte hex). Regtest only; random when absent.
    pub faucet_secret_key: Option<String>,
}

/// `[ethereum]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EthereumConfig {
    /// Serve the Ethereum service at all.
    pub enabled: bool,
    /// JSON-RPC URL.
    pub rpc_url: String,
    /// Network name: anvil, mainnet, sepolia, holesky, hoodi.
    pub network: String,
    /// Per-call timeout for node requests, milliseconds.
    pub timeout_ms: u64,
    /// How often receipt waits and log streams poll, milliseconds.
    pub poll_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:50051".into(),
            spawn_nodes: false,
            bitcoin: BitcoinConfig::default(),
            ethereum: EthereumConfig::default(),
            data_dir: "data/chain-adapter".into(),
            tls: bapay_daemon::tls::TlsConfig::default(),
        }
    }
}

impl Default for BitcoinConfig {
    fn default() -> Self {
        BitcoinConfig {
            enabled: true,
            rpc_url: "http://127.0.0.1:18443".into(),
            network: "regtest".into(),
            cookie_file: None,
            rpc_user: None,
            rpc_password: None,
            timeout_ms: 10_000,
            watch_poll_ms: 500,
            fallback_fee_sat_per_vb: 2.0,
            faucet_secret_key: None,
        }
    }
}

impl Default for EthereumConfig {
    fn default() -> Self {
        EthereumConfig {
            enabled: true,
            rpc_url: "http://127.0.0.1:8545".into(),
            network: "anvil".into(),
            timeout_ms: 10_000,
            poll_ms: 200,
        }
    }
}

impl Config {
    /// Loads defaults < `cli.config` file < `BAPAY_CHAIN__*` env < flags.
    pub fn load(cli: &Cli) -> Result<Config> {
        let mut b = config::Config::builder();
        if let Some(path) = &cli.config {
            b = b.add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml));
        }
        b = b.add_source(
            config::Environment::with_prefix("BAPAY_CHAIN")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let err = |e: config::ConfigError| Error::Config(e.to_string());
        let over = |b: config::ConfigBuilder<_>, key: &str, v: Option<String>| {
            b.set_override_option(key, v).map_err(err)
        };
        b = over(b, "listen", cli.listen.clone())?;
        b = over(b, "bitcoin.rpc_url", cli.bitcoin_rpc_url.clone())?;
        b = over(b, "bitcoin.network", cli.bitcoin_network.clone())?;
        let cookie = cli
            .bitcoin_cookie_file
            .as_ref()
            .map(|p| p.display().to_string());
        b = over(b, "bitcoin.cookie_file", cookie)?;
        b = over(b, "bitcoin.rpc_user", cli.bitcoin_rpc_user.clone())?;
        b = over(b, "bitcoin.rpc_password", cli.bitcoin_rpc_password.clone())?;
        b = over(b, "ethereum.rpc_url", cli.ethereum_rpc_url.clone())?;
        b = over(b, "ethereum.network", cli.ethereum_network.clone())?;
        if cli.spawn_nodes {
            b = b.set_override("spawn_nodes", true).map_err(err)?;
        }
        let dir = cli.data_dir.as_ref().map(|p| p.display().to_string());
        b = over(b, "data_dir", dir)?;
        if cli.insecure_plaintext {
            b = b
                .set_override("tls.insecure_plaintext", true)
                .map_err(err)?;
        }
        let cfg: Config = b.build().map_err(err)?.try_deserialize().map_err(err)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Rejects unknown network names early.
    pub fn validate(&self) -> Result<()> {
        crate::bitcoin::parse::network(&self.bitcoin.network)?;
        crate::ethereum::EthNetwork::parse(&self.ethereum.network)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("adapter.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:7000\"\n[bitcoin]\nnetwork = \"signet\"\nrpc_url = \"http://h:1\"\n[ethereum]\npoll_ms = 50\n",
        )
        .expect("write");
        let cli = Cli {
            config: Some(path),
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        };
        let cfg = Config::load(&cli).expect("loads");
        assert_eq!(cfg.listen, "127.0.0.1:0");
        assert_eq!(cfg.bitcoin.network, "signet");
        assert_eq!(cfg.bitcoin.rpc_url, "http://h:1");
        assert_eq!(cfg.ethereum.poll_ms, 50);
        assert_eq!(cfg.ethereum.network, "anvil");
    }

    #[test]
    fn unknown_network_rejected() {
        let cli = Cli {
            bitcoin_network: Some("moonnet".into()),
            ..Default::default()
        };
        assert!(matches!(Config::load(&cli), Err(Error::Config(_))));
    }
}
