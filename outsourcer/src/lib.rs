//! The BAPay outsourcer daemon (O): `bapay.outsourcer.v1.OutsourcerService`
//! (PROTOCOL.md §4 and §5, docs/daemons.md §O). Users submit jobs over
//! gRPC; the [`driver`] splits each job, offers the sub-tasks to
//! calculators, escrows fees and deposits, collects and verifies the
//! results by sampling, disputes through the arbiter (or on chain), and
//! follows each escrow until it is settled, persisting every step before
//! its side effect and resuming after a restart.
//!
//! Layout: [`config`], [`record`] (the stored job; its chain parts in
//! [`record::JobSettlement`] / [`record::SlotSettlement`]), [`settlement`]
//! (one [`settlement::Settlement`] per chain: terms, funding, the chain's
//! result check, disputes, settlement, the view), [`view`] (the API view),
//! [`service`] (shared state, the one place records change, the tonic
//! service), [`rpc`] (one handler per RPC), [`driver`] (one module per
//! phase). Errors are [`bapay_daemon::ServiceError`].
//!
//! Not yet: `Unresponsive` disputes on Ethereum (the on-chain challenge:
//! a calculator that commits and never opens its sample is still paid at
//! t there) and threshold jobs.

pub mod config;
pub mod deal;
pub mod driver;
pub mod record;
pub mod rpc;
pub mod service;
pub mod settlement;
#[cfg(test)]
mod tests;
pub mod view;

use std::sync::Arc;

use bapay_daemon::tls::{Access, Policy, Role};
use bapay_daemon::{AdapterClient, BoundServer, EthSender, ServiceError};
use bapay_proto::outsourcer::v1::outsourcer_service_server::OutsourcerServiceServer;
use tonic::server::NamedService;

pub use config::{Cli, Config};
pub use service::{Outsourcer, Service};

/// Result with the daemons' one error type.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Name of the key file (`outsourcer.key`), database and lock in `data_dir`.
pub const ROLE: &str = "outsourcer";

/// Opens the role's home (lock, key, store) and the chain-adapter clients
/// (lazy) and binds the gRPC server.
pub async fn bind(config: Config) -> Result<(BoundServer, Arc<Outsourcer>)> {
    let contract = config.ethereum.address()?;
    let home = bapay_daemon::role::open(&config.common, ROLE)?;
    let chain = AdapterClient::new(&config.common.chain_adapter_url, &home.tls)?;
    let eth = match contract {
        None => None,
        Some(c) => Some((
            EthSender::new(&config.common.chain_adapter_url, &home.key, &home.tls)?,
            c,
        )),
    };
    let listen = config.common.listen.clone();
    let tls = home.tls.clone();
    let token = bapay_daemon::tls::token_file(&bapay_daemon::tls::user_token_path(
        &config.common.data_dir,
    ))?;
    let mut o = Outsourcer::new(home.store, home.key, Arc::new(chain), config, home.clock)
        .with_lock(home.lock)
        .with_tls(tls.clone());
    if let Some((sender, contract)) = eth {
        o = o.with_ethereum(Arc::new(sender), contract);
    }
    let o = Arc::new(o);
    let svc = Service(o.clone());
    let server = bapay_daemon::role::bind(
        &listen,
        &tls,
        policy(token),
        bapay_proto::outsourcer::v1::FILE_DESCRIPTOR_SET,
        <OutsourcerServiceServer<Service> as NamedService>::NAME,
        move |r| r.add_service(OutsourcerServiceServer::new(svc)),
    )
    .await?;
    tracing::info!(key = %o.key.x_only_public_key(), addr = %server.local_addr(), "outsourcer ready");
    Ok((server, o))
}

/// Who may call what: the whole user API (SubmitJob spends O's coins,
/// GetJob shows the secret input) answers only the user, by a `user`
/// certificate or the bearer token in `<data_dir>/user.token`; so does
/// reflection (also to `admin`), so grpcurl works with the token alone.
pub fn policy(token: String) -> Policy {
    Policy::new()
        .allow(
            "/bapay.outsourcer.v1.OutsourcerService/",
            Access::RolesOrToken(vec![Role::User]),
        )
        .allow(
            "/grpc.reflection.",
            Access::RolesOrToken(vec![Role::User, Role::Admin]),
        )
        .with_token(token)
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
