//! The BAPay outsourcer daemon (O), Bitcoin path of
//! `bapay.outsourcer.v1.OutsourcerService` (PROTOCOL.md §4, docs/daemons.md
//! §O): users submit jobs over gRPC; the [`driver`] splits each job, offers
//! the sub-tasks to calculators, funds the escrows (Lightning order:
//! Charge_i handed over before anyone signs the funding), collects and
//! verifies the results by sampling, disputes through the arbiter, and
//! follows each escrow until it is settled, persisting every step before
//! its side effect and resuming after a restart.
//!
//! Layout: [`config`], [`error`] ([`OutsourcerError`] → gRPC status),
//! [`record`] (the stored job), [`codec`] (proto ↔ core), [`view`] (the
//! API view and the money report), [`service`] (shared state, the one
//! place records change, the tonic service), [`rpc`] (one handler per
//! RPC), [`driver`] (one module per phase).
//!
//! Not yet: Ethereum jobs (FAILED_PRECONDITION), the Pay_i → Pay'_i
//! conversion (optional in the protocol: O stays on Pay_i, so the
//! collusion key stays P_M), `Unresponsive` disputes (the arbiter does not
//! implement them: a calculator that never delivers is still paid at t),
//! replacing a declined pool calculator, trap-sweep detection, CPFP of a
//! stuck funding, and a fake chain for unit tests of the driver (it is
//! tested end to end on regtest in `tests/`).

pub mod codec;
pub mod config;
pub mod driver;
pub mod error;
pub mod eth;
pub mod record;
pub mod rpc;
pub mod service;
pub mod view;

use std::sync::Arc;

use bapay_daemon::{AdapterClient, BoundServer, KeyStore, SqliteStore, SystemClock};
use bapay_proto::outsourcer::v1::outsourcer_service_server::OutsourcerServiceServer;

pub use config::{Cli, Config};
pub use error::{OutsourcerError, Result};
pub use service::{Outsourcer, Service};

/// Name of the key file in `data_dir` (`outsourcer.key`).
pub const KEY_NAME: &str = "outsourcer";
/// Name of the database in `data_dir`.
pub const DB_FILE: &str = "outsourcer.sqlite";

/// Opens the key, the store and the chain-adapter client (lazy) and binds
/// the gRPC server (health SERVING for the outsourcer service).
pub async fn bind(config: Config) -> Result<(BoundServer, Arc<Outsourcer>)> {
    let clock = Arc::new(SystemClock);
    let key = KeyStore::new(&config.data_dir).load_or_create(KEY_NAME)?;
    let store = SqliteStore::open(&config.data_dir.join(DB_FILE), clock.clone())?;
    let chain = AdapterClient::new(&config.chain_adapter_url)?;
    let listen = config.listen.clone();
    let eth = if config.ethereum.contract.is_empty() {
        None
    } else {
        let contract: alloy::primitives::Address = config
            .ethereum
            .contract
            .parse()
            .map_err(|e| OutsourcerError::invalid("ethereum.contract", e))?;
        let sender = bapay_daemon::eth::EthSender::new(&config.chain_adapter_url, &key)
            .map_err(|e| OutsourcerError::invalid("chain_adapter_url", e))?;
        Some((sender, contract))
    };
    let mut o = Outsourcer::new(Arc::new(store), key, chain, config, clock);
    if let Some((sender, contract)) = eth {
        o = o.with_ethereum(sender, contract);
    }
    let o = Arc::new(o);
    let svc = Service(o.clone());
    let server = bapay_daemon::server::bind(
        &listen,
        &[bapay_proto::outsourcer::v1::FILE_DESCRIPTOR_SET],
        move |r| r.add_service(OutsourcerServiceServer::new(svc)),
    )
    .await?;
    server
        .health()
        .set_serving::<OutsourcerServiceServer<Service>>()
        .await;
    tracing::info!(key = %o.key.x_only_public_key(), addr = %server.local_addr(), "outsourcer ready");
    Ok((server, o))
}

/// Runs the daemon until SIGTERM / Ctrl-C: [`bind`], the background
/// [`driver`], then serve.
pub async fn run(config: Config) -> Result<()> {
    let (server, o) = bind(config).await?;
    let driver = driver::spawn(o);
    let out = server.serve().await;
    driver.abort();
    Ok(out?)
}
