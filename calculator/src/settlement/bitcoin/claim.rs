//! The Bitcoin half of the driver, per non-terminal record, from the
//! store (so it resumes after a restart):
//! - ACCEPTED / CHARGE_HELD past the offer expiry → WITHDRAWN (coins freed);
//! - FUNDING_SIGNED / ESCROWED with StartWork received: Pay_i's funding
//!   transaction at `finality_depth` → COMPUTING, and the work starts;
//! - COMPUTING: the computation is (re)started;
//! - COMMITTED / CONVERTED and tip >= t: the claim (Charge'_i if the
//!   conversion is confirmed, else Charge_i) is completed with own
//!   signature, **stored**, journaled and broadcast → CLAIMING; the same
//!   for FUNDING_SIGNED / ESCROWED / COMPUTING once the funding is at depth
//!   (the deposit of an escrow nobody started work on: Charge_i is its only
//!   way back, and O had until t to redeem through T);
//! - CLAIMING: the stored claim is rebroadcast until it is at depth → PAID;
//!   a Charge_i that lost to a confirmed conversion is replaced by Charge'_i;
//!   a claim refused for its fee, or unconfirmed for `bump_after_blocks`,
//!   goes in with a CPFP child (`bump`).
//!
//! What the claim takes is read on chain first: the whole escrow
//! (Charge_i); only Dep_i if a sweep took Pay_i (the reclaim leaf, C_i
//! alone: the deposit comes back, the slot ends TRAPPED); nothing if
//! Redeem_i took both (LOST).

use std::sync::Arc;

use bapay_core::escrow::{check_presigned_charge, sign_escrow_input, EscrowParams};
use bapay_daemon::{codec, ServiceError, StoreExt};
use bitcoin::{Amount, ScriptBuf};

use super::bump;
use super::left::{what_to_claim, Claim};

use tracing::Instrument;

use crate::record::{self, BtcSub, State, StoredCharge, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// One pass over this chain's records.
pub async fn tick(c: &Arc<Calculator>, records: Vec<SubTaskRecord>) -> Result<()> {
    let tip = c.chain.tip_height().await?;
    for rec in records {
        let job = rec.job_id.clone();
        let span = bapay_daemon::job_span(&job);
        if let Err(e) = step(c, rec, tip).instrument(span).await {
            tracing::warn!(job = %job, error = %e, "driver step failed");
        }
    }
    Ok(())
}

async fn step(c: &Arc<Calculator>, rec: SubTaskRecord, tip: u64) -> Result<()> {
    let b = rec.btc()?;
    match rec.state {
        State::Accepted | State::ChargeHeld if c.now_ms() > b.expires_unix_ms => {
            c.update(&rec.job_id, |r| {
                let offer = matches!(r.state, State::Accepted | State::ChargeHeld);
                if offer {
                    r.state = State::Withdrawn;
                    r.state_reason = "offer expired".into();
                }
                Ok(offer)
            })
            .await?;
            Ok(())
        }
        State::Committed | State::Converted if tip >= b.t() => claim(c, &rec.job_id).await,
        State::FundingSigned | State::Escrowed | State::Computing
            if tip >= b.t() && escrow_at_depth(c, b).await? =>
        {
            claim(c, &rec.job_id).await
        }
        State::FundingSigned | State::Escrowed if rec.work_requested => {
            if escrow_at_depth(c, b).await? {
                crate::work::begin_computing(c, &rec.job_id).await?;
            }
            Ok(())
        }
        State::Computing => {
            crate::work::spawn_compute(c.clone(), rec.job_id.clone());
            Ok(())
        }
        State::Claiming => follow_claim(c, &rec, tip).await,
        _ => Ok(()),
    }
}

/// Is the funding transaction confirmed at `finality_depth`? (Its txid
/// commits to the outputs that `sign_funding_checked` checked, so Pay_i is
/// at vout index with d + g.)
pub async fn escrow_at_depth(c: &Calculator, b: &BtcSub) -> Result<bool> {
    let Some(txid) = &b.funding_txid else {
        return Ok(false);
    };
    Ok(c.chain
        .tx_status(txid)
        .await?
        .is_some_and(|s| s.confirmations >= c.config.common.depth()))
}

/// Rebuilds a stored presigned charge with the core check (deterministic),
/// signs each of its inputs with own key (Pay_i's charge leaf with O's
/// signature, Dep_i's reclaim leaf alone) and finalizes it.
pub fn finalize_charge(
    c: &Calculator,
    params: &EscrowParams,
    index: usize,
    stored: &StoredCharge,
    payout: &ScriptBuf,
) -> Result<bitcoin::Transaction> {
    let internal = |e: &dyn std::fmt::Display| ServiceError::internal("stored charge", e);
    let tx = codec::transaction("stored charge", &record::unhex("charge", &stored.tx_hex)?)
        .map_err(|e| internal(&e))?;
    let o_sig = codec::signature(
        "stored signature",
        &record::unhex("signature", &stored.outsourcer_sig_hex)?,
    )
    .map_err(|e| internal(&e))?;
    let max_fee = Amount::from_sat(c.config.limits.max_charge_fee_sat);
    let spend = check_presigned_charge(params, index, stored.slot()?, &tx, &o_sig, payout, max_fee)
        .map_err(|e| internal(&e))?;
    let me = c.key.x_only_public_key();
    let mut sigs = Vec::new();
    for k in 0..spend.inputs.len() {
        let own = sign_escrow_input(&spend, k, c.key.keypair()).map_err(|e| internal(&e))?;
        let mut input = vec![(me, own)];
        if k == 0 {
            input.push((params.terms().outsourcer, o_sig));
        }
        sigs.push(input);
    }
    spend.finalize(&sigs).map_err(|e| internal(&e))
}

/// tip >= t: completes the right claim, stores it (CLAIMING), then
/// broadcasts it (journaled); or records that nothing is left (LOST).
pub async fn claim(c: &Calculator, job: &str) -> Result<()> {
    let tip = c.chain.tip_height().await?;
    let (raw, job_id) = {
        let _g = c.lock.lock().await;
        let (mut r, v) = record::load(c.store.as_ref(), job)?
            .ok_or_else(|| ServiceError::not_found(job.to_string()))?;
        if !matches!(
            r.state,
            State::Committed
                | State::Converted
                | State::FundingSigned
                | State::Escrowed
                | State::Computing
        ) {
            return Ok(());
        }
        let (tx, reclaim) = match what_to_claim(c, &r, tip).await? {
            Claim::Charge(tx) => (tx, None),
            Claim::Reclaim(tx, why) => (tx, Some(why)),
            Claim::Gone(why, state) => {
                tracing::warn!(job = %job, reason = %why, "escrow gone");
                r.state = state;
                r.state_reason = why;
                c.save(&mut r, Some(v))?;
                return Ok(());
            }
        };
        let raw = bitcoin::consensus::serialize(&tx);
        let bm = r.btc_mut()?;
        bm.claim_tx_hex = Some(hex::encode(&raw));
        bm.claim_txid = Some(tx.compute_txid().to_string());
        bm.reclaim = reclaim.is_some();
        bm.claim_height = Some(tip);
        bm.bump = None;
        r.state = State::Claiming;
        if let Some(why) = reclaim {
            r.state_reason = why;
        }
        c.save(&mut r, Some(v))?;
        (raw, r.job_id.clone())
    };
    broadcast(c, &job_id, &raw).await
}

async fn broadcast(c: &Calculator, job: &str, raw: &[u8]) -> Result<()> {
    let out = c
        .store
        .record_then_async(
            job,
            "broadcast_claim",
            &serde_json::json!({ "raw_tx": hex::encode(raw) }),
            c.chain.broadcast(raw),
        )
        .await?;
    match out {
        Ok(txid) => tracing::info!(job = %job, %txid, "claim broadcast"),
        Err(e) => tracing::warn!(job = %job, error = %e, "claim broadcast failed; will retry"),
    }
    Ok(())
}

async fn follow_claim(c: &Calculator, rec: &SubTaskRecord, tip: u64) -> Result<()> {
    let b = rec.btc()?;
    let (Some(txid), Some(raw_hex)) = (&b.claim_txid, &b.claim_tx_hex) else {
        return Ok(());
    };
    match c.chain.tx_status(txid).await? {
        Some(s) if s.confirmations >= c.config.common.depth() => {
            c.update(&rec.job_id, |r| {
                let claiming = r.state == State::Claiming;
                if claiming {
                    let reclaimed = r.btc()?.reclaim;
                    r.state = if reclaimed {
                        State::Trapped
                    } else {
                        State::Paid
                    };
                }
                Ok(claiming)
            })
            .await?;
            Ok(())
        }
        Some(s) if s.confirmations == 0 && bump::stuck(c, rec, tip) => {
            bump::bump_claim(c, rec, &record::unhex("claim", raw_hex)?).await
        }
        Some(_) => Ok(()),
        None => {
            let raw = record::unhex("claim", raw_hex)?;
            if switch_to_charge_prime(c, rec, &raw).await? {
                return claim(c, &rec.job_id).await;
            }
            let out = c
                .store
                .record_then_async(
                    &rec.job_id,
                    "broadcast_claim",
                    &serde_json::json!({ "raw_tx": hex::encode(&raw) }),
                    c.chain.broadcast(&raw),
                )
                .await?;
            if let Err(e) = out {
                if bapay_daemon::btc::bump::is_fee_refusal(&e) {
                    return bump::bump_claim(c, rec, &raw).await;
                }
                // A claim the node refuses may have lost its inputs (a
                // sweep took Pay_i, Redeem_i took both): look again.
                tracing::warn!(job = %rec.job_id, error = %e, "claim refused; checking the escrow");
                return reconsider(c, rec).await;
            }
            Ok(())
        }
    }
}

/// The stored claim cannot be mined: back to the claimable state, so the
/// next claim sees what is left on chain (reclaim, LOST) and builds anew.
async fn reconsider(c: &Calculator, rec: &SubTaskRecord) -> Result<()> {
    let tip = c.chain.tip_height().await?;
    let Claim::Charge(_) = what_to_claim(c, rec, tip).await? else {
        c.update(&rec.job_id, |r| {
            let claiming = r.state == State::Claiming;
            if claiming {
                r.state = State::Committed;
            }
            Ok(claiming)
        })
        .await?;
        return claim(c, &rec.job_id).await;
    };
    Ok(())
}

/// The claim spends Pay_i but the conversion (which spends Pay_i too) is
/// now confirmed: the claim can never be mined, so the record goes back to
/// CONVERTED (stored) and the next claim uses Charge'_i.
async fn switch_to_charge_prime(c: &Calculator, rec: &SubTaskRecord, raw: &[u8]) -> Result<bool> {
    let b = rec.btc()?;
    let Some(conv) = &b.conversion_txid else {
        return Ok(false);
    };
    let tx = codec::transaction("stored claim", raw)
        .map_err(|e| ServiceError::internal("stored claim", e))?;
    let spends_conversion = tx
        .input
        .first()
        .is_some_and(|i| i.previous_output.txid.to_string() == *conv);
    if spends_conversion || b.charge_prime.is_none() {
        return Ok(false);
    }
    let confirmed = c
        .chain
        .tx_status(conv)
        .await?
        .is_some_and(|s| s.confirmations >= 1);
    if !confirmed {
        return Ok(false);
    }
    let r = c
        .update(&rec.job_id, |r| {
            let claiming = r.state == State::Claiming;
            if claiming {
                r.state = State::Converted;
                r.state_reason = "conversion confirmed: claiming through Charge'_i".into();
            }
            Ok(claiming)
        })
        .await?;
    Ok(r.state == State::Converted)
}
