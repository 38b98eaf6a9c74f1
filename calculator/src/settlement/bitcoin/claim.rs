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
//!   a Charge_i that lost to a confirmed conversion is replaced by Charge'_i.

use std::sync::Arc;

use bapay_core::escrow::{check_presigned_charge, sign_escrow_input, EscrowParams, EscrowUtxo};
use bapay_daemon::{codec, ServiceError, StoreExt};
use bitcoin::{Amount, OutPoint, ScriptBuf, Txid};

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
        State::Claiming => follow_claim(c, &rec).await,
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
/// signs its input with own key and finalizes it.
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
    let txid: Txid = stored.utxo_txid.parse().map_err(|e| internal(&e))?;
    let utxo = EscrowUtxo {
        outpoint: OutPoint {
            txid,
            vout: stored.utxo_vout,
        },
        value: Amount::from_sat(stored.utxo_value_sat),
    };
    let max_fee = Amount::from_sat(c.config.limits.max_charge_fee_sat);
    let spend = check_presigned_charge(params, index, utxo, &tx, &o_sig, payout, max_fee)
        .map_err(|e| internal(&e))?;
    let own = sign_escrow_input(&spend, 0, c.key.keypair()).map_err(|e| internal(&e))?;
    spend
        .finalize(&[vec![
            (params.terms().outsourcer, o_sig),
            (c.key.x_only_public_key(), own),
        ]])
        .map_err(|e| internal(&e))
}

/// tip >= t: completes the right charge, stores it (CLAIMING), then
/// broadcasts it (journaled).
pub async fn claim(c: &Calculator, job: &str) -> Result<()> {
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
        let b = r.btc()?.clone();
        let payout = ScriptBuf::from_bytes(record::unhex("payout", &b.payout_script_hex)?);
        let index = r.index as usize;
        let converted_final = match &b.conversion_txid {
            Some(t) => c
                .chain
                .tx_status(t)
                .await?
                .is_some_and(|s| s.confirmations >= 1),
            None => false,
        };
        let tx = match (&b.charge_prime, &b.converted_terms, converted_final) {
            (Some(cp), Some(ct), true) => {
                let params = EscrowParams::new(ct.clone())
                    .map_err(|e| ServiceError::internal("stored Pay' terms", e))?;
                finalize_charge(c, &params, index, cp, &payout)?
            }
            _ => {
                let held = b.charge.clone().ok_or_else(|| {
                    ServiceError::internal("record", "committed without a held Charge_i")
                })?;
                finalize_charge(c, &b.params()?, index, &held, &payout)?
            }
        };
        let raw = bitcoin::consensus::serialize(&tx);
        let bm = r.btc_mut()?;
        bm.claim_tx_hex = Some(hex::encode(&raw));
        bm.claim_txid = Some(tx.compute_txid().to_string());
        r.state = State::Claiming;
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

async fn follow_claim(c: &Calculator, rec: &SubTaskRecord) -> Result<()> {
    let b = rec.btc()?;
    let (Some(txid), Some(raw_hex)) = (&b.claim_txid, &b.claim_tx_hex) else {
        return Ok(());
    };
    match c.chain.tx_status(txid).await? {
        Some(s) if s.confirmations >= c.config.common.depth() => {
            c.update(&rec.job_id, |r| {
                let claiming = r.state == State::Claiming;
                if claiming {
                    r.state = State::Paid;
                }
                Ok(claiming)
            })
            .await?;
            Ok(())
        }
        Some(_) => Ok(()),
        None => {
            let raw = record::unhex("claim", raw_hex)?;
            if switch_to_charge_prime(c, rec, &raw).await? {
                return claim(c, &rec.job_id).await;
            }
            broadcast(c, &rec.job_id, &raw).await
        }
    }
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
