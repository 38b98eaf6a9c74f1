//! The background driver: one [`tick`] every `poll_interval_ms`, and once at
//! start, so everything resumes from the store after a restart (the
//! Ethereum records have their own tick, [`crate::eth::driver`], run after
//! this one). A tick with no non-terminal Bitcoin record asks the chain
//! nothing.
//! Implemented, per non-terminal record:
//! - FUNDING_SIGNED / ESCROWED with StartWork received: Pay_i's funding
//!   transaction at `finality_depth` (GetTransactionStatus) → ESCROWED →
//!   COMPUTING, and the computation is started;
//! - COMPUTING (e.g. after a restart): the computation is (re)started;
//! - ACCEPTED / CHARGE_HELD past the offer expiry → WITHDRAWN (coins freed);
//! - COMMITTED / CONVERTED and tip >= t: the claim (Charge'_i if the
//!   conversion is confirmed, else Charge_i) is completed with own
//!   signature, **stored**, journaled and broadcast → CLAIMING; the same
//!   for FUNDING_SIGNED / ESCROWED / COMPUTING once the funding is at depth
//!   (the deposit of an escrow nobody started work on; O could redeem
//!   through T before t);
//! - CLAIMING: the stored claim is rebroadcast until it is confirmed at
//!   depth → PAID; a Charge_i claim that lost to a confirmed conversion is
//!   replaced by Charge'_i (back to CONVERTED, then claimed again).
//!
//! Not yet: chain `Watch` streams (this polls), detecting Redeem_i / trap
//! spends (LOST / TRAPPED), reorg handling beyond rebroadcast, CPFP,
//! FUNDING_SIGNED → WITHDRAWN by double-spending the signed input.

use std::sync::Arc;
use std::time::Duration;

use bapay_core::commitment::{Chain as CommitChain, Commitment, SignedCommitment};
use bapay_core::escrow::{check_presigned_charge, sign_escrow_input, EscrowParams, EscrowUtxo};
use bapay_core::merkle::MerkleTree;
use bapay_core::task::{SubResult, SubTask};
use bapay_daemon::StoreExt;
use bitcoin::{Amount, OutPoint, ScriptBuf, Txid};
use tracing::Instrument;

use crate::codec;
use crate::error::{CalculatorError, Result};
use crate::record::{self, State, StoredCharge, StoredCommitment, SubTaskRecord};
use crate::service::Calculator;

/// Runs [`tick`] forever (errors are logged, the loop goes on).
pub fn spawn(c: Arc<Calculator>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_millis(c.config.poll_interval_ms.max(10));
        loop {
            if let Err(e) = tick(&c).await {
                tracing::warn!(error = %e, "driver tick failed");
            }
            if let Err(e) = crate::eth::driver::tick(&c).await {
                tracing::warn!(error = %e, "Ethereum driver tick failed");
            }
            tokio::time::sleep(period).await;
        }
    })
}

/// One pass over every non-terminal record.
pub async fn tick(c: &Arc<Calculator>) -> Result<()> {
    let records: Vec<_> = c
        .all_records()?
        .into_iter()
        .filter(|(r, _)| !r.state.is_terminal())
        .collect();
    if records.is_empty() {
        return Ok(());
    }
    let tip = c.chain.tip_height().await?;
    for (rec, _) in records {
        let job = rec.job_id.clone();
        let span = bapay_daemon::job_span(&job);
        if let Err(e) = step(c, rec, tip).instrument(span).await {
            tracing::warn!(job = %job, error = %e, "driver step failed");
        }
    }
    Ok(())
}

async fn step(c: &Arc<Calculator>, rec: SubTaskRecord, tip: u64) -> Result<()> {
    match rec.state {
        State::Accepted | State::ChargeHeld if c.now_ms() > rec.expires_unix_ms => {
            let _g = c.lock.lock().await;
            if let Some((mut r, v)) = record::load(c.store.as_ref(), &rec.job_id)? {
                if matches!(r.state, State::Accepted | State::ChargeHeld) {
                    r.state = State::Withdrawn;
                    r.state_reason = "offer expired".into();
                    c.save(&mut r, Some(v))?;
                }
            }
            Ok(())
        }
        State::Committed | State::Converted if tip >= u64::from(rec.terms.timeout) => {
            claim(c, &rec.job_id).await
        }
        // Beyond docs/daemons.md (which claims from COMMITTED / CONVERTED):
        // an escrow that is on chain but never worked on (no StartWork, or
        // the work unfinished) is still C_i's deposit, and Charge_i is its
        // only way back; O had until t to redeem through T.
        State::FundingSigned | State::Escrowed | State::Computing
            if tip >= u64::from(rec.terms.timeout) && escrow_at_depth(c, &rec).await? =>
        {
            claim(c, &rec.job_id).await
        }
        State::FundingSigned | State::Escrowed if rec.work_requested => {
            if escrow_at_depth(c, &rec).await? {
                begin_computing(c, &rec.job_id).await?;
            }
            Ok(())
        }
        State::Computing => {
            spawn_compute(c.clone(), rec.job_id.clone());
            Ok(())
        }
        State::Claiming => follow_claim(c, &rec).await,
        _ => Ok(()),
    }
}

/// Is the funding transaction confirmed at `finality_depth`? (Its txid
/// commits to the outputs that `sign_funding_checked` checked, so Pay_i is
/// at vout index with d + g.)
pub async fn escrow_at_depth(c: &Calculator, rec: &SubTaskRecord) -> Result<bool> {
    let Some(txid) = &rec.funding_txid else {
        return Ok(false);
    };
    Ok(c.chain
        .tx_status(txid)
        .await?
        .is_some_and(|s| s.confirmations >= c.config.finality_depth.max(1)))
}

/// FUNDING_SIGNED / ESCROWED → COMPUTING (stored), then computes in the
/// background. Returns the state after the call.
pub async fn begin_computing(c: &Arc<Calculator>, job: &str) -> Result<State> {
    let state = {
        let _g = c.lock.lock().await;
        let (mut r, v) = record::load(c.store.as_ref(), job)?
            .ok_or_else(|| CalculatorError::NotFound(job.to_string()))?;
        if matches!(r.state, State::FundingSigned | State::Escrowed) {
            r.state = State::Computing;
            c.save(&mut r, Some(v))?;
        }
        r.state
    };
    if state == State::Computing {
        spawn_compute(c.clone(), job.to_string());
    }
    Ok(state)
}

fn spawn_compute(c: Arc<Calculator>, job: String) {
    {
        let mut running = c.computing.lock().unwrap_or_else(|p| p.into_inner());
        if !running.insert(job.clone()) {
            return;
        }
    }
    tokio::spawn(async move {
        if let Err(e) = compute(&c, &job).await {
            tracing::error!(job = %job, error = %e, "computation failed");
        }
        c.computing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&job);
    });
}

/// Computes m_i (stored hex) off the runtime, honestly or as
/// `[misbehave]` says, and signs the commitment to the result for `chain`
/// (both chains' paths use this).
pub async fn compute_signed(
    c: &Calculator,
    sub_task_hex: &str,
    job_hex: &str,
    index: u32,
    chain: CommitChain,
) -> Result<(SubResult, MerkleTree, SignedCommitment)> {
    let sub = SubTask::from_bytes(&SubTaskRecord::unhex("sub_task", sub_task_hex)?)
        .map_err(|e| CalculatorError::Internal(format!("stored sub-task: {e}")))?;
    let sub2 = sub.clone();
    let misbehave = c.config.misbehave.clone();
    let (res, tree) = tokio::task::spawn_blocking(move || crate::cheat::commit(&sub2, &misbehave))
        .await
        .map_err(|e| CalculatorError::Internal(format!("compute task: {e}")))?
        .map_err(|e| CalculatorError::Internal(format!("compute: {e}")))?;
    let job_id = codec::bytes32("job_id", &SubTaskRecord::unhex("job_id", job_hex)?)
        .map_err(|e| CalculatorError::Internal(e.to_string()))?;
    let commitment = Commitment::new(
        chain,
        job_id,
        index,
        &sub,
        &res,
        tree.root(),
        tree.leaf_count(),
    );
    let signed = SignedCommitment::sign(commitment, c.key.keypair());
    Ok((res, tree, signed))
}

/// Computes r_i and its tree, signs the commitment, stores r_i + the
/// signed commitment (COMMITTED) and caches the tree. The commitment leaves
/// the process only through FetchResult, after this write.
pub async fn compute(c: &Calculator, job: &str) -> Result<()> {
    let (rec, _) = record::load(c.store.as_ref(), job)?
        .ok_or_else(|| CalculatorError::NotFound(job.to_string()))?;
    if rec.state != State::Computing {
        return Ok(());
    }
    let (res, tree, signed) = compute_signed(
        c,
        &rec.sub_task_hex,
        &rec.job_id,
        rec.index,
        CommitChain::Bitcoin,
    )
    .await?;
    let _g = c.lock.lock().await;
    let (mut r, v) = record::load(c.store.as_ref(), job)?
        .ok_or_else(|| CalculatorError::NotFound(job.to_string()))?;
    if r.state != State::Computing {
        return Ok(());
    }
    r.result_hex = Some(hex::encode(res.to_bytes()));
    r.commitment = Some(StoredCommitment {
        commitment: signed.commitment,
        signature_hex: hex::encode(signed.signature),
    });
    r.state = State::Committed;
    c.save(&mut r, Some(v))?;
    c.trees
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(job.to_string(), Arc::new(tree));
    tracing::info!(job = %job, "result committed");
    Ok(())
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
    let internal =
        |e: &dyn std::fmt::Display| CalculatorError::Internal(format!("stored charge: {e}"));
    let tx = codec::transaction(
        "stored charge",
        &SubTaskRecord::unhex("charge", &stored.tx_hex)?,
    )
    .map_err(|e| internal(&e))?;
    let o_sig = codec::signature(
        "stored signature",
        &SubTaskRecord::unhex("signature", &stored.outsourcer_sig_hex)?,
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
            .ok_or_else(|| CalculatorError::NotFound(job.to_string()))?;
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
        let payout = ScriptBuf::from_bytes(SubTaskRecord::unhex("payout", &r.payout_script_hex)?);
        let index = r.index as usize;
        let converted_final = match &r.conversion_txid {
            Some(t) => c
                .chain
                .tx_status(t)
                .await?
                .is_some_and(|s| s.confirmations >= 1),
            None => false,
        };
        let tx = match (&r.charge_prime, &r.converted_terms, converted_final) {
            (Some(cp), Some(ct), true) => {
                let params = EscrowParams::new(ct.clone())
                    .map_err(|e| CalculatorError::Internal(format!("stored Pay' terms: {e}")))?;
                finalize_charge(c, &params, index, cp, &payout)?
            }
            _ => {
                let held = r.charge.clone().ok_or_else(|| {
                    CalculatorError::Internal("committed without a held Charge_i".into())
                })?;
                finalize_charge(c, &r.params()?, index, &held, &payout)?
            }
        };
        let raw = bitcoin::consensus::serialize(&tx);
        r.claim_tx_hex = Some(hex::encode(&raw));
        r.claim_txid = Some(tx.compute_txid().to_string());
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
    let (Some(txid), Some(raw_hex)) = (&rec.claim_txid, &rec.claim_tx_hex) else {
        return Ok(());
    };
    match c.chain.tx_status(txid).await? {
        Some(s) if s.confirmations >= c.config.finality_depth.max(1) => {
            let _g = c.lock.lock().await;
            if let Some((mut r, v)) = record::load(c.store.as_ref(), &rec.job_id)? {
                if r.state == State::Claiming {
                    r.state = State::Paid;
                    c.save(&mut r, Some(v))?;
                }
            }
            Ok(())
        }
        Some(_) => Ok(()),
        None => {
            let raw = SubTaskRecord::unhex("claim", raw_hex)?;
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
    let Some(conv) = &rec.conversion_txid else {
        return Ok(false);
    };
    let tx = codec::transaction("stored claim", raw)
        .map_err(|e| CalculatorError::Internal(e.to_string()))?;
    let spends_conversion = tx
        .input
        .first()
        .is_some_and(|i| i.previous_output.txid.to_string() == *conv);
    if spends_conversion || rec.charge_prime.is_none() {
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
    let _g = c.lock.lock().await;
    let Some((mut r, v)) = record::load(c.store.as_ref(), &rec.job_id)? else {
        return Ok(false);
    };
    if r.state != State::Claiming {
        return Ok(false);
    }
    r.state = State::Converted;
    r.state_reason = "conversion confirmed: claiming through Charge'_i".into();
    c.save(&mut r, Some(v))?;
    Ok(true)
}
