//! [`Outsourcer`]: the daemon's shared state (store, key, chain-adapter,
//! config, clock, gRPC channels to calculators and the arbiter), the one
//! place job records change ([`Outsourcer::update`], serialized by a lock,
//! appending an event per change), and the tonic service, which only
//! delegates to one handler per RPC in [`crate::rpc`].

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bapay_daemon::{BitcoinChain, Clock, EthChain, SecretKey, ServiceError, Store, StoreExt};
use bapay_proto::arbiter::v1::arbiter_service_client::ArbiterServiceClient;
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;
use bapay_proto::outsourcer::v1 as pb;
use bapay_proto::outsourcer::v1::outsourcer_service_server::OutsourcerService;
use bitcoin::ScriptBuf;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::config::Config;
use crate::record::{self, Event, JobRecord, SlotState};
use crate::rpc;
use crate::Result;

/// A note about one change, turned into a stored event.
#[derive(Debug, Clone, Default)]
pub struct Note {
    /// The slot it is about.
    pub slot: Option<u32>,
    /// What happened.
    pub description: String,
    /// Txid involved.
    pub tx: String,
}

impl Note {
    /// A job-level note.
    pub fn job(d: impl Into<String>) -> Self {
        Note {
            description: d.into(),
            ..Note::default()
        }
    }
    /// A note about slot `i`.
    pub fn slot(i: u32, d: impl Into<String>) -> Self {
        Note {
            slot: Some(i),
            description: d.into(),
            ..Note::default()
        }
    }
    /// With a txid.
    pub fn tx(mut self, tx: impl Into<String>) -> Self {
        self.tx = tx.into();
        self
    }
}

/// The outsourcer daemon's shared state.
pub struct Outsourcer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: Arc<SecretKey>,
    pub(crate) chain: Arc<dyn BitcoinChain>,
    pub(crate) config: Config,
    pub(crate) clock: Arc<dyn Clock>,
    channels: Mutex<HashMap<String, Channel>>,
    /// Serializes record changes.
    pub(crate) lock: tokio::sync::Mutex<()>,
    /// Serializes coin selection (two fundings never pick one coin).
    pub(crate) funding_lock: tokio::sync::Mutex<()>,
    /// Wakes WatchJob streams after a change.
    pub(crate) changed: tokio::sync::broadcast::Sender<String>,
    /// Ethereum: O's signer through the chain-adapter and the FairPay
    /// address (None: Ethereum not configured).
    pub(crate) eth: Option<(Arc<dyn EthChain>, alloy::primitives::Address)>,
    /// The data directory lock, held while the daemon runs.
    _dir_lock: Option<bapay_daemon::DataDirLock>,
    /// Transport of O's calls to calculators and T (its identity).
    tls: bapay_daemon::tls::Tls,
}

impl std::fmt::Debug for Outsourcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outsourcer")
            .field("key", &self.key.x_only_public_key())
            .finish_non_exhaustive()
    }
}

impl Outsourcer {
    /// An outsourcer over these parts.
    pub fn new(
        store: Arc<dyn Store>,
        key: SecretKey,
        chain: Arc<dyn BitcoinChain>,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Outsourcer {
            store,
            key: Arc::new(key),
            chain,
            config,
            clock,
            channels: Mutex::default(),
            lock: tokio::sync::Mutex::new(()),
            funding_lock: tokio::sync::Mutex::new(()),
            changed: tokio::sync::broadcast::channel(256).0,
            eth: None,
            _dir_lock: None,
            tls: bapay_daemon::tls::Tls::plaintext(),
        }
    }

    /// Calls calculators and T over `tls` (the daemon's identity).
    pub fn with_tls(mut self, tls: bapay_daemon::tls::Tls) -> Self {
        self.tls = tls;
        self
    }

    /// Enables Ethereum jobs on the FairPay contract at `contract`.
    pub fn with_ethereum(
        mut self,
        eth: Arc<dyn EthChain>,
        contract: alloy::primitives::Address,
    ) -> Self {
        self.eth = Some((eth, contract));
        self
    }

    /// Holds the data directory lock for the daemon's lifetime.
    pub fn with_lock(mut self, lock: bapay_daemon::DataDirLock) -> Self {
        self._dir_lock = Some(lock);
        self
    }

    /// The Ethereum chain and contract, FAILED_PRECONDITION if not configured.
    pub(crate) fn eth(&self) -> Result<(&dyn EthChain, alloy::primitives::Address)> {
        self.eth
            .as_ref()
            .map(|(s, c)| (s.as_ref(), *c))
            .ok_or_else(|| {
                ServiceError::precondition(
                    "chain: Ethereum is not configured on this outsourcer (set ethereum.contract)",
                )
            })
    }

    /// O's P2TR key-path script: its coins and change.
    pub fn own_script(&self) -> ScriptBuf {
        bapay_core::escrow::p2tr_key_spend_script(self.key.x_only_public_key())
    }

    /// Now, Unix ms.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now().saturating_mul(1000)
    }

    fn channel(&self, url: &str) -> Result<Channel> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(url) {
            return Ok(c.clone());
        }
        let timeout = Duration::from_millis(self.config.rpc_timeout_ms.max(100));
        let c = self
            .tls
            .endpoint(url)
            .map_err(|e| ServiceError::invalid("endpoint", e))?
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect_lazy();
        map.insert(url.to_string(), c.clone());
        Ok(c)
    }

    /// A client of the calculator at `url`.
    pub(crate) fn calculator(&self, url: &str) -> Result<CalculatorServiceClient<Channel>> {
        Ok(CalculatorServiceClient::new(self.channel(url)?))
    }

    /// A client of the configured arbiter.
    pub(crate) fn arbiter(&self) -> Result<ArbiterServiceClient<Channel>> {
        Ok(ArbiterServiceClient::new(
            self.channel(&self.config.arbiter_url)?,
        ))
    }

    /// A job and its version, NOT_FOUND if unknown.
    pub(crate) fn get(&self, id: &str) -> Result<(JobRecord, u64)> {
        record::load(self.store.as_ref(), id)?
            .ok_or_else(|| ServiceError::not_found(format!("no job {id}")))
    }

    /// Every stored job.
    pub(crate) fn all(&self) -> Result<Vec<JobRecord>> {
        let mut out = Vec::new();
        for j in self.store.list_jobs()? {
            if let Some((r, _)) = record::load(self.store.as_ref(), &j.id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Applies `f` to the stored job under the lock and, if it returns
    /// notes, saves the job (stamped) and appends one event per note.
    /// Returns the job as stored. Nothing is saved when `f` fails or
    /// returns no notes.
    pub(crate) async fn update<F>(&self, id: &str, f: F) -> Result<JobRecord>
    where
        F: FnOnce(&mut JobRecord) -> Result<Vec<Note>>,
    {
        let _g = self.lock.lock().await;
        let (mut rec, v) = self.get(id)?;
        let notes = f(&mut rec)?;
        if notes.is_empty() {
            return Ok(rec);
        }
        let now = self.now_ms();
        rec.updated_ms = now;
        let first = rec.events + 1;
        rec.events += notes.len() as u64;
        for n in &notes {
            if let Some(s) = n.slot.and_then(|i| rec.slots.get_mut(i as usize)) {
                s.updated_ms = now;
            }
        }
        record::save(self.store.as_ref(), &rec, Some(v))?;
        for (k, n) in notes.into_iter().enumerate() {
            tracing::info!(slot = ?n.slot, tx = %n.tx, "{}", n.description);
            self.append_event(&rec, first + k as u64, n)?;
        }
        let _ = self.changed.send(rec.job_id.clone());
        Ok(rec)
    }

    /// Stores a new job and its first event.
    pub(crate) fn create(&self, rec: &mut JobRecord, note: Note) -> Result<()> {
        rec.events = 1;
        record::save(self.store.as_ref(), rec, None)?;
        self.append_event(rec, 1, note)?;
        let _ = self.changed.send(rec.job_id.clone());
        Ok(())
    }

    fn append_event(&self, rec: &JobRecord, seq: u64, n: Note) -> Result<()> {
        let e = Event {
            seq,
            at_ms: self.now_ms(),
            state: rec.state,
            slot: n.slot,
            slot_state: n
                .slot
                .and_then(|i| rec.slots.get(i as usize))
                .map(|s| s.state),
            description: n.description,
            tx: n.tx,
        };
        let payload = serde_json::to_value(&e).map_err(|e| ServiceError::internal("event", e))?;
        self.store
            .record_event(&rec.job_id, record::EVENT, &payload)?;
        Ok(())
    }
}

/// Sets slot `i` to `state` with `reason` and returns the note.
pub(crate) fn set_slot(rec: &mut JobRecord, i: u32, state: SlotState, reason: &str) -> Note {
    if let Some(s) = rec.slots.get_mut(i as usize) {
        s.state = state;
        s.reason = reason.to_string();
    }
    Note::slot(i, format!("calculator {i}: {state:?}{}", opt(reason)))
}

fn opt(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

/// The tonic service: a cheap handle on the shared [`Outsourcer`].
#[derive(Debug, Clone)]
pub struct Service(pub Arc<Outsourcer>);

fn done<T>(r: Result<T>) -> std::result::Result<Response<T>, Status> {
    r.map(Response::new).map_err(|e| {
        tracing::debug!(error = %e, "request refused");
        e.into()
    })
}

fn span(job_id: &[u8]) -> tracing::Span {
    bapay_daemon::job_span(&hex::encode(job_id))
}

type EventStream =
    Pin<Box<dyn tokio_stream::Stream<Item = std::result::Result<pb::JobEvent, Status>> + Send>>;

#[tonic::async_trait]
impl OutsourcerService for Service {
    async fn get_info(
        &self,
        _r: Request<pb::GetInfoRequest>,
    ) -> std::result::Result<Response<pb::GetInfoResponse>, Status> {
        done(Ok(rpc::get_info::handle(&self.0).await))
    }
    async fn submit_job(
        &self,
        r: Request<pb::SubmitJobRequest>,
    ) -> std::result::Result<Response<pb::SubmitJobResponse>, Status> {
        done(rpc::submit_job::handle(&self.0, r.into_inner()).await)
    }
    async fn get_job(
        &self,
        r: Request<pb::GetJobRequest>,
    ) -> std::result::Result<Response<pb::GetJobResponse>, Status> {
        let r = r.into_inner();
        span(&r.job_id).in_scope(|| done(rpc::get_job::handle(&self.0, r)))
    }
    async fn list_jobs(
        &self,
        r: Request<pb::ListJobsRequest>,
    ) -> std::result::Result<Response<pb::ListJobsResponse>, Status> {
        done(rpc::list_jobs::handle(&self.0, r.into_inner()))
    }
    type WatchJobStream = EventStream;
    async fn watch_job(
        &self,
        r: Request<pb::WatchJobRequest>,
    ) -> std::result::Result<Response<Self::WatchJobStream>, Status> {
        done(rpc::watch_job::handle(self.0.clone(), r.into_inner()))
    }
    async fn cancel_job(
        &self,
        r: Request<pb::CancelJobRequest>,
    ) -> std::result::Result<Response<pb::CancelJobResponse>, Status> {
        let r = r.into_inner();
        let span = span(&r.job_id);
        done(rpc::cancel_job::handle(&self.0, r).instrument(span).await)
    }
}
