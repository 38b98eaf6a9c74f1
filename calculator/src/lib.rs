//! The BAPay calculator daemon (C_i), Bitcoin path of
//! `bapay.calculator.v1.CalculatorService` (docs/daemons.md §C).
//!
//! Layout: [`config`] (layered configuration), [`error`]
//! ([`CalculatorError`] → gRPC status), [`chain`] (the chain-adapter client
//! and a fake), [`record`] (the stored sub-task), [`codec`] (outside bytes →
//! core types, INVALID_ARGUMENT on failure), [`service`] (shared state and
//! the tonic service), [`rpc`] (one handler per RPC), [`driver`] (the
//! background task: escrow depth, computation, claims at t).
//!
//! Implemented (Ethereum, [`eth`]): Offer with every check of the FairPay
//! job, StartWork after `state(id)` = opened, the bonded `commit` (stored
//! before sent), FetchResult with `commit_tx_hash`, OpenLeaves, GetStatus,
//! CancelOffer, and the driver's `payout` at t → PAID, LOST / TRAPPED
//! detection. Tested by unit tests of the offer checks (`src/tests_eth.rs`)
//! and `tests/ethereum.rs` (real anvil + chain-adapter, offer to PAID).
//!
//! Implemented (Bitcoin): GetInfo, Offer, GetStatus, SignFunding, StartWork,
//! FetchResult, OpenLeaves, SignConversion, CancelOffer, and the driver that
//! broadcasts the stored Charge_i / Charge'_i once the tip reaches t and
//! resumes from the store after a restart. Every step that a signature or
//! transaction depends on is stored before it leaves the process. Tested by
//! unit tests (`src/tests.rs`: memory store, fake chain, fake clock; one
//! restart on sqlite) and `tests/regtest.rs` (real bitcoind + chain-adapter,
//! offer to PAID; it skips with a message when either binary is missing).
//!
//! Not yet: Ethereum `WatchLogs` and `claimTrapped`, chain `Watch` streams (the driver polls), LOST / TRAPPED detection, CPFP of a
//! stuck claim, the money report (`transfers` / `total`) in GetStatus,
//! allow-lists of arbiters / co-calculators and a job capacity
//! (RESOURCE_EXHAUSTED), withdrawing a FUNDING_SIGNED offer by
//! double-spending the signed input, `estimated_done_unix_ms`.

pub mod chain;
pub mod cheat;
pub mod codec;
pub mod config;
pub mod driver;
pub mod error;
pub mod eth;
pub mod record;
pub mod rpc;
pub mod service;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_eth;

use std::sync::Arc;

use bapay_daemon::{BoundServer, KeyStore, SqliteStore, SystemClock};
use bapay_proto::calculator::v1::calculator_service_server::CalculatorServiceServer;

pub use config::{Cli, Config};
pub use error::{CalculatorError, Result};
pub use service::{Calculator, Service};

/// Name of the key file in `data_dir` (`calculator.key`).
pub const KEY_NAME: &str = "calculator";
/// Name of the database in `data_dir`.
pub const DB_FILE: &str = "calculator.sqlite";

/// Refuses an `ethereum.contract` that is set but not an address. Opens
/// the key, the store and the chain-adapter clients, and binds the
/// gRPC server (health SERVING for the calculator service).
pub async fn bind(config: Config) -> Result<(BoundServer, Arc<Calculator>)> {
    let contract = &config.ethereum.contract;
    if !contract.is_empty() && contract.parse::<alloy::primitives::Address>().is_err() {
        return Err(bapay_daemon::Error::Config(format!(
            "ethereum.contract {contract:?} is not a 20-byte hex address"
        ))
        .into());
    }
    let clock = Arc::new(SystemClock);
    let key = KeyStore::new(&config.data_dir).load_or_create(KEY_NAME)?;
    let store = SqliteStore::open(&config.data_dir.join(DB_FILE), clock.clone())?;
    let chain = chain::AdapterChain::new(&config.chain_adapter_url)?;
    let eth = bapay_daemon::EthSender::new(&config.chain_adapter_url, &key)?;
    let listen = config.listen.clone();
    let calc = Arc::new(
        Calculator::new(Arc::new(store), key, Arc::new(chain), config, clock)
            .with_eth(Arc::new(eth)),
    );
    let svc = Service(calc.clone());
    let server = bapay_daemon::server::bind(
        &listen,
        &[bapay_proto::calculator::v1::FILE_DESCRIPTOR_SET],
        move |r| r.add_service(CalculatorServiceServer::new(svc)),
    )
    .await?;
    server
        .health()
        .set_serving::<CalculatorServiceServer<Service>>()
        .await;
    tracing::info!(key = %calc.key.x_only_public_key(), "calculator ready");
    Ok((server, calc))
}

/// Runs the daemon until SIGTERM / Ctrl-C: [`bind`], the background
/// [`driver`], then serve.
pub async fn run(config: Config) -> Result<()> {
    let (server, calc) = bind(config).await?;
    let driver = driver::spawn(calc);
    let out = server.serve().await;
    driver.abort();
    Ok(out?)
}
