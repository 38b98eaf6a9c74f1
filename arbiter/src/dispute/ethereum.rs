//! Ethereum disputes (PROTOCOL.md §5 "judge"): the escrow is a FairPay job
//! and T's verdict is a `judge(job)` transaction it signs and sends itself.
//!
//! - Validate (INVALID_ARGUMENT naming the field): the deployment, every
//!   job field (20-byte addresses, decimal wei < 2^128, 32-byte group /
//!   terms), the 32-byte x-only `calculator_key` and `outsourcer_key`; the
//!   latter must be job.outsourcer's key (PERMISSION_DENIED), and it must
//!   have signed the request (`crate::dispute::file`). FAILED_PRECONDITION
//!   (nothing stored): Ethereum not configured, another deployment than
//!   the configured one, job.arbiter not T's address.
//! - One `judge` per contract job id: a CHECKING / JUDGE_SENT / JUDGED
//!   dispute of the same job answers a new filing.
//! - Admit: the chain id, block time < t - `ethereum_margin_seconds`,
//!   `state(id)` a committed root (not 0 / 1), `trappedTo(group)` zero.
//! - Before the core verdict: the on-chain root must be the commitment's
//!   (else REJECTED, COMMITMENT_MISMATCH) and the calculator key must be
//!   job.worker's (else REJECTED, BAD_COMMITMENT_SIGNATURE).
//! - `ChallengeAnswer` evidence (a wrong answer to O's on-chain
//!   challenge): no commitment; T reads the job's `Challenged` and
//!   `Responded` logs itself (`bapay_daemon::eth::challenge_answer`),
//!   recomputes the positions from the seed and judges the leaves against
//!   m_i (`core::verdict::decide_answer`); m_i is bound to C_i by O's
//!   signed offer and C_i's acceptance (evidence.rs). No answer on chain:
//!   REJECTED (NO_ANSWER_ON_CHAIN).
//! - A fault: `judge(job)` is signed (after a `Call` check; a revert →
//!   EXPIRED), stored with its nonce (JUDGE_SENT), then sent; a successful
//!   receipt → JUDGED, a reverted one → EXPIRED. An unreachable adapter
//!   leaves it JUDGE_SENT: a repeat of the filing resends the same bytes.

use alloy::primitives::{Address, B256, U256};
use bapay_core::commitment::Chain as CommitChain;
use bapay_core::verdict::{decide_answer, CommitmentField, RejectReason, Verdict};
use bapay_daemon::eth::{challenge_answer, judge_calldata};
use bapay_daemon::{codec, EthChain, ServiceError};
use bapay_fairpay::{key_is_worker, JobParams};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::dispute_request::Settlement;
use std::sync::Arc;

use super::{DisputeSettlement, Evidence, Filing};
use crate::record::{DisputeRecord, EthereumRecord, SettlementRecord, State};
use crate::service::Arbiter;
use crate::Result;

/// The Ethereum settlement of disputes.
#[derive(Debug, Clone, Copy)]
pub struct Ethereum;

/// What an Ethereum filing keeps for later.
#[derive(Debug)]
pub struct Detail {
    contract: Address,
    job: JobParams,
    contract_job_id: B256,
}

fn chain(a: &Arbiter) -> Result<(Address, Arc<dyn EthChain>)> {
    a.eth_deployment().ok_or_else(|| {
        ServiceError::precondition(
            "chain: Ethereum disputes are not served by this arbiter (chain not configured)",
        )
    })
}

#[tonic::async_trait]
impl DisputeSettlement for Ethereum {
    type Detail = Detail;
    const CHAIN: CommitChain = CommitChain::Ethereum;

    fn validate(
        &self,
        a: &Arbiter,
        r: &pb::DisputeRequest,
        evidence: Evidence,
    ) -> Result<Filing<Detail>> {
        let job_id = codec::bytes32("job_id", &r.job_id)?;
        let e = match &r.settlement {
            Some(Settlement::Ethereum(e)) => e,
            Some(Settlement::Bitcoin(_)) => {
                return Err(ServiceError::invalid(
                    "settlement",
                    "bitcoin settlement for chain ETHEREUM",
                ))
            }
            None => return Err(ServiceError::invalid("settlement", "missing")),
        };
        let d = codec::required("ethereum.deployment", e.deployment.as_ref())?;
        let contract = codec::address("ethereum.deployment.contract", &d.contract)?;
        let job = codec::eth_job(
            "ethereum.job",
            codec::required("ethereum.job", e.job.as_ref())?,
        )?;
        let calculator = codec::xonly("ethereum.calculator_key", &e.calculator_key)?;
        let outsourcer = codec::xonly("outsourcer_key", &r.outsourcer_key)?;
        if !key_is_worker(&outsourcer, job.outsourcer) {
            return Err(ServiceError::permission_denied(
                "outsourcer_key is not job.outsourcer's key: only the job's outsourcer may dispute",
            ));
        }
        let (configured, _) = chain(a)?;
        let chain_id = a.config.ethereum.chain_id;
        if d.chain_id != chain_id || contract != configured {
            return Err(ServiceError::precondition(format!(
                "deployment {}:{contract} is not the configured {chain_id}:{configured}",
                d.chain_id
            )));
        }
        let me = a.key.eth_address();
        if job.arbiter != me {
            return Err(ServiceError::precondition(format!(
                "ethereum.job.arbiter is {}, not this arbiter ({me})",
                job.arbiter
            )));
        }
        let contract_job_id = bapay_fairpay::job_id(&job);
        Ok(Filing {
            job_id,
            index: r.calculator_index,
            calculator,
            outsourcer,
            escrow: hex::encode(contract_job_id),
            evidence,
            detail: Detail {
                contract,
                job,
                contract_job_id,
            },
        })
    }

    fn answered_by(&self, f: &Filing<Detail>, other: &DisputeRecord) -> bool {
        other.escrow() == f.escrow
            && matches!(
                other.state,
                State::Checking | State::JudgeSent | State::Judged
            )
    }

    async fn admit(&self, a: &Arbiter, f: &Filing<Detail>) -> Result<SettlementRecord> {
        let c = &f.detail;
        let (_, eth) = chain(a)?;
        let (chain_id, now) = eth.chain_time().await?;
        if chain_id != a.config.ethereum.chain_id {
            return Err(ServiceError::precondition(format!(
                "the chain-adapter's chain id {chain_id} is not {}",
                a.config.ethereum.chain_id
            )));
        }
        let (t, margin) = (c.job.payoutTime, a.config.ethereum_margin_seconds);
        if bapay_core::timing::too_late_to_dispute(now, t, margin) {
            let last = t.saturating_sub(margin);
            return Err(ServiceError::precondition(format!(
                "too late: block time {now} >= t - margin = {last}"
            )));
        }
        let root = eth.state(c.contract, c.contract_job_id).await?;
        if root == B256::ZERO || root == B256::with_last_byte(1) {
            return Err(ServiceError::precondition(format!(
                "FairPay job {} is not committed (state {root})",
                c.contract_job_id
            )));
        }
        if eth.trapped_to(c.contract, c.job.group).await? != Address::ZERO {
            return Err(ServiceError::precondition("the job's group is trapped"));
        }
        Ok(SettlementRecord::Ethereum(EthereumRecord {
            contract_job_id: f.escrow.clone(),
            payout_unix: c.job.payoutTime,
            judge_tx: None,
            judge_block: 0,
        }))
    }

    async fn precheck(
        &self,
        a: &Arbiter,
        f: &Filing<Detail>,
    ) -> Result<Option<(RejectReason, String)>> {
        let c = &f.detail;
        let (_, eth) = chain(a)?;
        let root = eth.state(c.contract, c.contract_job_id).await?;
        let Some(w) = f.evidence.wrong() else {
            return Err(ServiceError::unimplemented(
                "unresponsive evidence on Ethereum",
            ));
        };
        if B256::from(w.commitment.commitment.root.0) != root {
            let reason = RejectReason::CommitmentMismatch {
                field: CommitmentField::Result,
            };
            let why = format!("the commitment's root is not the on-chain root {root}");
            return Ok(Some((reason, why)));
        }
        if !key_is_worker(&f.calculator, c.job.worker) {
            let why = "calculator_key is not job.worker's key".to_string();
            return Ok(Some((RejectReason::BadCommitmentSignature, why)));
        }
        Ok(None)
    }

    async fn judge_answer(
        &self,
        a: &Arbiter,
        f: &Filing<Detail>,
    ) -> Result<bapay_core::Result<Verdict>> {
        let Evidence::Answer(ans) = &f.evidence else {
            return Err(ServiceError::internal("dispute", "not an answer"));
        };
        let c = &f.detail;
        if !key_is_worker(&f.calculator, c.job.worker) {
            let reason = RejectReason::BadCommitmentSignature;
            return Ok(Ok(Verdict::Rejected { reason }));
        }
        let (_, eth) = chain(a)?;
        let id = c.contract_job_id;
        let got = challenge_answer(eth.as_ref(), c.contract, id, ans.from_block).await?;
        let Some(got) = got else {
            tracing::info!(job = %id, from = ans.from_block, "no answer to the challenge on chain");
            let reason = RejectReason::NoAnswerOnChain;
            return Ok(Ok(Verdict::Rejected { reason }));
        };
        let positions = bapay_fairpay::positions(got.seed, &ans.audit);
        Ok(decide_answer(
            &ans.binding.sub_task,
            &positions,
            &got.leaves,
        ))
    }

    async fn on_fault(
        &self,
        a: &Arbiter,
        f: &Filing<Detail>,
        rec: &mut DisputeRecord,
    ) -> Result<()> {
        let (contract, eth) = chain(a)?;
        let SettlementRecord::Ethereum(e) = &mut rec.settlement else {
            return Err(ServiceError::internal("dispute", "not an Ethereum record"));
        };
        match eth
            .sign_next(contract, U256::ZERO, judge_calldata(&f.detail.job))
            .await
        {
            Ok(tx) => {
                rec.state = State::JudgeSent;
                e.judge_tx = Some(tx);
            }
            Err(bapay_daemon::EthError::Reverted(why)) => {
                rec.state = State::Expired;
                rec.detail = format!("judge would revert: {why}");
            }
            Err(err) => return Err(err.into()),
        }
        Ok(())
    }

    async fn resume(
        &self,
        a: &Arbiter,
        mut rec: DisputeRecord,
        version: u64,
    ) -> Result<DisputeRecord> {
        let SettlementRecord::Ethereum(e) = &mut rec.settlement else {
            return Ok(rec);
        };
        let (State::JudgeSent, Some(tx), Some((_, eth))) =
            (rec.state, e.judge_tx.clone(), a.eth_deployment())
        else {
            return Ok(rec);
        };
        let receipt = match eth.send_signed(&tx).await {
            Ok(r) => r,
            Err(err) => {
                tracing::warn!(dispute = %rec.dispute_id, error = %err, "judge not sent yet");
                return Ok(rec);
            }
        };
        e.judge_block = receipt.block_number;
        if receipt.success {
            rec.state = State::Judged;
        } else {
            rec.state = State::Expired;
            rec.detail = format!("judge {} reverted", receipt.hash);
        }
        rec.updated_unix_ms = a.now_ms();
        crate::record::save(a.store.as_ref(), &rec, Some(version))?;
        tracing::info!(dispute = %rec.dispute_id, state = ?rec.state, tx = %receipt.hash, "judge answered");
        Ok(rec)
    }
}
