//! `Dispute` on Ethereum (`EthereumDispute` + `WrongResult` evidence).
//!
//! 1. Validate (INVALID_ARGUMENT naming the field): 32-byte job id, the
//!    Ethereum settlement, the deployment, every job field (20-byte
//!    addresses, decimal wei < 2^128, 32-byte group / terms), the 32-byte
//!    x-only `calculator_key`, m_i, the signed commitment, r_i, 1..=10,000
//!    openings. FAILED_PRECONDITION (nothing stored): Ethereum not
//!    configured, a deployment other than the configured one, job.arbiter
//!    not T's address.
//! 2. Under the decision lock: a repeat (same bytes) returns the stored
//!    record (resending a stored, unmined `judge`; deciding a CHECKING one
//!    left by a crash). A dispute of the same contract job id that is
//!    CHECKING / JUDGE_SENT / JUDGED is returned unchanged: T sends at most
//!    one `judge` per contract job id. A new filing must pass the chain
//!    checks (FAILED_PRECONDITION, nothing stored): the chain id, block
//!    time < t - `ethereum_margin_seconds`, `state(id)` a committed root
//!    (not 0 / 1), `trappedTo(group)` zero.
//! 3. Stored (CHECKING), then decided: the on-chain root must be the
//!    commitment's (else REJECTED, COMMITMENT_MISMATCH); the calculator key
//!    must be job.worker's (one of its two lifts hashes to job.worker; else
//!    REJECTED, BAD_COMMITMENT_SIGNATURE); then [`verdict::decide`] with
//!    chain Ethereum. AT_FAULT: `judge(job)` is signed (after a `Call`
//!    check; a revert → EXPIRED), **stored** with its nonce (JUDGE_SENT),
//!    sent; a successful receipt → JUDGED, a reverted one → EXPIRED.

use alloy::primitives::{Address, B256, U256};
use bapay_core::commitment::{sha256, Chain as CommitChain};
use bapay_core::sampling::MAX_SAMPLE_SIZE;
use bapay_core::verdict::{self, RejectReason, Verdict};
use bapay_daemon::eth::judge_calldata;
use bapay_fairpay::JobParams;
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::dispute_request::{Evidence, Settlement};
use bapay_proto::common::v1::Chain;
use bitcoin::secp256k1::{Parity, PublicKey, XOnlyPublicKey};
use prost::Message;

use crate::codec;
use crate::error::{ArbiterError, Result};
use crate::record::{self, DisputeRecord, State};
use crate::rpc::dispute::{fault, reject_code};
use crate::service::Arbiter;
use bapay_daemon::codec::{address, b256, wei};

/// A validated Ethereum dispute.
struct Checked {
    job_id: [u8; 32],
    contract: Address,
    job: JobParams,
    contract_job_id: B256,
    calculator: XOnlyPublicKey,
}

/// Handles an Ethereum Dispute.
pub async fn handle(a: &Arbiter, r: pb::DisputeRequest) -> Result<pb::DisputeResponse> {
    let c = validate(a, &r)?;
    let _guard = a.lock.lock().await;
    let rec = file(a, &r, &c).await?;
    Ok(pb::DisputeResponse {
        dispute: Some(rec.to_proto()),
    })
}

fn validate(a: &Arbiter, r: &pb::DisputeRequest) -> Result<Checked> {
    let job_id = codec::bytes32("job_id", &r.job_id)?;
    let e = match &r.settlement {
        Some(Settlement::Ethereum(e)) => e,
        Some(Settlement::Bitcoin(_)) => {
            return Err(ArbiterError::invalid(
                "settlement",
                "bitcoin settlement for chain ETHEREUM",
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
    let d = e
        .deployment
        .as_ref()
        .ok_or_else(|| ArbiterError::invalid("ethereum.deployment", "missing"))?;
    let contract = address("ethereum.deployment.contract", &d.contract)?;
    let j = e
        .job
        .as_ref()
        .ok_or_else(|| ArbiterError::invalid("ethereum.job", "missing"))?;
    let job = JobParams {
        outsourcer: address("ethereum.job.outsourcer", &j.outsourcer)?,
        worker: address("ethereum.job.worker", &j.worker)?,
        arbiter: address("ethereum.job.arbiter", &j.arbiter)?,
        commitDeadline: j.commit_deadline,
        payoutTime: j.payout_time,
        reward: wei("ethereum.job.reward_wei", &j.reward_wei)?,
        bond: wei("ethereum.job.bond_wei", &j.bond_wei)?,
        group: b256("ethereum.job.group", &j.group)?,
        terms: b256("ethereum.job.terms", &j.terms)?,
    };
    let calculator = codec::xonly("ethereum.calculator_key", &e.calculator_key)?;
    codec::sub_task("sub_task", &r.sub_task)?;
    codec::commitment(
        "wrong_result.commitment",
        CommitChain::Ethereum,
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

    let Some((configured, _)) = a.eth_deployment() else {
        return Err(ArbiterError::FailedPrecondition(
            "chain: Ethereum disputes are not served by this arbiter (chain not configured)".into(),
        ));
    };
    if d.chain_id != a.config.ethereum.chain_id || contract != configured {
        return Err(ArbiterError::FailedPrecondition(format!(
            "deployment {}:{contract} is not the configured {}:{configured}",
            d.chain_id, a.config.ethereum.chain_id
        )));
    }
    let me = a.key.eth_address();
    if job.arbiter != me {
        return Err(ArbiterError::FailedPrecondition(format!(
            "ethereum.job.arbiter is {}, not this arbiter ({me})",
            job.arbiter
        )));
    }
    Ok(Checked {
        job_id,
        contract,
        contract_job_id: bapay_fairpay::job_id(&job),
        job,
        calculator,
    })
}

/// Chain checks of a new filing; returns the committed root.
async fn check_chain(a: &Arbiter, c: &Checked) -> Result<B256> {
    let (_, eth) = a
        .eth_deployment()
        .ok_or_else(|| ArbiterError::FailedPrecondition("Ethereum not configured".into()))?;
    let (chain_id, now) = eth.chain_time().await?;
    if chain_id != a.config.ethereum.chain_id {
        return Err(ArbiterError::FailedPrecondition(format!(
            "the chain-adapter's chain id {chain_id} is not {}",
            a.config.ethereum.chain_id
        )));
    }
    let last = c
        .job
        .payoutTime
        .saturating_sub(a.config.ethereum_margin_seconds);
    if now >= last {
        return Err(ArbiterError::FailedPrecondition(format!(
            "too late: block time {now} >= t - margin = {last}"
        )));
    }
    let root = eth.state(c.contract, c.contract_job_id).await?;
    if root == B256::ZERO || root == B256::with_last_byte(1) {
        return Err(ArbiterError::FailedPrecondition(format!(
            "FairPay job {} is not committed (state {root})",
            c.contract_job_id
        )));
    }
    if eth.trapped_to(c.contract, c.job.group).await? != Address::ZERO {
        return Err(ArbiterError::FailedPrecondition(
            "the job's group is trapped".into(),
        ));
    }
    Ok(root)
}

/// Finds or creates the record and takes it as far as it goes.
async fn file(a: &Arbiter, r: &pb::DisputeRequest, c: &Checked) -> Result<DisputeRecord> {
    let bytes = r.encode_to_vec();
    let id = hex::encode(&sha256(&bytes)[..16]);
    let store = a.store.as_ref();
    let escrow = hex::encode(c.contract_job_id);
    let (rec, version, root) = match record::load(store, &id)? {
        Some((rec, v)) if rec.state == State::JudgeSent => return send_judge(a, rec, v).await,
        Some((rec, _)) if rec.state != State::Checking => return Ok(rec),
        Some((rec, v)) => {
            let (_, eth) = a.eth_deployment().ok_or_else(|| {
                ArbiterError::FailedPrecondition("Ethereum not configured".into())
            })?;
            let root = eth.state(c.contract, c.contract_job_id).await?;
            (rec, v, root)
        }
        None => {
            for (other, _) in record::all(store)? {
                let taken = matches!(
                    other.state,
                    State::Checking | State::JudgeSent | State::Judged
                );
                if other.escrow_outpoint == escrow && taken {
                    tracing::info!(dispute = %other.dispute_id, "returning the existing dispute");
                    return Ok(other);
                }
            }
            let root = check_chain(a, c).await?;
            let now = a.now_ms();
            let rec = DisputeRecord {
                dispute_id: id.clone(),
                job_id: hex::encode(c.job_id),
                chain: Chain::Ethereum as i32,
                calculator_index: r.calculator_index,
                escrow_outpoint: escrow,
                timeout_height: 0,
                request_hex: hex::encode(&bytes),
                state: State::Checking,
                fault: None,
                reject_reason: 0,
                detail: String::new(),
                redeem_tx_hex: None,
                signature_hex: None,
                payout_unix: c.job.payoutTime,
                judge_tx: None,
                judge_block: 0,
                created_unix_ms: now,
                updated_unix_ms: now,
            };
            // Persist the evidence before deciding anything.
            let v = record::save(store, &rec, None)?;
            tracing::info!(dispute = %id, "Ethereum dispute stored");
            (rec, v, root)
        }
    };
    decide_and_act(a, r, c, rec, version, root).await
}

async fn decide_and_act(
    a: &Arbiter,
    r: &pb::DisputeRequest,
    c: &Checked,
    mut rec: DisputeRecord,
    version: u64,
    root: B256,
) -> Result<DisputeRecord> {
    let store = a.store.as_ref();
    let (verdict, detail) = decide(a, r, c, root)?;
    match verdict {
        Ok(Verdict::Rejected { reason }) => {
            rec.state = State::Rejected;
            rec.reject_reason = reject_code(&reason) as i32;
            rec.detail = detail.unwrap_or_else(|| format!("{reason:?}"));
        }
        Ok(Verdict::CalculatorAtFault { reason }) => {
            rec.fault = Some(fault(&reason));
            let (contract, eth) = a.eth_deployment().ok_or_else(|| {
                ArbiterError::FailedPrecondition("Ethereum not configured".into())
            })?;
            match eth
                .sign_next(contract, U256::ZERO, judge_calldata(&c.job))
                .await
            {
                Ok(tx) => {
                    rec.state = State::JudgeSent;
                    rec.judge_tx = Some(tx);
                }
                Err(bapay_daemon::EthError::Reverted(why)) => {
                    rec.state = State::Expired;
                    rec.detail = format!("judge would revert: {why}");
                }
                Err(e) => return Err(e.into()),
            }
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
    let version = record::save(store, &rec, Some(version))?;
    tracing::info!(dispute = %rec.dispute_id, state = ?rec.state, "Ethereum dispute decided");
    if rec.state == State::JudgeSent {
        return send_judge(a, rec, version).await;
    }
    Ok(rec)
}

/// Sends the stored `judge` (same bytes and nonce) and records the outcome.
/// An unreachable adapter leaves it JUDGE_SENT (a repeat resends).
async fn send_judge(a: &Arbiter, mut rec: DisputeRecord, version: u64) -> Result<DisputeRecord> {
    let (Some(tx), Some((_, eth))) = (rec.judge_tx.clone(), a.eth_deployment()) else {
        return Ok(rec);
    };
    let receipt = match eth.send_signed(&tx).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(dispute = %rec.dispute_id, error = %e, "judge not sent yet");
            return Ok(rec);
        }
    };
    rec.judge_block = receipt.block_number;
    if receipt.success {
        rec.state = State::Judged;
    } else {
        rec.state = State::Expired;
        rec.detail = format!("judge {} reverted", receipt.hash);
    }
    rec.updated_unix_ms = a.now_ms();
    record::save(a.store.as_ref(), &rec, Some(version))?;
    tracing::info!(dispute = %rec.dispute_id, state = ?rec.state, tx = %receipt.hash, "judge answered");
    Ok(rec)
}

/// Is `key` the x-only form of the key whose Ethereum address is `worker`?
pub fn key_is_worker(key: &XOnlyPublicKey, worker: Address) -> bool {
    [Parity::Even, Parity::Odd].into_iter().any(|p| {
        let full = PublicKey::from_x_only_public_key(*key, p);
        bapay_daemon::keys::eth_address(&full) == worker
    })
}

/// The verdict (and a detail for T's own rejections): the on-chain root
/// and the key binding first, then core.
fn decide(
    a: &Arbiter,
    r: &pb::DisputeRequest,
    c: &Checked,
    root: B256,
) -> Result<(bapay_core::Result<Verdict>, Option<String>)> {
    let Some(Evidence::WrongResult(w)) = &r.evidence else {
        return Err(ArbiterError::Internal(
            "validated request lost its evidence".into(),
        ));
    };
    let commitment = codec::commitment(
        "wrong_result.commitment",
        CommitChain::Ethereum,
        w.commitment.as_ref(),
    )?;
    if B256::from(commitment.commitment.root.0) != root {
        let reason = RejectReason::CommitmentMismatch {
            field: verdict::CommitmentField::Result,
        };
        let why = format!("the commitment's root is not the on-chain root {root}");
        return Ok((Ok(Verdict::Rejected { reason }), Some(why)));
    }
    if !key_is_worker(&c.calculator, c.job.worker) {
        let reason = RejectReason::BadCommitmentSignature;
        let why = "calculator_key is not job.worker's key".to_string();
        return Ok((Ok(Verdict::Rejected { reason }), Some(why)));
    }
    let sub_task = codec::sub_task("sub_task", &r.sub_task)?;
    let openings = codec::openings("wrong_result.openings", &w.openings)?;
    let v = verdict::decide(&verdict::Dispute {
        chain: CommitChain::Ethereum,
        job_id: c.job_id,
        index: r.calculator_index,
        calculator: &c.calculator,
        sub_task: &sub_task,
        commitment: &commitment,
        result: &w.result,
        openings: &openings,
        claimed_indices: &[],
        sample_size: a.config.sample_size,
    });
    Ok((v, None))
}
