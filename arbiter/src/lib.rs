//! The BAPay arbiter daemon (T), Bitcoin path of
//! `bapay.arbiter.v1.ArbiterService` (PROTOCOL.md §4 step 5, docs/daemons.md
//! §T).
//!
//! Layout: [`config`] (layered configuration), [`error`] ([`ArbiterError`]
//! → gRPC status), [`chain`] (the chain-adapter client and a fake),
//! [`record`] (the stored dispute), [`codec`] (outside bytes → core types,
//! INVALID_ARGUMENT on failure), [`service`] (shared state and the tonic
//! service), [`rpc`] (one handler per RPC).
//!
//! Implemented (Bitcoin, `WrongResult` evidence): GetInfo, Dispute,
//! GetDispute. A new dispute is judged only while tip < t - margin and the
//! escrow transaction is at depth with the terms' output, unspent, at the
//! named vout (FAILED_PRECONDITION otherwise, UNAVAILABLE if the adapter is down). It
//! is stored (CHECKING) before it is decided by the pure
//! [`bapay_core::verdict::decide`]; AT_FAULT stores the Redeem_i T rebuilt
//! from the terms and T's signature before returning them; REJECTED stores
//! the reason. Repeats return the stored answer (a CHECKING record left by
//! a crash is decided then), and T signs at most one Redeem_i per escrow
//! outpoint. Tested by unit tests (`src/tests.rs`: memory store, fake chain,
//! fake clock, a failing store; one restart on sqlite) and
//! `tests/binary.rs` (the real `arbiter` binary on 127.0.0.1:0: GetInfo,
//! health, graceful SIGTERM).
//!
//! Implemented (Ethereum, `WrongResult` evidence, [`eth`]): Dispute against
//! the configured FairPay deployment: T must be job.arbiter, block time <
//! t - `ethereum_margin_seconds`, `state(id)` a committed root and the
//! group not trapped; the calculator's x-only key (new
//! `EthereumDispute.calculator_key`) must belong to job.worker; the same
//! core verdict; AT_FAULT stores the signed `judge(job)` and its nonce
//! (JUDGE_SENT) before sending it, once per contract job id → JUDGED, or
//! EXPIRED if it reverts. Tested by `src/tests_eth.rs` (fake chain) and
//! `tests/ethereum.rs` (real anvil + chain-adapter: a lazy calculator
//! judged, a false dispute rejected).
//!
//! Not yet: `Unresponsive` evidence (UNIMPLEMENTED), Bitcoin EXPIRED,
//! `Watch` / `WatchLogs` streams.

pub mod chain;
pub mod codec;
pub mod config;
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
use bapay_proto::arbiter::v1::arbiter_service_server::ArbiterServiceServer;

pub use config::{Cli, Config};
pub use error::{ArbiterError, Result};
pub use service::{Arbiter, Service};

/// Name of the key file in `data_dir` (`arbiter.key`).
pub const KEY_NAME: &str = "arbiter";
/// Name of the database in `data_dir`.
pub const DB_FILE: &str = "arbiter.sqlite";

/// Refuses an `ethereum.contract` that is set but not an address. Opens
/// the key, the store and the chain-adapter clients (lazy) and binds the gRPC server (health SERVING
/// for the arbiter service).
pub async fn bind(config: Config) -> Result<(BoundServer, Arc<Arbiter>)> {
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
    let arb = Arc::new(
        Arbiter::new(Arc::new(store), key, Arc::new(chain), config, clock).with_eth(Arc::new(eth)),
    );
    let svc = Service(arb.clone());
    let server = bapay_daemon::server::bind(
        &listen,
        &[bapay_proto::arbiter::v1::FILE_DESCRIPTOR_SET],
        move |r| r.add_service(ArbiterServiceServer::new(svc)),
    )
    .await?;
    server
        .health()
        .set_serving::<ArbiterServiceServer<Service>>()
        .await;
    tracing::info!(
        key = %arb.key.x_only_public_key(),
        addr = %server.local_addr(),
        "arbiter ready"
    );
    Ok((server, arb))
}

/// Runs the daemon until SIGTERM / Ctrl-C: [`bind`], then serve.
pub async fn run(config: Config) -> Result<()> {
    let (server, _arb) = bind(config).await?;
    Ok(server.serve().await?)
}
