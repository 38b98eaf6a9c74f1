//! `Dispute` (Bitcoin, `WrongResult` evidence): T's whole job.
//!
//! 1. Validate (INVALID_ARGUMENT naming the field): 32-byte job id, a known
//!    chain matching the settlement variant, the terms ([`codec::terms`]),
//!    `calculator_index < n`, the escrow outpoint, O's payout script, a fee
//!    rate >= 1 sat/vB, m_i, the signed commitment, r_i, 1..=10,000
//!    openings with 32-byte proof hashes. The terms must name T's key as
//!    arbiter (FAILED_PRECONDITION otherwise). T rebuilds Redeem_i from the
//!    terms (`build_redeem`); its fee must be <= `max_redeem_fee_sat`; a
//!    proposed Redeem_i must pass `check_redeem` (T then uses the rebuilt
//!    spend with O's fee, never O's bytes).
//! 2. Under the decision lock: a repeat of the same request (same bytes ->
//!    same dispute id) returns the stored record; a CHECKING record left by
//!    a crash is decided now. An AT_FAULT or CHECKING dispute of the same
//!    slot (job id, index) or an AT_FAULT dispute of the same escrow
//!    outpoint is returned unchanged, so T signs at most one Redeem_i per
//!    escrow. After a REJECTED dispute a new filing with other evidence is
//!    decided afresh. A new filing must pass the chain checks: tip < t -
//!    `bitcoin_margin_blocks`, the escrow transaction known with
//!    `finality_depth` confirmations and paying the terms' escrow script
//!    and the given value at the named vout, that output still unspent
//!    (FAILED_PRECONDITION, nothing stored; UNAVAILABLE if the
//!    chain-adapter is down).
//! 3. Store the request and the rebuilt Redeem_i in state CHECKING, run
//!    [`verdict::decide`] (m = `sample_size` from the config), then store
//!    REJECTED + reason, or sign input 0 (dispute leaf) with
//!    [`sign_escrow_input`] and store AT_FAULT + tx + signature before
//!    returning them.
//!
//! Ethereum disputes: [`crate::eth::dispute`].
//! Not yet: `Unresponsive` evidence (UNIMPLEMENTED); EXPIRED. A core error of `decide` after
//! the request was stored (e.g. the sample derivation) is stored as
//! REJECTED (`REJECT_REASON_UNSPECIFIED` / `TOO_MUCH_WORK`) with the error
//! as detail. Core rejections without a proto reason (SampleMismatch,
//! NotSampled) are reported as BAD_PROOF with the detail.

use bapay_core::commitment::sha256;
use bapay_core::escrow::{
    build_redeem, check_redeem, sign_escrow_input, EscrowOutput, EscrowSpend, EscrowUtxo,
};
use bapay_core::sampling::MAX_SAMPLE_SIZE;
use bapay_core::task::LeafFault;
use bapay_core::verdict::{self, FaultReason, RejectReason, Verdict};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::dispute_request::{Evidence, Settlement};
use bapay_proto::arbiter::v1::fault::Kind;
use bapay_proto::common::v1::Chain;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Txid};
use prost::Message;

use crate::codec;
use crate::error::{ArbiterError, Result};
use crate::record::{self, DisputeRecord, State, StoredFault};
use crate::service::Arbiter;

/// Handles Dispute.
pub async fn handle(a: &Arbiter, r: pb::DisputeRequest) -> Result<pb::DisputeResponse> {
    if Chain::try_from(r.chain) == Ok(Chain::Ethereum) {
        return crate::eth::dispute::handle(a, r).await;
    }
    let checked = validate(a, &r)?;
    let _guard = a.lock.lock().await;
    let rec = file(a, &r, &checked).await?;
    Ok(pb::DisputeResponse {
        dispute: Some(rec.to_proto()),
    })
}

/// A validated Bitcoin dispute.
struct Checked {
    job_id: [u8; 32],
    outpoint: OutPoint,
    timeout: u32,
    escrow_script: ScriptBuf,
    escrow_value: Amount,
    redeem: EscrowSpend,
}

fn validate(a: &Arbiter, r: &pb::DisputeRequest) -> Result<Checked> {
    let job_id = codec::bytes32("job_id", &r.job_id)?;
    match Chain::try_from(r.chain) {
        Ok(Chain::Bitcoin) => {}
        _ => return Err(ArbiterError::invalid("chain", "unknown chain")),
    }
    let b = match &r.settlement {
        Some(Settlement::Bitcoin(b)) => b,
        Some(Settlement::Ethereum(_)) => {
            return Err(ArbiterError::invalid(
                "settlement",
                "ethereum settlement for chain BITCOIN",
            ))
        }
        None => return Err(ArbiterError::invalid("settlement", "missing")),
    };
    let w = match &r.evidence {
        Some(Evidence::WrongResult(w)) => w,
        Some(Evidence::Unresponsive(_)) => {
            return Err(ArbiterError::Unimplemented("unresponsive evidence"))
        }
        None => return Err(ArbiterError::invalid("evidence", "no evidence")),
    };

    let params = codec::terms("bitcoin.terms", b.terms.as_ref())?;
    let me = a.key.x_only_public_key();
    if params.terms().arbiter != me {
        return Err(ArbiterError::FailedPrecondition(format!(
            "bitcoin.terms.arbiter is {}, not this arbiter ({me})",
            params.terms().arbiter
        )));
    }
    let index = r.calculator_index as usize;
    if index >= params.n() {
        return Err(ArbiterError::invalid(
            "calculator_index",
            format!("{index} >= n = {}", params.n()),
        ));
    }
    let escrow = b
        .escrow
        .as_ref()
        .ok_or_else(|| ArbiterError::invalid("bitcoin.escrow", "missing"))?;
    let txid: Txid = escrow
        .txid
        .parse()
        .map_err(|e| ArbiterError::invalid("bitcoin.escrow.txid", e))?;
    let outpoint = OutPoint {
        txid,
        vout: escrow.vout,
    };
    let utxo = EscrowUtxo {
        outpoint,
        value: Amount::from_sat(escrow.value_sat),
    };
    if b.outsourcer_payout_script.is_empty() {
        return Err(ArbiterError::invalid(
            "bitcoin.outsourcer_payout_script",
            "empty",
        ));
    }
    let payout = ScriptBuf::from_bytes(b.outsourcer_payout_script.clone());
    let rate = b.fee_rate_sat_per_vb;
    if !rate.is_finite() || !(1.0..=1_000_000.0).contains(&rate) {
        return Err(ArbiterError::invalid(
            "bitcoin.fee_rate_sat_per_vb",
            format!("{rate} not in 1..=1000000"),
        ));
    }
    let fee_rate = FeeRate::from_sat_per_kwu((rate * 250.0).ceil() as u64);
    let max_fee = Amount::from_sat(a.config.max_redeem_fee_sat);
    let built = build_redeem(&params, index, utxo, payout.clone(), fee_rate)
        .map_err(|e| ArbiterError::invalid("bitcoin", e))?;
    let redeem = if b.proposed_redeem_tx.is_empty() {
        if built.fee > max_fee {
            return Err(ArbiterError::invalid(
                "bitcoin.fee_rate_sat_per_vb",
                format!("Redeem_i fee {} above T's maximum {max_fee}", built.fee),
            ));
        }
        built
    } else {
        let tx = codec::transaction("bitcoin.proposed_redeem_tx", &b.proposed_redeem_tx)?;
        let out: Amount = tx.output.iter().map(|o| o.value).sum();
        let mut proposal = built;
        proposal.fee = utxo.value.checked_sub(out).ok_or_else(|| {
            ArbiterError::invalid("bitcoin.proposed_redeem_tx", "outputs exceed the escrow")
        })?;
        proposal.tx = tx;
        check_redeem(&params, index, utxo, &proposal, &payout, max_fee)
            .map_err(|e| ArbiterError::invalid("bitcoin.proposed_redeem_tx", e))?
    };

    // The evidence must at least parse; whether it proves a fault is the verdict.
    codec::sub_task("sub_task", &r.sub_task)?;
    codec::commitment(
        "wrong_result.commitment",
        bapay_core::commitment::Chain::Bitcoin,
        w.commitment.as_ref(),
    )?;
    if w.openings.is_empty() {
        return Err(ArbiterError::invalid("wrong_result.openings", "no opening"));
    }
    if w.openings.len() > MAX_SAMPLE_SIZE as usize {
        return Err(ArbiterError::invalid(
            "wrong_result.openings",
            format!("{} openings, at most {MAX_SAMPLE_SIZE}", w.openings.len()),
        ));
    }
    codec::openings("wrong_result.openings", &w.openings)?;
    let escrow_script = EscrowOutput::new(&params, index)
        .map_err(|e| ArbiterError::invalid("bitcoin.terms", e))?
        .script_pubkey();
    Ok(Checked {
        job_id,
        outpoint,
        timeout: params.terms().timeout,
        escrow_script,
        escrow_value: utxo.value,
        redeem,
    })
}

/// The chain checks of a new dispute: before t - margin, and the escrow
/// transaction at depth paying the terms' script and the given value at the
/// named vout. FAILED_PRECONDITION otherwise (nothing stored).
async fn check_chain(a: &Arbiter, c: &Checked) -> Result<()> {
    let tip = a.chain.tip_height().await?;
    let last = u64::from(c.timeout).saturating_sub(a.config.bitcoin_margin_blocks);
    if tip >= last {
        return Err(ArbiterError::FailedPrecondition(format!(
            "too late: tip {tip} >= t - margin = {last}"
        )));
    }
    let txid = c.outpoint.txid.to_string();
    let status = a.chain.tx_status(&txid).await?.ok_or_else(|| {
        ArbiterError::FailedPrecondition(format!("escrow transaction {txid} is not on chain"))
    })?;
    if status.confirmations < a.config.finality_depth {
        return Err(ArbiterError::FailedPrecondition(format!(
            "escrow transaction {txid} has {} confirmations, T needs {}",
            status.confirmations, a.config.finality_depth
        )));
    }
    let tx: bitcoin::Transaction = bitcoin::consensus::deserialize(&status.raw_tx)
        .map_err(|e| ArbiterError::Chain(format!("escrow transaction {txid}: {e}")))?;
    match tx.output.get(c.outpoint.vout as usize) {
        Some(o) if o.script_pubkey == c.escrow_script && o.value == c.escrow_value => {}
        _ => {
            return Err(ArbiterError::FailedPrecondition(format!(
                "{} does not pay the terms' escrow script with {}",
                c.outpoint, c.escrow_value
            )))
        }
    }
    let unspent = a.chain.list_unspent(c.escrow_script.as_bytes()).await?;
    if !unspent.iter().any(|(op, _)| *op == c.outpoint) {
        return Err(ArbiterError::FailedPrecondition(format!(
            "escrow output {} is already spent",
            c.outpoint
        )));
    }
    Ok(())
}

/// Finds or creates the record, and decides it if it is still CHECKING.
async fn file(a: &Arbiter, r: &pb::DisputeRequest, c: &Checked) -> Result<DisputeRecord> {
    let bytes = r.encode_to_vec();
    let id = hex::encode(&sha256(&bytes)[..16]);
    let store = a.store.as_ref();
    let job_hex = hex::encode(c.job_id);
    let outpoint = c.outpoint.to_string();

    let (mut rec, mut version) = match record::load(store, &id)? {
        Some((rec, _)) if rec.state != State::Checking => return Ok(rec),
        Some((rec, v)) => (rec, v),
        None => {
            for (other, _) in record::all(store)? {
                let same_slot =
                    other.job_id == job_hex && other.calculator_index == r.calculator_index;
                let open_or_fault = matches!(other.state, State::Checking | State::AtFault);
                if (same_slot && open_or_fault)
                    || (other.escrow_outpoint == outpoint && other.state == State::AtFault)
                {
                    tracing::info!(dispute = %other.dispute_id, "returning the existing dispute");
                    return Ok(other);
                }
            }
            check_chain(a, c).await?;
            let now = a.now_ms();
            let rec = DisputeRecord {
                dispute_id: id.clone(),
                job_id: job_hex,
                chain: Chain::Bitcoin as i32,
                calculator_index: r.calculator_index,
                escrow_outpoint: outpoint,
                timeout_height: c.timeout,
                request_hex: hex::encode(&bytes),
                state: State::Checking,
                fault: None,
                reject_reason: 0,
                detail: String::new(),
                redeem_tx_hex: Some(bitcoin::consensus::encode::serialize_hex(&c.redeem.tx)),
                signature_hex: None,
                payout_unix: 0,
                judge_tx: None,
                judge_block: 0,
                created_unix_ms: now,
                updated_unix_ms: now,
            };
            // Persist the evidence before deciding anything.
            let v = record::save(store, &rec, None)?;
            tracing::info!(dispute = %id, "dispute stored");
            (rec, v)
        }
    };

    match decide(a, r)? {
        Ok(Verdict::Rejected { reason }) => {
            rec.state = State::Rejected;
            rec.reject_reason = reject_code(&reason) as i32;
            rec.detail = format!("{reason:?}");
        }
        Ok(Verdict::CalculatorAtFault { reason }) => {
            // The rebuilt Redeem_i is already stored (CHECKING); sign it and
            // store the signature before it leaves the process.
            let sig = sign_escrow_input(&c.redeem, 0, a.key.keypair())
                .map_err(|e| ArbiterError::Internal(format!("signing Redeem_i: {e}")))?;
            rec.state = State::AtFault;
            rec.fault = Some(fault(&reason));
            rec.redeem_tx_hex = Some(bitcoin::consensus::encode::serialize_hex(&c.redeem.tx));
            rec.signature_hex = Some(hex::encode(sig.serialize()));
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
    version = record::save(store, &rec, Some(version))?;
    tracing::info!(dispute = %rec.dispute_id, state = ?rec.state, version, "dispute decided");
    Ok(rec)
}

/// Runs the pure verdict on the (already validated) request.
fn decide(a: &Arbiter, r: &pb::DisputeRequest) -> Result<bapay_core::Result<Verdict>> {
    let Some(Settlement::Bitcoin(b)) = &r.settlement else {
        return Err(ArbiterError::Internal(
            "validated request lost its settlement".into(),
        ));
    };
    let Some(Evidence::WrongResult(w)) = &r.evidence else {
        return Err(ArbiterError::Internal(
            "validated request lost its evidence".into(),
        ));
    };
    let params = codec::terms("bitcoin.terms", b.terms.as_ref())?;
    let calculator = params
        .calculator(r.calculator_index as usize)
        .map_err(|e| ArbiterError::invalid("calculator_index", e))?;
    let sub_task = codec::sub_task("sub_task", &r.sub_task)?;
    let commitment = codec::commitment(
        "wrong_result.commitment",
        bapay_core::commitment::Chain::Bitcoin,
        w.commitment.as_ref(),
    )?;
    let openings = codec::openings("wrong_result.openings", &w.openings)?;
    Ok(verdict::decide(&verdict::Dispute {
        chain: bapay_core::commitment::Chain::Bitcoin,
        job_id: codec::bytes32("job_id", &r.job_id)?,
        index: r.calculator_index,
        calculator: &calculator,
        sub_task: &sub_task,
        commitment: &commitment,
        result: &w.result,
        openings: &openings,
        claimed_indices: &[],
        sample_size: a.config.sample_size,
    }))
}

pub(crate) fn reject_code(r: &RejectReason) -> pb::RejectReason {
    match r {
        RejectReason::BadCommitmentSignature => pb::RejectReason::BadCommitmentSignature,
        RejectReason::CommitmentMismatch { .. } => pb::RejectReason::CommitmentMismatch,
        RejectReason::SampleMismatch
        | RejectReason::NotSampled { .. }
        | RejectReason::BadProof { .. } => pb::RejectReason::BadProof,
        RejectReason::CalculatorHonest => pb::RejectReason::LeavesCorrect,
    }
}

pub(crate) fn fault(r: &FaultReason) -> StoredFault {
    let (kind, leaf_index, detail) = match r {
        FaultReason::WrongLeafCount {
            committed,
            expected,
        } => (
            Kind::BadResult,
            0,
            format!("committed {committed} leaves, the sub-task has {expected}"),
        ),
        FaultReason::BadResult { error } => (Kind::BadResult, 0, error.to_string()),
        FaultReason::WrongLeaf { index, fault } => {
            let kind = match fault {
                LeafFault::BadProof | LeafFault::Malformed { .. } => Kind::Malformed,
                LeafFault::WrongIndex { .. } => Kind::WrongIndex,
                LeafFault::WrongInput { .. } => Kind::WrongInput,
                LeafFault::WrongOutput => Kind::WrongOutput,
                LeafFault::HitNotClaimed => Kind::HitNotClaimed,
                LeafFault::FalseHitClaimed => Kind::FalseHitClaimed,
                LeafFault::ResultMismatch => Kind::ResultMismatch,
                LeafFault::NonCanonical => Kind::NonCanonical,
            };
            (kind, *index, fault.to_string())
        }
        FaultReason::FalseHit { error } => (Kind::FalseHitClaimed, 0, error.to_string()),
        FaultReason::WrongRow { row } => (
            Kind::WrongOutput,
            *row,
            format!("row {row} of the result differs from A x_i"),
        ),
    };
    StoredFault {
        kind: kind as i32,
        leaf_index,
        detail,
    }
}
