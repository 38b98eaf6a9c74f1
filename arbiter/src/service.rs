//! [`Arbiter`]: the daemon's state (store, key, chain, config, clock) and the tonic
//! `ArbiterService` implementation, which only delegates to one handler per
//! RPC in [`crate::rpc`], inside the job's tracing span. Dispute decisions
//! are serialized by one async lock, so two filings never race on the
//! "one signature per escrow" check.

use std::sync::Arc;

use alloy::primitives::Address;
use bapay_daemon::{BitcoinChain, Clock, EthChain, SecretKey, Store};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::arbiter_service_server::ArbiterService;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::config::Config;
use crate::rpc;
use crate::Result;

/// The arbiter daemon's shared state.
pub struct Arbiter {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: Arc<SecretKey>,
    pub(crate) chain: Arc<dyn BitcoinChain>,
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    /// Serializes dispute decisions (and, on Ethereum, sign .. send).
    pub(crate) lock: tokio::sync::Mutex<()>,
    /// Ethereum access (`None`: no Ethereum disputes).
    pub(crate) eth: Option<Arc<dyn EthChain>>,
    /// How T reaches calculators (unresponsive disputes): its own
    /// certificate, the deployment CA.
    pub(crate) tls: bapay_daemon::tls::Tls,
    /// The data directory lock, held while the daemon runs.
    _dir_lock: Option<bapay_daemon::DataDirLock>,
}

impl std::fmt::Debug for Arbiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arbiter")
            .field("key", &self.key.x_only_public_key())
            .finish_non_exhaustive()
    }
}

impl Arbiter {
    /// An arbiter over these parts.
    pub fn new(
        store: Arc<dyn Store>,
        key: SecretKey,
        chain: Arc<dyn BitcoinChain>,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Arbiter {
            store,
            key: Arc::new(key),
            chain,
            config,
            clock,
            lock: tokio::sync::Mutex::new(()),
            eth: None,
            tls: bapay_daemon::tls::Tls::plaintext(),
            _dir_lock: None,
        }
    }

    /// Calls calculators over `tls` (default: plaintext).
    pub fn with_tls(mut self, tls: bapay_daemon::tls::Tls) -> Self {
        self.tls = tls;
        self
    }

    /// Holds the data directory lock for the daemon's lifetime.
    pub fn with_lock(mut self, lock: bapay_daemon::DataDirLock) -> Self {
        self._dir_lock = Some(lock);
        self
    }

    /// Judges Ethereum disputes through `eth` (if `config.ethereum.contract`
    /// is set).
    pub fn with_eth(mut self, eth: Arc<dyn EthChain>) -> Self {
        self.eth = Some(eth);
        self
    }

    /// The configured FairPay address and the Ethereum chain, if served.
    pub(crate) fn eth_deployment(&self) -> Option<(Address, Arc<dyn EthChain>)> {
        let contract = self.config.ethereum.address().ok()??;
        Some((contract, self.eth.clone()?))
    }

    /// Now, Unix ms.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now().saturating_mul(1000)
    }
}

/// The tonic service: a thin wrapper over the shared [`Arbiter`].
#[derive(Debug, Clone)]
pub struct Service(pub Arc<Arbiter>);

fn done<T>(r: Result<T>) -> std::result::Result<Response<T>, Status> {
    r.map(Response::new).map_err(|e| {
        tracing::debug!(error = %e, "request refused");
        e.into()
    })
}

#[tonic::async_trait]
impl ArbiterService for Service {
    async fn get_info(
        &self,
        _request: Request<pb::GetInfoRequest>,
    ) -> std::result::Result<Response<pb::GetInfoResponse>, Status> {
        Ok(Response::new(rpc::get_info::handle(&self.0)))
    }

    async fn dispute(
        &self,
        request: Request<pb::DisputeRequest>,
    ) -> std::result::Result<Response<pb::DisputeResponse>, Status> {
        let r = request.into_inner();
        let span = bapay_daemon::job_span(&hex::encode(&r.job_id));
        done(rpc::dispute::handle(&self.0, r).instrument(span).await)
    }

    async fn get_dispute(
        &self,
        request: Request<pb::GetDisputeRequest>,
    ) -> std::result::Result<Response<pb::GetDisputeResponse>, Status> {
        done(rpc::get_dispute::handle(&self.0, request.into_inner()))
    }
}
