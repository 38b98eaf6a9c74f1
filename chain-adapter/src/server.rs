//! Wiring: builds the services from the configuration (spawning regtest
//! bitcoind and anvil through the harness with `spawn_nodes`), binds the
//! listener (port 0 allowed; the bound address is logged as
//! "listening on ADDR"), and serves them over TLS with client certificates
//! and the per-RPC [`policy`], with gRPC health and reflection.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bapay_harness::{Anvil, Bitcoind};
use bapay_proto::chain::v1 as pb;
use tokio_stream::wrappers::TcpListenerStream;

use crate::bitcoin::rpc::RpcNode;
use crate::bitcoin::{regtest, BitcoinApi};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ethereum::{AlloyNode, EthereumApi};
use crate::health;

/// Blocks mined to the faucet when the adapter spawns its own bitcoind.
const SPAWN_PREMINE: u32 = 200;

/// Nodes the adapter started itself (`spawn_nodes`); killed with it.
pub struct SpawnedNodes {
    /// Regtest bitcoind.
    pub bitcoind: Bitcoind,
    /// anvil.
    pub anvil: Anvil,
}

/// A bound, not yet serving, chain-adapter.
pub struct Server {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    router: bapay_daemon::server::Router,
    nodes: Option<SpawnedNodes>,
}

impl Server {
    /// The bound address (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The nodes started with `spawn_nodes`, if any.
    pub fn spawned_nodes(&self) -> Option<&SpawnedNodes> {
        self.nodes.as_ref()
    }

    /// Serves until `signal` resolves.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()> + Send) -> Result<()> {
        let Server {
            listener,
            router,
            nodes,
            ..
        } = self;
        let res = router
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal)
            .await
            .map_err(|e| Error::Server(e.to_string()));
        drop(nodes);
        res
    }
}

/// Builds everything and binds `config.listen`.
pub async fn bind(mut config: Config) -> Result<Server> {
    config.validate()?;
    let nodes = if config.spawn_nodes {
        Some(spawn_nodes(&mut config).await?)
    } else {
        None
    };

    let btc = if config.bitcoin.enabled {
        Some(BitcoinApi::new(
            RpcNode::new(&config.bitcoin)?,
            &config.bitcoin,
        )?)
    } else {
        None
    };
    if let (Some(api), Some(_)) = (&btc, &nodes) {
        let addr = api.faucet().address().to_string();
        regtest::mine(api, SPAWN_PREMINE, &addr).await?;
        tracing::info!(faucet = %addr, blocks = SPAWN_PREMINE, "faucet funded");
    }
    let eth = if config.ethereum.enabled {
        let node = AlloyNode::new(
            &config.ethereum.rpc_url,
            Duration::from_millis(config.ethereum.timeout_ms),
        )?;
        Some(EthereumApi::new(node, &config.ethereum)?)
    } else {
        None
    };

    let (reporter, health_service) = tonic_health::server::health_reporter();
    tokio::spawn(health::monitor(reporter, btc.clone(), eth.clone()));

    let (refl_v1, refl_v1alpha) = bapay_daemon::server::reflection(&[pb::FILE_DESCRIPTOR_SET])
        .map_err(|e| Error::Server(e.to_string()))?;

    let tls = bapay_daemon::tls::Tls::for_daemon(
        &config.tls,
        &config.data_dir,
        bapay_daemon::tls::Role::ChainAdapter,
        &config.listen,
    )
    .map_err(|e| Error::Config(e.to_string()))?;
    let mut builder = tonic::transport::Server::builder();
    if let Some(cfg) = tls.server_config() {
        builder = builder
            .tls_config(cfg)
            .map_err(|e| Error::Server(format!("tls: {e}")))?;
    }
    let router = builder
        .layer(bapay_daemon::tls::PolicyLayer(
            policy().enforcing(tls.is_on()),
        ))
        .add_service(health_service)
        .add_service(refl_v1)
        .add_service(refl_v1alpha)
        .add_optional_service(btc.map(pb::bitcoin_service_server::BitcoinServiceServer::new))
        .add_optional_service(eth.map(pb::ethereum_service_server::EthereumServiceServer::new));

    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| Error::Server(format!("binding {}: {e}", config.listen)))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| Error::Server(e.to_string()))?;
    tracing::info!("listening on {local_addr}");
    Ok(Server {
        listener,
        local_addr,
        router,
        nodes,
    })
}

/// Who may call what: every role daemon (and the admin) may read the
/// chains and send transactions; the regtest / anvil helpers (mining,
/// the faucet, moving anvil's clock, setting balances) need the admin
/// certificate.
pub fn policy() -> bapay_daemon::tls::Policy {
    use bapay_daemon::tls::{Access, Policy, Role};
    let roles = Access::Roles(vec![
        Role::Outsourcer,
        Role::Calculator,
        Role::Arbiter,
        Role::Admin,
    ]);
    let admin = || Access::Roles(vec![Role::Admin]);
    const B: &str = "/bapay.chain.v1.BitcoinService/";
    const E: &str = "/bapay.chain.v1.EthereumService/";
    Policy::new()
        .allow(B, roles.clone())
        .allow(E, roles)
        .allow(&format!("{B}MineBlocks"), admin())
        .allow(&format!("{B}FaucetPay"), admin())
        .allow(&format!("{E}IncreaseTime"), admin())
        .allow(&format!("{E}Mine"), admin())
        .allow(&format!("{E}SetBalance"), admin())
}

/// [`bind`] then serve until Ctrl-C.
pub async fn run(config: Config) -> Result<()> {
    let server = bind(config).await?;
    server
        .serve_with_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Starts regtest bitcoind and anvil and points the configuration at them.
async fn spawn_nodes(config: &mut Config) -> Result<SpawnedNodes> {
    let spawn = |e: anyhow::Error| Error::Spawn(format!("{e:#}"));
    let (bitcoind, anvil) = tokio::try_join!(Bitcoind::spawn(), Anvil::spawn()).map_err(spawn)?;
    config.bitcoin.rpc_url = bitcoind.rpc_url();
    config.bitcoin.cookie_file = Some(bitcoind.cookie_file());
    config.bitcoin.rpc_user = None;
    config.bitcoin.rpc_password = None;
    config.bitcoin.network = "regtest".into();
    config.ethereum.rpc_url = anvil.url().to_string();
    config.ethereum.network = "anvil".into();
    tracing::info!(
        bitcoind = %bitcoind.rpc_url(),
        bitcoind_log = %bitcoind.process().log_path().display(),
        anvil = %anvil.url(),
        anvil_log = %anvil.process().log_path().display(),
        "spawned nodes"
    );
    Ok(SpawnedNodes { bitcoind, anvil })
}
