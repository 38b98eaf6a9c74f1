//! [`Calculator`]: the daemon's state (store, key, chain, config, clock) and
//! the tonic `CalculatorService` implementation, which only delegates to one
//! handler per RPC in [`crate::rpc`], inside the job's tracing span. State changes are serialized by one
//! async lock, so two calls about a job never race on its record version.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use alloy::primitives::Address;
use bapay_core::merkle::MerkleTree;
use bapay_daemon::{Clock, SecretKey, Store};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::calculator_service_server::CalculatorService;
use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::ScriptBuf;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::chain::Chain;
use crate::codec;
use crate::config::Config;
use crate::error::{CalculatorError, Result};
use crate::eth::{self, EthChain, EthSubTask};
use crate::record::{self, SubTaskRecord};
use crate::rpc;

/// The calculator daemon's shared state.
pub struct Calculator {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: Arc<SecretKey>,
    pub(crate) chain: Arc<dyn Chain>,
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
        chain: Arc<dyn Chain>,
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
        }
    }

    /// Serves Ethereum jobs through `eth` (if `config.ethereum.contract` is
    /// set).
    pub fn with_eth(mut self, eth: Arc<dyn EthChain>) -> Self {
        self.eth = Some(eth);
        self
    }

    /// The configured FairPay address and the Ethereum chain, if Ethereum
    /// is served.
    pub(crate) fn eth_deployment(&self) -> Option<(Address, Arc<dyn EthChain>)> {
        let contract = self.config.ethereum.contract.parse().ok()?;
        Some((contract, self.eth.clone()?))
    }

    /// The Ethereum record for `job_id` if there is one (and `job_token`
    /// opens it: PERMISSION_DENIED otherwise).
    pub(crate) fn eth_authorized(
        &self,
        job_id: &[u8],
        job_token: &[u8],
    ) -> Result<Option<(EthSubTask, u64)>> {
        let job = hex::encode(codec::bytes32("job_id", job_id)?);
        let Some((rec, v)) = eth::record::load(self.store.as_ref(), &job)? else {
            return Ok(None);
        };
        if !same_token(&rec.job_token, job_token)? {
            return Err(CalculatorError::PermissionDenied);
        }
        Ok(Some((rec, v)))
    }

    /// Own P2TR key-path script (deposit coins, change, payouts).
    pub fn own_script(&self) -> ScriptBuf {
        bapay_core::escrow::p2tr_key_spend_script(self.key.x_only_public_key())
    }

    /// Now, Unix ms.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now().saturating_mul(1000)
    }

    /// The record for `job_id` if `job_token` opens it.
    pub(crate) fn authorized(
        &self,
        job_id: &[u8],
        job_token: &[u8],
    ) -> Result<(SubTaskRecord, u64)> {
        let job = hex::encode(codec::bytes32("job_id", job_id)?);
        let Some((rec, v)) = record::load(self.store.as_ref(), &job)? else {
            if eth::record::load(self.store.as_ref(), &job)?.is_some() {
                return Err(CalculatorError::FailedPrecondition(format!(
                    "job {job} settles on Ethereum"
                )));
            }
            return Err(CalculatorError::NotFound(job));
        };
        if !same_token(&rec.job_token, job_token)? {
            return Err(CalculatorError::PermissionDenied);
        }
        Ok((rec, v))
    }

    /// Saves `rec` over `version`, stamping the time.
    pub(crate) fn save(&self, rec: &mut SubTaskRecord, version: Option<u64>) -> Result<u64> {
        rec.updated_unix_ms = self.now_ms();
        record::save(self.store.as_ref(), rec, version)
    }

    /// Every stored record.
    pub(crate) fn all_records(&self) -> Result<Vec<(SubTaskRecord, u64)>> {
        let mut out = Vec::new();
        for j in self.store.list_jobs()? {
            if j.id.starts_with(eth::record::PREFIX) {
                continue;
            }
            if let Some(r) = record::load(self.store.as_ref(), &j.id)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

/// Constant-time comparison of a stored hex token with a presented one
/// (the token guards the job's secrets).
fn same_token(stored_hex: &str, presented: &[u8]) -> Result<bool> {
    let stored = hex::decode(stored_hex)
        .map_err(|e| CalculatorError::Internal(format!("stored job_token: {e}")))?;
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

#[tonic::async_trait]
impl CalculatorService for Service {
    async fn get_info(
        &self,
        _r: Request<pb::GetInfoRequest>,
    ) -> std::result::Result<Response<pb::GetInfoResponse>, Status> {
        done(Ok(rpc::get_info::handle(&self.0)))
    }
    async fn offer(
        &self,
        r: Request<pb::OfferRequest>,
    ) -> std::result::Result<Response<pb::OfferResponse>, Status> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::offer::handle(&self.0, r).instrument(span).await)
    }
    async fn sign_funding(
        &self,
        r: Request<pb::SignFundingRequest>,
    ) -> std::result::Result<Response<pb::SignFundingResponse>, Status> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::sign_funding::handle(&self.0, r).instrument(span).await)
    }
    async fn start_work(
        &self,
        r: Request<pb::StartWorkRequest>,
    ) -> std::result::Result<Response<pb::StartWorkResponse>, Status> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::start_work::handle(&self.0, r).instrument(span).await)
    }
    async fn fetch_result(
        &self,
        r: Request<pb::FetchResultRequest>,
    ) -> std::result::Result<Response<pb::FetchResultResponse>, Status> {
        let r = r.into_inner();
        span(&r.job_id).in_scope(|| done(rpc::fetch_result::handle(&self.0, r)))
    }
    async fn open_leaves(
        &self,
        r: Request<pb::OpenLeavesRequest>,
    ) -> std::result::Result<Response<pb::OpenLeavesResponse>, Status> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::open_leaves::handle(&self.0, r).instrument(span).await)
    }
    async fn sign_conversion(
        &self,
        r: Request<pb::SignConversionRequest>,
    ) -> std::result::Result<Response<pb::SignConversionResponse>, Status> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(
            rpc::sign_conversion::handle(&self.0, r)
                .instrument(span)
                .await,
        )
    }
    async fn get_status(
        &self,
        r: Request<pb::GetStatusRequest>,
    ) -> std::result::Result<Response<pb::GetStatusResponse>, Status> {
        let r = r.into_inner();
        span(&r.job_id).in_scope(|| done(rpc::get_status::handle(&self.0, r)))
    }
    async fn cancel_offer(
        &self,
        r: Request<pb::CancelOfferRequest>,
    ) -> std::result::Result<Response<pb::CancelOfferResponse>, Status> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::cancel_offer::handle(&self.0, r).instrument(span).await)
    }
}
