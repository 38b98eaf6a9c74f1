//! One dispute filing for both chains (docs/daemons.md §T). [`file`] does
//! what never depends on the chain: the outsourcer's signature (only the
//! terms' outsourcer may dispute its escrow: PERMISSION_DENIED otherwise,
//! nothing stored), the evidence checks, the decision lock,
//! idempotency (the dispute id is a hash of the request), "store CHECKING
//! before deciding", the core verdict and "store the verdict before it
//! leaves". What does depend on the chain is a [`DisputeSettlement`]:
//! [`bitcoin::Bitcoin`] rebuilds and signs Redeem_i; [`ethereum::Ethereum`]
//! checks the on-chain root and the worker key, then stores and sends
//! `judge(job)`. The chain is chosen once, in [`file_request`].

pub mod bitcoin;
pub mod ethereum;
mod evidence;
pub mod unresponsive;

use ::bitcoin::secp256k1::XOnlyPublicKey;
use bapay_core::auth;
use bapay_core::commitment::{sha256, Chain as CommitChain};
use bapay_core::verdict::Verdict;
use bapay_daemon::ServiceError;
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::common::v1::Chain;
use prost::Message;

pub use evidence::{fault, reject_code, Answer, Evidence, Unresponsive, WrongResult};

use crate::record::{self, DisputeRecord, SettlementRecord, State};
use crate::service::Arbiter;
use crate::Result;

/// A validated filing: what every chain has, and the chain's own part.
#[derive(Debug)]
pub struct Filing<D> {
    /// O's protocol job id.
    pub job_id: [u8; 32],
    /// The accused calculator's index.
    pub index: u32,
    /// Its x-only key (Bitcoin: from the terms; Ethereum: as O gave it,
    /// bound to `job.worker` by the verdict).
    pub calculator: XOnlyPublicKey,
    /// The key that must have signed the request: the terms' outsourcer
    /// (Ethereum: the key whose address is `job.outsourcer`).
    pub outsourcer: XOnlyPublicKey,
    /// The escrow: `txid:vout` or the contract job id.
    pub escrow: String,
    /// The decoded evidence.
    pub evidence: Evidence,
    /// What the settlement needs later.
    pub detail: D,
}

/// What one chain adds to a dispute.
#[tonic::async_trait]
pub trait DisputeSettlement: Send + Sync {
    /// The chain's own part of a validated filing.
    type Detail: Send + Sync;
    /// The commitment chain byte.
    const CHAIN: CommitChain;

    /// Validates the settlement part of `r` (INVALID_ARGUMENT naming the
    /// field; FAILED_PRECONDITION if T is not the terms' arbiter or the
    /// chain is not served).
    fn validate(
        &self,
        a: &Arbiter,
        r: &pb::DisputeRequest,
        evidence: Evidence,
    ) -> Result<Filing<Self::Detail>>;

    /// Does the stored `other` answer this filing instead of a new
    /// dispute (one signature per escrow, one open dispute per slot)?
    fn answered_by(&self, f: &Filing<Self::Detail>, other: &DisputeRecord) -> bool;

    /// The chain checks of a new filing (FAILED_PRECONDITION, nothing
    /// stored, if they fail); returns the record's chain part.
    async fn admit(&self, a: &Arbiter, f: &Filing<Self::Detail>) -> Result<SettlementRecord>;

    /// T's own checks before the core verdict (a rejection and its
    /// detail), if the chain has any.
    async fn precheck(
        &self,
        a: &Arbiter,
        f: &Filing<Self::Detail>,
    ) -> Result<Option<(bapay_core::verdict::RejectReason, String)>>;

    /// Judges C_i's answer to an on-chain challenge (`Evidence::Answer`),
    /// read from the chain: the core verdict, or why it could not be
    /// reached. Chains without one: UNIMPLEMENTED.
    async fn judge_answer(
        &self,
        _a: &Arbiter,
        _f: &Filing<Self::Detail>,
    ) -> Result<bapay_core::Result<Verdict>> {
        Err(ServiceError::unimplemented(
            "no on-chain challenge on this chain",
        ))
    }

    /// Carries out a fault: stores into `rec` what it signs (state
    /// AT_FAULT, JUDGE_SENT or EXPIRED). The caller saves `rec`.
    async fn on_fault(
        &self,
        a: &Arbiter,
        f: &Filing<Self::Detail>,
        rec: &mut DisputeRecord,
    ) -> Result<()>;

    /// Continues a stored record (sends a stored `judge`), saving it.
    async fn resume(&self, a: &Arbiter, rec: DisputeRecord, version: u64) -> Result<DisputeRecord>;
}

/// Files `r` with the settlement of its chain.
pub async fn file_request(a: &Arbiter, r: pb::DisputeRequest) -> Result<DisputeRecord> {
    match Chain::try_from(r.chain) {
        Ok(Chain::Bitcoin) => file(a, &bitcoin::Bitcoin, r).await,
        Ok(Chain::Ethereum) => file(a, &ethereum::Ethereum, r).await,
        _ => Err(ServiceError::invalid("chain", "unknown chain")),
    }
}

/// The generic filing (see the module docs).
pub async fn file<S: DisputeSettlement>(
    a: &Arbiter,
    s: &S,
    r: pb::DisputeRequest,
) -> Result<DisputeRecord> {
    let evidence = Evidence::decode(&r, S::CHAIN)?;
    let f = s.validate(a, &r, evidence)?;
    let unsigned = pb::DisputeRequest {
        outsourcer_signature: Vec::new(),
        ..r.clone()
    };
    auth::verify(
        auth::DISPUTE_TAG,
        &unsigned.encode_to_vec(),
        &r.outsourcer_signature,
        &f.outsourcer,
    )
    .map_err(|e| {
        ServiceError::permission_denied(format!(
            "only the terms' outsourcer may dispute this escrow ({e})"
        ))
    })?;
    if let Evidence::Answer(ans) = &f.evidence {
        ans.binding.check(&f.outsourcer, &f.calculator)?;
    }
    if let Evidence::Unresponsive(u) = &f.evidence {
        u.check(&f.outsourcer, &f.calculator)?;
        // C_i has until the deadline O signed to deliver: O cannot accuse
        // it of silence while it computes (and take its deposit).
        let tip = a.chain.tip_height().await?;
        if tip < u.result_deadline {
            return Err(ServiceError::precondition(format!(
                "too early: the calculator has until height {} to deliver (tip {tip})",
                u.result_deadline
            )));
        }
    }
    let bytes = r.encode_to_vec();
    let id = hex::encode(&sha256(&bytes)[..16]);
    let store = a.store.as_ref();
    let _guard = a.lock.lock().await;
    let (rec, version) = match record::load(store, &id)? {
        Some((rec, v)) if rec.state == State::Checking => (rec, v),
        Some((rec, v)) => return s.resume(a, rec, v).await,
        None => {
            if let Some((other, v)) = record::all(store)?
                .into_iter()
                .find(|(o, _)| s.answered_by(&f, o))
            {
                tracing::info!(dispute = %other.dispute_id, "returning the existing dispute");
                return s.resume(a, other, v).await;
            }
            let settlement = s.admit(a, &f).await?;
            let now = a.now_ms();
            let rec = DisputeRecord {
                dispute_id: id.clone(),
                job_id: hex::encode(f.job_id),
                calculator_index: f.index,
                request_hex: hex::encode(&bytes),
                state: State::Checking,
                fault: None,
                reject_reason: 0,
                detail: String::new(),
                settlement,
                created_unix_ms: now,
                updated_unix_ms: now,
                pinned_commitment: None,
                answered_result: None,
            };
            // Persist the evidence before deciding anything.
            let v = record::save(store, &rec, None)?;
            tracing::info!(dispute = %id, "dispute stored");
            (rec, v)
        }
    };
    decide_and_act(a, s, &f, rec, version).await
}

async fn decide_and_act<S: DisputeSettlement>(
    a: &Arbiter,
    s: &S,
    f: &Filing<S::Detail>,
    mut rec: DisputeRecord,
    version: u64,
) -> Result<DisputeRecord> {
    if let Evidence::Unresponsive(_) = &f.evidence {
        // Decided by asking C_i, in the driver (`unresponsive`).
        rec.state = State::AwaitingCalculator;
        rec.updated_unix_ms = a.now_ms();
        record::save(a.store.as_ref(), &rec, Some(version))?;
        tracing::info!(dispute = %rec.dispute_id, "unresponsive: asking the calculator");
        return Ok(rec);
    }
    let verdict = if let Evidence::Answer(_) = &f.evidence {
        s.judge_answer(a, f).await?.map(|v| (v, None))
    } else {
        match s.precheck(a, f).await? {
            Some((reason, why)) => Ok((Verdict::Rejected { reason }, Some(why))),
            None => f.evidence.decide(S::CHAIN, f).map(|v| (v, None)),
        }
    };
    match verdict {
        Ok((Verdict::Rejected { reason }, why)) => {
            rec.state = State::Rejected;
            rec.reject_reason = reject_code(&reason) as i32;
            rec.detail = why.unwrap_or_else(|| format!("{reason:?}"));
        }
        Ok((Verdict::CalculatorAtFault { reason }, _)) => {
            rec.fault = Some(fault(&reason));
            s.on_fault(a, f, &mut rec).await?;
        }
        Err(e) => {
            rec.state = State::Rejected;
            rec.reject_reason = match e {
                bapay_core::Error::WorkTooLarge { .. } => pb::RejectReason::TooMuchWork,
                _ => pb::RejectReason::Unspecified,
            } as i32;
            rec.detail = format!("evidence could not be checked: {e}");
        }
    }
    rec.updated_unix_ms = a.now_ms();
    let version = record::save(a.store.as_ref(), &rec, Some(version))?;
    tracing::info!(dispute = %rec.dispute_id, state = ?rec.state, "dispute decided");
    s.resume(a, rec, version).await
}
