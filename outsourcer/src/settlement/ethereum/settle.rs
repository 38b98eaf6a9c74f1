//! The rest of an Ethereum job's life: following a dispute T took over
//! (T sends `judge` itself; O polls GetDispute until JUDGED → REDEEMED or
//! EXPIRED → DISPUTE_REJECTED), and AWAITING_PAYOUT: a job never committed
//! is refunded once the commit deadline has passed (`refund`, stored
//! first); a trapped group's jobs are TRAPPED (the reward is the trapper's, the bond stays the worker's); from
//! t on, a job that left the contract without a judgement was paid out to
//! its calculator.

use alloy::primitives::{Address, B256, U256};
use bapay_daemon::eth as deth;
use bapay_proto::arbiter::v1 as arb;

use super::open::send_stored;
use crate::record::{JobRecord, JobState, Slot, SlotState};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// DISPUTED: follows T's dispute until it is decided on chain.
pub async fn follow_dispute(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let Some(d) = &s.dispute else { return Ok(()) };
    let got = o
        .arbiter()?
        .get_dispute(arb::GetDisputeRequest {
            dispute_id: d.id.clone(),
        })
        .await;
    let d = match got {
        Ok(r) => r.into_inner().dispute.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(slot = s.index, error = %e.message(), "GetDispute failed; retrying");
            return Ok(());
        }
    };
    let i = s.index;
    let tx = hex::encode(&d.judge_tx_hash);
    match arb::DisputeState::try_from(d.state) {
        Ok(arb::DisputeState::Judged) => {
            o.update(&rec.job_id, |r| {
                judged(&mut r.slots[i as usize], &d);
                Ok(vec![set_slot(
                    r,
                    i,
                    SlotState::Redeemed,
                    "judged: O got the reward and the bond",
                )
                .tx(tx)])
            })
            .await?;
        }
        Ok(arb::DisputeState::Expired | arb::DisputeState::Rejected) => {
            let why = format!("the arbiter's judge did not go through: {}", d.detail);
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(r, i, SlotState::DisputeRejected, &why)])
            })
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Keeps T's `judge` transaction and its block in the slot (the report's
/// judge row links to it).
pub fn judged(slot: &mut Slot, d: &arb::Dispute) {
    if let (Ok(e), false) = (slot.eth_mut(), d.judge_tx_hash.is_empty()) {
        e.judge_tx = format!("0x{}", hex::encode(&d.judge_tx_hash));
        e.judge_block = d.judge_block;
    }
}

async fn refund(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let i = s.index;
    let job = rec.slot_job(i as usize)?.job;
    let stored = s.eth()?.refund_tx.clone();
    let r = send_stored(
        o,
        rec,
        stored,
        U256::ZERO,
        deth::refund_calldata(&job),
        move |r, t| {
            r.slots[i as usize].eth_mut()?.refund_tx = Some(t);
            Ok(vec![Note::slot(
                i,
                format!("calculator {i}: refund(job) signed and stored"),
            )])
        },
    )
    .await?;
    let gas = r.fee().to_string();
    let hash = r.hash.to_string();
    o.update(&rec.job_id, move |rr| {
        rr.slots[i as usize].eth_mut()?.refund_gas_wei = gas;
        Ok(vec![set_slot(
            rr,
            i,
            SlotState::Refunded,
            "never committed: reward refunded",
        )
        .tx(hash)])
    })
    .await?;
    Ok(())
}

/// One pass of AWAITING_PAYOUT.
pub async fn step(o: &Outsourcer, rec: &JobRecord, now: u64) -> Result<()> {
    let (sender, contract) = o.eth()?;
    for s in &rec.slots {
        if s.state.is_terminal() {
            continue;
        }
        let i = s.index;
        let slot = rec.slot_job(i as usize)?;
        if s.commitment_hex.is_none()
            && now >= rec.result_deadline
            && sender.state(contract, slot.id).await? == bapay_fairpay::STATE_OPEN
        {
            refund(o, rec, s).await?;
            continue;
        }
        let trapped = sender.trapped_to(contract, slot.job.group).await?;
        if trapped != Address::ZERO {
            // The reward is the trapper's from the trap on (refund and judge
            // revert); the bond stays the worker's.
            let why = format!("collusion: the group was trapped by {trapped}: the reward is its");
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(r, i, SlotState::Trapped, &why)])
            })
            .await?;
            continue;
        }
        if now >= rec.payout && sender.state(contract, slot.id).await? == B256::ZERO {
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(
                    r,
                    i,
                    SlotState::Paid,
                    "paid out at t: reward and bond to the calculator",
                )])
            })
            .await?;
        }
    }
    // Settled slots: the calculator's own transactions, for the report.
    let rec = o.get(&rec.job_id)?.0;
    for s in rec.slots.iter().filter(|s| s.state.is_terminal()) {
        if let Err(e) = super::facts::collect(o, &rec, s).await {
            tracing::warn!(slot = s.index, error = %e, "calculator transactions not read yet");
            return Ok(());
        }
    }
    o.update(&rec.job_id, |r| {
        if r.state == JobState::AwaitingPayout && r.slots.iter().all(|s| s.state.is_terminal()) {
            r.state = JobState::Completed;
            return Ok(vec![Note::job("every FairPay job settled; job complete")]);
        }
        Ok(vec![])
    })
    .await?;
    Ok(())
}
