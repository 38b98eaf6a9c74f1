//! [`Calculator`]: the daemon's state (store, key, chains, config, clock,
//! the tree cache) and the tonic `CalculatorService` implementation, which
//! only delegates to one handler per RPC in [`crate::rpc`], inside the
//! job's tracing span. State changes are serialized by one async lock, so
//! two calls about a job never race on its record version.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use alloy::primitives::Address;
use bapay_core::merkle::MerkleTree;
use bapay_daemon::{codec, BitcoinChain, Clock, EthChain, SecretKey, ServiceError, Store};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::calculator_service_server::CalculatorService;
use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::ScriptBuf;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::config::Config;
use crate::record::{self, SubTaskRecord};
use crate::rpc;
use crate::Result;

/// The calculator daemon's shared state.
pub struct Calculator {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: Arc<SecretKey>,
    pub(crate) chain: Arc<dyn BitcoinChain>,
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) secp: Secp256k1<All>,
    /// Merkle trees of committed results (rebuilt from m_i after a restart).
    pub(crate) trees: Mutex<HashMap<String, Arc<MerkleTree>>>,
    /// Jobs whose computation is running.
    pub(crate) computing: Mutex<HashSet<String>>,
    /// Serializes state transitions (and, on Ethereum, sign .. send).
    pub(crate) lock: tokio::sync::Mutex<()>,
    /// Ethereum access (`None`: Ethereum offers are declined UNSUPPORTED).
    pub(crate) eth: Option<Arc<dyn EthChain>>,
    /// The URL signed into acceptances (set once the server is bound).
    pub(crate) endpoint: std::sync::OnceLock<String>,
    /// The data directory lock, held while the daemon runs.
    _dir_lock: Option<bapay_daemon::DataDirLock>,
}

impl std::fmt::Debug for Calculator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calculator")
            .field("key", &self.key.x_only_public_key())
            .finish_non_exhaustive()
    }
}

impl Calculator {
    /// A calculator over these parts.
    pub fn new(
        store: Arc<dyn Store>,
        key: SecretKey,
        chain: Arc<dyn BitcoinChain>,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Calculator {
            store,
            key: Arc::new(key),
            chain,
            config,
            clock,
            secp: Secp256k1::new(),
            trees: Mutex::default(),
            computing: Mutex::default(),
            lock: tokio::sync::Mutex::new(()),
            eth: None,
            endpoint: std::sync::OnceLock::new(),
            _dir_lock: None,
        }
    }

    /// Sets the URL signed into acceptances (once; later calls are ignored).
    pub fn set_endpoint(&self, url: String) {
        let _ = self.endpoint.set(url);
    }

    /// The URL signed into acceptances: `advertise_url`, else what
    /// [`Calculator::set_endpoint`] set, else the configured listen address.
    pub fn endpoint(&self) -> String {
        if !self.config.advertise_url.is_empty() {
            return self.config.advertise_url.clone();
        }
        self.endpoint
            .get()
            .cloned()
            .unwrap_or_else(|| format!("http://{}", self.config.common.listen))
    }

    /// Serves Ethereum jobs through `eth` (if `config.ethereum.contract` is
    /// set).
    pub fn with_eth(mut self, eth: Arc<dyn EthChain>) -> Self {
        self.eth = Some(eth);
        self
    }

    /// Holds the data directory lock for the daemon's lifetime.
    pub fn with_lock(mut self, lock: bapay_daemon::DataDirLock) -> Self {
        self._dir_lock = Some(lock);
        self
    }

    /// The configured FairPay address and the Ethereum chain, if Ethereum
    /// is served.
    pub(crate) fn eth_deployment(&self) -> Option<(Address, Arc<dyn EthChain>)> {
        let contract = self.config.ethereum.deployment.address().ok()??;
        Some((contract, self.eth.clone()?))
    }

    /// [`Calculator::eth_deployment`], FAILED_PRECONDITION if off.
    pub(crate) fn ethereum(&self) -> Result<(Address, Arc<dyn EthChain>)> {
        self.eth_deployment()
            .ok_or_else(|| ServiceError::precondition("Ethereum is not configured"))
    }

    /// Own P2TR key-path script (deposit coins, change, payouts).
    pub fn own_script(&self) -> ScriptBuf {
        bapay_core::escrow::p2tr_key_spend_script(self.key.x_only_public_key())
    }

    /// Now, Unix ms.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now().saturating_mul(1000)
    }

    /// The record for `job_id` if `job_token` opens it (NOT_FOUND,
    /// PERMISSION_DENIED otherwise).
    pub(crate) fn authorized(
        &self,
        job_id: &[u8],
        job_token: &[u8],
    ) -> Result<(SubTaskRecord, u64)> {
        let job = hex::encode(codec::bytes32("job_id", job_id)?);
        let Some((rec, v)) = record::load(self.store.as_ref(), &job)? else {
            return Err(ServiceError::not_found(format!("no offer for job {job}")));
        };
        if !same_token(&rec.job_token, job_token)? {
            return Err(ServiceError::permission_denied("wrong job_token"));
        }
        Ok((rec, v))
    }

    /// Saves `rec` over `version`, stamping the time.
    pub(crate) fn save(&self, rec: &mut SubTaskRecord, version: Option<u64>) -> Result<u64> {
        rec.updated_unix_ms = self.now_ms();
        record::save(self.store.as_ref(), rec, version)
    }

    /// Loads `job`, applies `f` under the state lock and saves the record
    /// if `f` says it changed. Returns the record as stored.
    pub(crate) async fn update<F>(&self, job: &str, f: F) -> Result<SubTaskRecord>
    where
        F: FnOnce(&mut SubTaskRecord) -> Result<bool>,
    {
        let _g = self.lock.lock().await;
        let (mut r, v) = record::load(self.store.as_ref(), job)?
            .ok_or_else(|| ServiceError::not_found(format!("no offer for job {job}")))?;
        if f(&mut r)? {
            self.save(&mut r, Some(v))?;
        }
        Ok(r)
    }
}

/// Constant-time comparison of a stored hex token with a presented one
/// (the token guards the job's secrets).
fn same_token(stored_hex: &str, presented: &[u8]) -> Result<bool> {
    let stored = record::unhex("job_token", stored_hex)?;
    Ok(stored.len() == presented.len()
        && stored
            .iter()
            .zip(presented)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0)
}

/// The tonic service: a cheap handle on the shared [`Calculator`].
#[derive(Debug, Clone)]
pub struct Service(pub Arc<Calculator>);

/// The `job` span of a request about `job_id` (hex; bad ids are logged as
/// given, the handler refuses them).
fn span(job_id: &[u8]) -> tracing::Span {
    bapay_daemon::job_span(&hex::encode(job_id))
}

fn done<T>(r: Result<T>) -> std::result::Result<Response<T>, Status> {
    r.map(Response::new).map_err(|e| {
        tracing::debug!(error = %e, "request refused");
        e.into()
    })
}

type Answer<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl CalculatorService for Service {
    async fn get_info(&self, _r: Request<pb::GetInfoRequest>) -> Answer<pb::GetInfoResponse> {
        done(Ok(rpc::get_info::handle(&self.0)))
    }
    async fn offer(&self, r: Request<pb::OfferRequest>) -> Answer<pb::OfferResponse> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::offer::handle(&self.0, r).instrument(span).await)
    }
    async fn sign_funding(
        &self,
        r: Request<pb::SignFundingRequest>,
    ) -> Answer<pb::SignFundingResponse> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::sign_funding::handle(&self.0, r).instrument(span).await)
    }
    async fn start_work(&self, r: Request<pb::StartWorkRequest>) -> Answer<pb::StartWorkResponse> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::start_work::handle(&self.0, r).instrument(span).await)
    }
    async fn fetch_result(
        &self,
        r: Request<pb::FetchResultRequest>,
    ) -> Answer<pb::FetchResultResponse> {
        let r = r.into_inner();
        span(&r.job_id).in_scope(|| done(rpc::fetch_result::handle(&self.0, r)))
    }
    async fn open_leaves(
        &self,
        r: Request<pb::OpenLeavesRequest>,
    ) -> Answer<pb::OpenLeavesResponse> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::open_leaves::handle(&self.0, r).instrument(span).await)
    }
    async fn sign_conversion(
        &self,
        r: Request<pb::SignConversionRequest>,
    ) -> Answer<pb::SignConversionResponse> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(
            rpc::sign_conversion::handle(&self.0, r)
                .instrument(span)
                .await,
        )
    }
    async fn get_status(&self, r: Request<pb::GetStatusRequest>) -> Answer<pb::GetStatusResponse> {
        let r = r.into_inner();
        span(&r.job_id).in_scope(|| done(rpc::get_status::handle(&self.0, r)))
    }
    async fn cancel_offer(
        &self,
        r: Request<pb::CancelOfferRequest>,
    ) -> Answer<pb::CancelOfferResponse> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::cancel_offer::handle(&self.0, r).instrument(span).await)
    }
}
