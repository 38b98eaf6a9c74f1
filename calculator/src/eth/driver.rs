//! The Ethereum half of the background driver, one [`tick`] per period,
//! from the store (so it resumes after a restart). Per non-terminal record:
//! - ACCEPTED and block time >= commitDeadline (no StartWork): WITHDRAWN;
//! - COMPUTING: the computation is (re)started, or the stored commit
//!   transaction resent (same bytes and nonce) until mined;
//! - COMMITTED: FairPay `state(id)` zero means the escrow is gone: TRAPPED
//!   if `trappedTo(group)` is set, else LOST (judged or disputeSearch);
//!   block time >= payoutTime: the signed `payout(job)` is **stored**
//!   (CLAIMING), then sent; a successful receipt → PAID;
//! - CLAIMING: the stored payout is resent / its receipt read → PAID; a
//!   reverted payout goes back to COMMITTED (which finds LOST / TRAPPED).
//!
//! "At depth" is the receipt's block (depth 1; anvil has no reorgs). Not
//! yet: `WatchLogs` (this polls), `claimTrapped` when the trap is ours.

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use bapay_daemon::eth::payout_calldata;
use tracing::Instrument;

use super::record::{self, EthSubTask};
use super::work::spawn_compute;
use crate::error::{CalculatorError, Result};
use crate::record::State;
use crate::service::Calculator;

/// One pass over every non-terminal Ethereum record.
pub async fn tick(c: &Arc<Calculator>) -> Result<()> {
    let records: Vec<_> = record::all(c.store.as_ref())?
        .into_iter()
        .filter(|(r, _)| !r.state.is_terminal())
        .collect();
    if records.is_empty() {
        return Ok(());
    }
    let Some((contract, eth)) = c.eth_deployment() else {
        return Ok(());
    };
    let (_, now) = eth.chain_time().await?;
    for (rec, _) in records {
        let job = rec.job_id.clone();
        let span = bapay_daemon::job_span(&job);
        if let Err(e) = step(c, contract, rec, now).instrument(span).await {
            tracing::warn!(job = %job, error = %e, "Ethereum driver step failed");
        }
    }
    Ok(())
}

async fn step(c: &Arc<Calculator>, contract: Address, rec: EthSubTask, now: u64) -> Result<()> {
    match rec.state {
        State::Accepted if now >= rec.job.commit_deadline => set_state(
            c,
            &rec.job_id,
            State::Accepted,
            State::Withdrawn,
            "no StartWork before the commit deadline",
        ),
        State::Computing => {
            spawn_compute(c.clone(), rec.job_id.clone());
            Ok(())
        }
        State::Committed => committed(c, contract, &rec, now).await,
        State::Claiming => claiming(c, contract, &rec).await,
        _ => Ok(()),
    }
}

fn set_state(c: &Calculator, job: &str, from: State, to: State, why: &str) -> Result<()> {
    // Callers hold no lock; the record version guards the transition.
    if let Some((mut r, v)) = record::load(c.store.as_ref(), job)? {
        if r.state == from {
            r.state = to;
            r.state_reason = why.to_string();
            r.updated_unix_ms = c.now_ms();
            record::save(c.store.as_ref(), &r, Some(v))?;
            tracing::info!(job = %job, state = ?to, reason = %why, "Ethereum sub-task moved");
        }
    }
    Ok(())
}

/// The escrow is gone from FairPay: trapped or taken by O.
async fn gone(c: &Calculator, contract: Address, rec: &EthSubTask, from: State) -> Result<()> {
    let eth = c
        .eth
        .clone()
        .ok_or(CalculatorError::Unimplemented("Ethereum"))?;
    let trap = eth.trapped_to(contract, rec.job.group).await?;
    let _g = c.lock.lock().await;
    if trap != Address::ZERO {
        set_state(
            c,
            &rec.job_id,
            from,
            State::Trapped,
            &format!("group trapped to {trap}"),
        )
    } else {
        set_state(
            c,
            &rec.job_id,
            from,
            State::Lost,
            "the job was settled to O (judge or disputeSearch)",
        )
    }
}

async fn committed(c: &Calculator, contract: Address, rec: &EthSubTask, now: u64) -> Result<()> {
    let eth = c
        .eth
        .clone()
        .ok_or(CalculatorError::Unimplemented("Ethereum"))?;
    let state = eth.state(contract, rec.contract_job_id).await?;
    if state == B256::ZERO {
        return gone(c, contract, rec, State::Committed).await;
    }
    if now < rec.job.payout_time {
        return Ok(());
    }
    let _g = c.lock.lock().await;
    let Some((mut r, v)) = record::load(c.store.as_ref(), &rec.job_id)? else {
        return Ok(());
    };
    if r.state != State::Committed {
        return Ok(());
    }
    let tx = eth
        .sign_next(contract, U256::ZERO, payout_calldata(&r.job.params()))
        .await?;
    r.payout_tx = Some(tx.clone());
    r.state = State::Claiming;
    r.updated_unix_ms = c.now_ms();
    let v = record::save(c.store.as_ref(), &r, Some(v))?;
    let receipt = eth.send_signed(&tx).await?;
    finish_claim(c, r, v, receipt.success, receipt.hash)
}

async fn claiming(c: &Calculator, contract: Address, rec: &EthSubTask) -> Result<()> {
    let eth = c
        .eth
        .clone()
        .ok_or(CalculatorError::Unimplemented("Ethereum"))?;
    let Some(tx) = rec.payout_tx.clone() else {
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
    if !receipt.success && eth.state(contract, rec.contract_job_id).await? == B256::ZERO {
        return gone(c, contract, rec, State::Claiming).await;
    }
    finish_claim(c, r, v, receipt.success, receipt.hash)
}

fn finish_claim(c: &Calculator, mut r: EthSubTask, v: u64, ok: bool, hash: B256) -> Result<()> {
    if ok {
        r.state = State::Paid;
        r.state_reason = format!("payout {hash} mined");
    } else {
        r.state = State::Committed;
        r.payout_tx = None;
        r.state_reason = format!("payout {hash} reverted");
    }
    r.updated_unix_ms = c.now_ms();
    record::save(c.store.as_ref(), &r, Some(v))?;
    tracing::info!(job = %r.job_id, state = ?r.state, "payout answered");
    Ok(())
}
