//! The BAPay calculator daemon (C_i): `bapay.calculator.v1.CalculatorService`
//! (PROTOCOL.md §4 steps 1-4 and §5, docs/daemons.md §C). It checks O's
//! offer, holds what it is owed before it signs anything (Charge_i on
//! Bitcoin), computes, commits to its result with a signed Merkle root,
//! opens leaves when asked, and claims its pay at t by itself, even with O
//! gone.
//!
//! Layout: [`config`] (layered configuration), [`record`] (the stored
//! sub-task, its chain part in a [`record::SubSettlement`]), [`settlement`]
//! (one [`settlement::Settlement`] per chain: offer checks, StartWork,
//! delivery, the driver's claims), [`work`] (the computation and the tree
//! cache, the same on both chains), [`service`] (shared state and the tonic
//! service), [`rpc`] (one handler per RPC), [`driver`] (the background
//! task), [`cheat`] (deliberate misbehaviour for tests and the demo).
//! Errors are [`bapay_daemon::ServiceError`].
//!
//! Trust: C_i accepts only arbiters in `trusted_arbiters` (an arbiter of
//! O's choosing could sign away its deposit) and the paper's
//! `trap_deposit` variant only with `accept_trap_on_deposit` and every
//! co-calculator in `trusted_calculators`.
//!
//! Not yet: chain `Watch` / `WatchLogs` streams (the driver polls), CPFP
//! of a stuck claim, the money report in GetStatus, a job capacity,
//! withdrawing a FUNDING_SIGNED offer by double-spending the signed input,
//! `estimated_done_unix_ms`.

pub mod cheat;
pub mod config;
pub mod driver;
pub mod record;
pub mod rpc;
pub mod service;
pub mod settlement;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_eth;
pub mod work;

use std::sync::Arc;

use bapay_daemon::tls::{Access, Policy, Role};
use bapay_daemon::{AdapterClient, BoundServer, EthSender, ServiceError};
use bapay_proto::calculator::v1::calculator_service_server::CalculatorServiceServer;
use tonic::server::NamedService;

pub use config::{Cli, Config};
pub use service::{Calculator, Service};

/// Result with the daemons' one error type.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Name of the key file (`calculator.key`), database and lock in `data_dir`.
pub const ROLE: &str = "calculator";

/// Refuses an `ethereum.contract` that is set but not an address, opens
/// the role's home (lock, key, store) and the chain-adapter clients (lazy),
/// and binds the gRPC server.
pub async fn bind(config: Config) -> Result<(BoundServer, Arc<Calculator>)> {
    config.ethereum.deployment.address()?;
    if config.trusted_arbiters.is_empty() {
        tracing::warn!("trusted_arbiters is empty: every offer will be declined (UNTRUSTED_PARTY)");
    }
    let home = bapay_daemon::role::open(&config.common, ROLE)?;
    let chain = AdapterClient::new(&config.common.chain_adapter_url, &home.tls)?;
    let eth = EthSender::new(&config.common.chain_adapter_url, &home.key, &home.tls)?;
    let listen = config.common.listen.clone();
    let tls = home.tls.clone();
    let calc = Arc::new(
        Calculator::new(home.store, home.key, Arc::new(chain), config, home.clock)
            .with_eth(Arc::new(eth))
            .with_lock(home.lock),
    );
    let svc = Service(calc.clone());
    let server = bapay_daemon::role::bind(
        &listen,
        &tls,
        policy(),
        bapay_proto::calculator::v1::FILE_DESCRIPTOR_SET,
        <CalculatorServiceServer<Service> as NamedService>::NAME,
        move |r| r.add_service(CalculatorServiceServer::new(svc)),
    )
    .await?;
    let addr = server.local_addr();
    if config_advertise_missing(&calc, addr) {
        return Err(bapay_daemon::Error::Config(format!(
            "listening on {addr}: set advertise_url to the URL the arbiter reaches this calculator at \
             (it is signed into every acceptance)"
        ))
        .into());
    }
    calc.set_endpoint(format!("http://{addr}"));
    tracing::info!(key = %calc.key.x_only_public_key(), endpoint = %calc.endpoint(), "calculator ready");
    Ok((server, calc))
}

fn config_advertise_missing(c: &Calculator, addr: std::net::SocketAddr) -> bool {
    c.config.advertise_url.is_empty() && addr.ip().is_unspecified()
}

/// Who may call what (README, "Who may call what"): the protocol RPCs
/// answer only an outsourcer's certificate (each then checks the job's
/// token); the arbiter may also read a result and open leaves (unresponsive
/// disputes); GetInfo answers every role.
pub fn policy() -> Policy {
    const S: &str = "/bapay.calculator.v1.CalculatorService/";
    let reader = Access::Roles(vec![Role::Outsourcer, Role::Arbiter]);
    Policy::new()
        .allow(S, Access::Roles(vec![Role::Outsourcer]))
        .allow(&format!("{S}FetchResult"), reader.clone())
        .allow(&format!("{S}OpenLeaves"), reader.clone())
        .allow(&format!("{S}GetStatus"), reader)
        .allow(
            &format!("{S}GetInfo"),
            Access::Roles(vec![
                Role::Outsourcer,
                Role::Arbiter,
                Role::User,
                Role::Admin,
            ]),
        )
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
