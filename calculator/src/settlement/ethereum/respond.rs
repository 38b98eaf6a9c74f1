//! The calculator's answer to O's on-chain challenge (FairPay `respond` /
//! `respondSearch`, sol/FairPayAudit.sol).
//!
//! O challenges a committed root when the result or the sample never
//! reached it. Unanswered by the deadline, the challenge lets O take the
//! reward and the bond, so the driver checks `challenges(id)` on every pass
//! of a COMMITTED record, before anything else: pending → the leaves at the
//! contract's positions (`bapay_fairpay::positions`) with their proofs from
//! the committed tree, signed and **stored** before they are sent (a
//! restart resends the same bytes). The answer pays O's deposit to this
//! calculator, which covers its gas. `misbehave.never_open` stays silent
//! here too.

use alloy::primitives::{Bytes, B256, U256};
use alloy::sol_types::SolCall;
use bapay_core::task::Opening;
use bapay_fairpay::{positions, ChallengeState, FairPay};

use crate::record::{self, State, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// Answers a pending challenge of `rec` (COMMITTED); whether one was
/// pending (the payout waits for it).
pub async fn answer(c: &Calculator, rec: &SubTaskRecord, now: u64) -> Result<bool> {
    let (contract, eth) = c.ethereum()?;
    let e = rec.eth()?;
    let Some(audit) = e.audit.as_ref().map(|a| a.params()) else {
        return Ok(false);
    };
    let v = eth.challenges(contract, e.contract_job_id).await?;
    let ChallengeState::Pending { seed, deadline } = bapay_fairpay::challenge_state(v) else {
        return Ok(false);
    };
    if now >= deadline || c.config.misbehave.never_open {
        return Ok(true);
    }
    let tx = {
        // Stored before it is sent; the lock is not held across the send
        // (`c.update` below takes it again).
        let _g = c.lock.lock().await;
        let Some((mut r, ver)) = record::load(c.store.as_ref(), &rec.job_id)? else {
            return Ok(true);
        };
        if r.state != State::Committed {
            return Ok(true);
        }
        match r.eth()?.respond_tx.clone() {
            Some(tx) => tx,
            None => {
                let data = calldata(c, &r, seed, &audit).await?;
                let tx = eth.sign_next(contract, U256::ZERO, data).await?;
                r.eth_mut()?.respond_tx = Some(tx.clone());
                r.state_reason = format!("answering O's on-chain challenge ({})", tx.hash);
                c.save(&mut r, Some(ver))?;
                tx
            }
        }
    };
    let receipt = eth.send_signed(&tx).await?;
    c.update(&rec.job_id, |r| {
        let e = r.eth_mut()?;
        e.respond_gas_wei = receipt.fee().to_string();
        r.state_reason = if receipt.success {
            format!(
                "answered O's on-chain challenge ({}): the deposit is ours",
                receipt.hash
            )
        } else {
            format!("the answer to O's challenge reverted ({})", receipt.hash)
        };
        tracing::info!(job = %r.job_id, ok = receipt.success, "on-chain challenge answered");
        Ok(true)
    })
    .await?;
    Ok(true)
}

/// respond / respondSearch calldata: the leaves at the challenge's
/// positions (opened as OpenLeaves would) and their proofs.
async fn calldata(
    c: &Calculator,
    r: &SubTaskRecord,
    seed: U256,
    audit: &bapay_fairpay::AuditParams,
) -> Result<Vec<u8>> {
    let internal =
        |e: bapay_core::Error| bapay_daemon::ServiceError::internal("challenge answer", e);
    let res = r.result()?.ok_or_else(|| {
        bapay_daemon::ServiceError::precondition("no committed result to answer with")
    })?;
    let tree = crate::work::tree_of(c, r).await?;
    let sub = r.sub_task()?;
    let slot = r.job_id_bytes()?;
    let indices = positions(seed, audit);
    let opened = crate::cheat::open(
        &sub,
        &res,
        &tree,
        &indices,
        &c.config.misbehave,
        (&slot, r.index),
    )
    .map_err(internal)?;
    let proofs: Vec<Vec<B256>> = opened.iter().map(proof).collect();
    let e = r.eth()?;
    let job = e.job.params();
    Ok(match &e.search {
        Some(s) if audit.search => FairPay::respondSearchCall {
            job,
            a: audit.clone(),
            s: s.params(),
            // A malformed leaf (never ours) becomes zeros, which FairPay refuses.
            leaves: opened
                .iter()
                .map(|o| {
                    bapay_fairpay::proof::search_leaf_from_data(&o.leaf_data).unwrap_or(
                        bapay_fairpay::FairPayBase::SearchLeaf {
                            index: 0,
                            x: 0,
                            fx: B256::ZERO,
                        },
                    )
                })
                .collect(),
            proofs,
        }
        .abi_encode(),
        _ => FairPay::respondCall {
            job,
            a: audit.clone(),
            leaves: opened
                .iter()
                .map(|o| Bytes::from(o.leaf_data.clone()))
                .collect(),
            proofs,
        }
        .abi_encode(),
    })
}

fn proof(o: &Opening) -> Vec<B256> {
    bapay_fairpay::proof::proof_calldata(o.proof.siblings.iter().map(|h| h.as_bytes()))
}
