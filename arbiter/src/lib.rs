//! The BAPay arbiter daemon (T): `bapay.arbiter.v1.ArbiterService`
//! (PROTOCOL.md §4 step 5 and §5 "judge", docs/daemons.md §T). T trusts
//! nobody: it checks O's evidence against C_i's signed commitment and, if
//! C_i is at fault, signs the Redeem_i it rebuilt itself from the terms
//! (Bitcoin) or sends FairPay `judge(job)` itself (Ethereum).
//!
//! Layout: [`config`] (layered configuration), [`record`] (the stored
//! dispute), [`dispute`] (one filing for both chains over a
//! [`dispute::DisputeSettlement`] per chain), [`service`] (shared state and
//! the tonic service), [`rpc`] (one handler per RPC), [`driver`] (asks
//! calculators accused of silence: `dispute::unresponsive`). Errors are
//! [`bapay_daemon::ServiceError`]; the chains are reached through the
//! chain-adapter ([`bapay_daemon::BitcoinChain`], [`bapay_daemon::EthChain`]).
//!
//! Not yet: `Unresponsive` evidence on Ethereum (UNIMPLEMENTED: an
//! on-chain challenge is planned instead), Bitcoin EXPIRED of a decided
//! dispute, `Watch` / `WatchLogs` streams.

pub mod config;
pub mod dispute;
pub mod driver;
pub mod record;
pub mod rpc;
pub mod service;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_answer;
#[cfg(test)]
mod tests_eth;

use std::sync::Arc;

use bapay_daemon::tls::{Access, Policy, Role};
use bapay_daemon::{AdapterClient, BoundServer, EthSender, ServiceError};
use bapay_proto::arbiter::v1::arbiter_service_server::ArbiterServiceServer;
use tonic::server::NamedService;

pub use config::{Cli, Config};
pub use service::{Arbiter, Service};

/// Result with the daemons' one error type.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Name of the key file (`arbiter.key`), database and lock in `data_dir`.
pub const ROLE: &str = "arbiter";

/// Refuses an `ethereum.contract` that is set but not an address, opens
/// the role's home (lock, key, store) and the chain-adapter clients (lazy),
/// and binds the gRPC server.
pub async fn bind(config: Config) -> Result<(BoundServer, Arc<Arbiter>)> {
    config.ethereum.address()?;
    let home = bapay_daemon::role::open(&config.common, ROLE)?;
    let chain = AdapterClient::new(&config.common.chain_adapter_url, &home.tls)?;
    let eth = EthSender::new(&config.common.chain_adapter_url, &home.key, &home.tls)?;
    let listen = config.common.listen.clone();
    let tls = home.tls.clone();
    let arb = Arc::new(
        Arbiter::new(home.store, home.key, Arc::new(chain), config, home.clock)
            .with_eth(Arc::new(eth))
            .with_tls(home.tls.clone())
            .with_lock(home.lock),
    );
    let svc = Service(arb.clone());
    let server = bapay_daemon::role::bind(
        &listen,
        &tls,
        policy(),
        bapay_proto::arbiter::v1::FILE_DESCRIPTOR_SET,
        <ArbiterServiceServer<Service> as NamedService>::NAME,
        move |r| r.add_service(ArbiterServiceServer::new(svc)),
    )
    .await?;
    tracing::info!(
        key = %arb.key.x_only_public_key(),
        addr = %server.local_addr(),
        "arbiter ready"
    );
    Ok((server, arb))
}

/// Who may call what: disputes only from an outsourcer's certificate (the
/// request must also be signed by the terms' outsourcer key); GetInfo
/// answers every role.
pub fn policy() -> Policy {
    const S: &str = "/bapay.arbiter.v1.ArbiterService/";
    Policy::new()
        .allow(S, Access::Roles(vec![Role::Outsourcer]))
        .allow(
            &format!("{S}GetInfo"),
            Access::Roles(vec![
                Role::Outsourcer,
                Role::Calculator,
                Role::User,
                Role::Admin,
            ]),
        )
}

/// Runs the daemon until SIGTERM / Ctrl-C: [`bind`], the background
/// [`driver`] (unresponsive disputes), then serve.
pub async fn run(config: Config) -> Result<()> {
    let (server, arb) = bind(config).await?;
    let driver = driver::spawn(arb);
    let out = server.serve().await;
    driver.abort();
    Ok(out?)
}
