//! O's check of a calculator's answer to its on-chain challenge, for every
//! kind but search (FairPay rules on a search answer itself). Why: FairPay
//! checks only that the answered leaves are in the committed tree, so a
//! calculator that committed a wrong result could answer with its wrong
//! leaves and be paid. The leaves are only in the chain's logs
//! (`bapay_daemon::eth::challenge_answer`); O judges them with T's own rule
//! (`bapay_core::verdict::decide_answer`: each leaf against the honest
//! recomputation of m_i, linear: row j of A x_i).
//! - Every leaf right → DISPUTE_REJECTED: the calculator keeps its pay at
//!   t, O's deposit paid its gas.
//! - A wrong leaf → `ChallengeAnswer` evidence to T (O's signed offer,
//!   C_i's acceptance, the challenge's block): T reads the same logs,
//!   judges the same way and sends `judge` (the slot follows T from then).
//! - The answer not (yet) in the logs: retried on the next pass until
//!   t - T's margin, then given up (the calculator is paid at t).

use bapay_core::verdict::{decide_answer, Verdict};
use bapay_daemon::eth::challenge_answer;
use bapay_daemon::ServiceError;
use bapay_proto::arbiter::v1 as arb;

use crate::record::{JobRecord, Slot, SlotState};
use crate::service::{set_slot, Outsourcer};
use crate::Result;

/// Seconds before t from which an answer missing from the logs is given
/// up (T's default `ethereum_margin_seconds`).
const GIVE_UP_SECONDS: u64 = 60;

/// Judges the answer to the closed challenge of slot `s`.
pub async fn judge(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let (sender, contract) = o.eth()?;
    let i = s.index;
    let slot = rec.slot_job(i as usize)?;
    let from = s.eth()?.challenge_block;
    let got = challenge_answer(sender, contract, slot.id, from).await?;
    let why = match got {
        Some(a) => {
            let positions = bapay_fairpay::positions(a.seed, &slot.audit);
            match decide_answer(&s.sub_task()?, &positions, &a.leaves) {
                Ok(Verdict::CalculatorAtFault { reason }) => {
                    tracing::info!(slot = i, ?reason, tx = %a.transaction_hash, "wrong answer to the challenge; filing with T");
                    return to_arbiter(o, rec, s, from).await;
                }
                Ok(Verdict::Rejected { .. }) => "answered the on-chain challenge in time, every answered leaf right (O recomputed each): keeps its pay at t; O's deposit paid its gas".to_string(),
                Err(e) => format!("answered the on-chain challenge; O could not check the answer ({e}): keeps its pay at t"),
            }
        }
        None => {
            let (_, now) = sender.chain_time().await?;
            if now.saturating_add(GIVE_UP_SECONDS) < slot.job.payoutTime {
                tracing::info!(
                    slot = i,
                    from,
                    "the answer to the challenge is not in the logs yet"
                );
                return Ok(());
            }
            "the challenge was answered, but the answer is not in the logs: keeps its pay at t"
                .to_string()
        }
    };
    o.update(&rec.job_id, |r| {
        Ok(vec![set_slot(r, i, SlotState::DisputeRejected, &why)])
    })
    .await
    .map(|_| ())
}

async fn to_arbiter(o: &Outsourcer, rec: &JobRecord, s: &Slot, from_block: u64) -> Result<()> {
    let a = s
        .acceptance
        .as_ref()
        .ok_or_else(|| ServiceError::internal("dispute", "no signed acceptance"))?;
    let (offer, acceptance_signature) = a.bytes()?;
    let evidence = arb::dispute_request::Evidence::ChallengeAnswer(arb::ChallengeAnswer {
        calculator_endpoint: a.endpoint.clone(),
        offer,
        acceptance_signature,
        from_block,
    });
    crate::driver::dispute::with_arbiter(o, rec, s, evidence).await
}
