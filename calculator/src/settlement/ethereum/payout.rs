//! The Ethereum half of the driver, per non-terminal record:
//! - ACCEPTED and block time >= commitDeadline (no StartWork): WITHDRAWN;
//! - COMPUTING: the computation is (re)started, or the stored commit
//!   transaction resent (same bytes and nonce) until mined;
//! - COMMITTED: a pending on-chain challenge of O is answered first
//!   (`respond`); FairPay `state(id)` zero means the escrow is gone: LOST
//!   (judged or disputeSearch; TRAPPED if the group is trapped and the
//!   bond already came back); block time >= payoutTime: the signed
//!   `payout(job)` is **stored** (CLAIMING), then sent; a successful
//!   receipt → PAID, or, in a trapped group (the trapper takes the reward
//!   only), TRAPPED with the bond returned;
//! - CLAIMING: the stored payout is resent / its receipt read → PAID; a
//!   reverted payout goes back to COMMITTED (which finds LOST / TRAPPED).
//!
//! "At depth" is the receipt's block (depth 1; anvil has no reorgs).

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use bapay_daemon::eth::payout_calldata;

use tracing::Instrument;

use crate::record::{self, State, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// One pass over this chain's records.
pub async fn tick(c: &Arc<Calculator>, records: Vec<SubTaskRecord>) -> Result<()> {
    let Some((_, eth)) = c.eth_deployment() else {
        return Ok(());
    };
    let (_, now) = eth.chain_time().await?;
    for rec in records {
        let job = rec.job_id.clone();
        let span = bapay_daemon::job_span(&job);
        if let Err(e) = step(c, rec, now).instrument(span).await {
            tracing::warn!(job = %job, error = %e, "Ethereum driver step failed");
        }
    }
    Ok(())
}

async fn step(c: &Arc<Calculator>, rec: SubTaskRecord, now: u64) -> Result<()> {
    let e = rec.eth()?;
    match rec.state {
        State::Accepted if now >= e.job.commit_deadline => {
            set_state(
                c,
                &rec.job_id,
                State::Accepted,
                State::Withdrawn,
                "no StartWork before the commit deadline",
            )
            .await
        }
        State::Computing if e.commit_tx.is_some() => super::commit::send(c, &rec.job_id).await,
        State::Computing => {
            crate::work::spawn_compute(c.clone(), rec.job_id.clone());
            Ok(())
        }
        State::Committed => committed(c, &rec, now).await,
        State::Claiming => claiming(c, &rec).await,
        _ => Ok(()),
    }
}

async fn set_state(c: &Calculator, job: &str, from: State, to: State, why: &str) -> Result<()> {
    c.update(job, |r| {
        let moves = r.state == from;
        if moves {
            r.state = to;
            r.state_reason = why.to_string();
            tracing::info!(job = %job, state = ?to, reason = %why, "Ethereum sub-task moved");
        }
        Ok(moves)
    })
    .await?;
    Ok(())
}

/// The escrow is gone from FairPay: taken by O, or (trapped group) both
/// halves settled.
async fn gone(c: &Calculator, rec: &SubTaskRecord, from: State) -> Result<()> {
    let (contract, eth) = c.ethereum()?;
    let trap = eth.trapped_to(contract, rec.eth()?.job.group).await?;
    if trap != Address::ZERO {
        let why = format!("group trapped to {trap}: the reward went to it, the bond came back");
        set_state(c, &rec.job_id, from, State::Trapped, &why).await
    } else {
        let why = "the job was settled to O (judge, disputeSearch or an unanswered challenge)";
        set_state(c, &rec.job_id, from, State::Lost, why).await
    }
}

async fn committed(c: &Calculator, rec: &SubTaskRecord, now: u64) -> Result<()> {
    let (contract, eth) = c.ethereum()?;
    let e = rec.eth()?;
    let st = eth.state(contract, e.contract_job_id).await?;
    // REWARD_LEFT: our bond-only payout of a trapped job already went
    // through (the record was not saved after it).
    if st == B256::ZERO || st == bapay_fairpay::STATE_REWARD_LEFT {
        return gone(c, rec, State::Committed).await;
    }
    // O's on-chain challenge first: unanswered, it takes reward and bond
    // (and it blocks the payout until answered).
    if super::respond::answer(c, rec, now).await? {
        return Ok(());
    }
    if now < e.job.payout_time {
        return Ok(());
    }
    let _g = c.lock.lock().await;
    let Some((mut r, v)) = record::load(c.store.as_ref(), &rec.job_id)? else {
        return Ok(());
    };
    if r.state != State::Committed {
        return Ok(());
    }
    let job = r.eth()?.job.params();
    let tx = eth
        .sign_next(contract, U256::ZERO, payout_calldata(&job))
        .await?;
    r.eth_mut()?.payout_tx = Some(tx.clone());
    r.state = State::Claiming;
    let v = c.save(&mut r, Some(v))?;
    let receipt = eth.send_signed(&tx).await?;
    let trapped = eth.trapped_to(contract, e.job.group).await?;
    finish(c, r, v, receipt.success, receipt.hash, trapped)
}

async fn claiming(c: &Calculator, rec: &SubTaskRecord) -> Result<()> {
    let (contract, eth) = c.ethereum()?;
    let Some(tx) = rec.eth()?.payout_tx.clone() else {
        return Ok(());
    };
    let receipt = {
        let _g = c.lock.lock().await;
        eth.send_signed(&tx).await?
    };
    let Some((r, v)) = record::load(c.store.as_ref(), &rec.job_id)? else {
        return Ok(());
    };
    if r.state != State::Claiming {
        return Ok(());
    }
    if !receipt.success {
        let st = eth.state(contract, r.eth()?.contract_job_id).await?;
        if st == B256::ZERO || st == bapay_fairpay::STATE_REWARD_LEFT {
            return gone(c, rec, State::Claiming).await;
        }
    }
    let trapped = eth.trapped_to(contract, r.eth()?.job.group).await?;
    finish(c, r, v, receipt.success, receipt.hash, trapped)
}

fn finish(
    c: &Calculator,
    mut r: SubTaskRecord,
    v: u64,
    ok: bool,
    hash: B256,
    trapped: Address,
) -> Result<()> {
    if ok && trapped != Address::ZERO {
        r.state = State::Trapped;
        r.state_reason = format!(
            "group trapped to {trapped}: the reward is the trapper's; payout {hash} returned the bond"
        );
    } else if ok {
        r.state = State::Paid;
        r.state_reason = format!("payout {hash} mined");
    } else {
        r.state = State::Committed;
        r.eth_mut()?.payout_tx = None;
        r.state_reason = format!("payout {hash} reverted");
    }
    c.save(&mut r, Some(v))?;
    tracing::info!(job = %r.job_id, state = ?r.state, "payout answered");
    Ok(())
}
