//! The signed funding on its way to depth: O broadcasts it (again after a
//! restart; with a CPFP child on its change if it is refused for its fee)
//! until it is at depth, then every slot is ESCROWED and the job
//! COMPUTING. If it can never be mined because one of its inputs was spent
//! elsewhere (a calculator double-spent its deposit coin after signing),
//! O voids its own coins that are still unspent (`build_void`: a reorg
//! that undid the double spend could otherwise mine the funding later,
//! and the presigned Charge_i would pay for no work), stores the void
//! before broadcasting it, and FAILs the job once the void is at depth.
//! Nothing else was locked: the calculators' coins never left them.

use bapay_core::escrow::{build_void, FundingInput};
use bapay_daemon::ServiceError;
use bitcoin::{OutPoint, Psbt};

use crate::record::{unhex, JobRecord, JobState, SlotState, StoredVoid};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// One pass over a signed funding.
pub async fn step(o: &Outsourcer, rec: &JobRecord, signed: &str, txid: &str) -> Result<()> {
    if let Some(v) = rec.btc()?.funding.as_ref().and_then(|f| f.void.clone()) {
        return follow_void(o, rec, &v).await;
    }
    let depth = o.chain.tx_status(txid).await?.map(|s| s.confirmations);
    match depth {
        None => {
            let raw = unhex("funding", signed)?;
            match super::bump::relay(o, rec, &raw, super::bump::Parent::Funding).await? {
                Ok(()) => tracing::info!(txid, "funding relayed"),
                Err(e) => {
                    tracing::warn!(txid, error = %e, "funding broadcast failed");
                    if let Some(why) = spent_input(o, rec).await? {
                        // The funding itself may have spent them meanwhile.
                        if o.chain.tx_status(txid).await?.is_none() {
                            return void(o, rec, why).await;
                        }
                    }
                }
            }
        }
        Some(d) if d >= o.config.common.depth() => {
            o.update(&rec.job_id, |r| {
                let mut notes = vec![Note::job(format!("funding confirmed (depth {d})")).tx(txid)];
                for i in 0..r.slots.len() {
                    notes.push(set_slot(r, i as u32, SlotState::Escrowed, ""));
                }
                r.state = JobState::Computing;
                Ok(notes)
            })
            .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// The stored funding PSBT.
fn psbt(rec: &JobRecord) -> Result<Psbt> {
    let f = rec
        .btc()?
        .funding
        .as_ref()
        .ok_or_else(|| ServiceError::internal("funding", "none"))?;
    Psbt::deserialize(&unhex("psbt", &f.psbt_hex)?)
        .map_err(|e| ServiceError::internal("stored psbt", e))
}

/// A funding input no longer in the confirmed UTXO set, named with its
/// owner; None while every input is still there (a transient failure).
async fn spent_input(o: &Outsourcer, rec: &JobRecord) -> Result<Option<String>> {
    let psbt = psbt(rec)?;
    let own = o.own_script();
    for (txin, p) in psbt.unsigned_tx.input.iter().zip(&psbt.inputs) {
        let Some(prev) = &p.witness_utxo else {
            continue;
        };
        let at = txin.previous_output;
        let unspent = o.chain.list_unspent(prev.script_pubkey.as_bytes()).await?;
        if unspent.iter().any(|u| u.outpoint() == Some(at)) {
            continue;
        }
        let owner = if prev.script_pubkey == own {
            "O's".to_string()
        } else {
            rec.slots
                .iter()
                .find(|s| owns(s, &at))
                .map(|s| format!("calculator {}'s", s.index))
                .unwrap_or_else(|| "a".into())
        };
        return Ok(Some(format!(
            "{owner} funding coin {at} was spent elsewhere: the funding can never be mined"
        )));
    }
    Ok(None)
}

fn owns(s: &crate::record::Slot, at: &OutPoint) -> bool {
    s.btc()
        .ok()
        .and_then(|b| b.funding.as_ref())
        .is_some_and(|f| {
            f.inputs
                .iter()
                .any(|(t, v, _, _)| format!("{t}:{v}") == at.to_string())
        })
}

/// Builds and stores the void of O's still unspent funding coins.
async fn void(o: &Outsourcer, rec: &JobRecord, why: String) -> Result<()> {
    let psbt = psbt(rec)?;
    let own = o.own_script();
    let unspent = o.chain.list_unspent(own.as_bytes()).await?;
    let coins: Vec<FundingInput> = psbt
        .unsigned_tx
        .input
        .iter()
        .zip(&psbt.inputs)
        .filter_map(|(txin, p)| {
            let txout = p.witness_utxo.clone()?;
            let at = txin.previous_output;
            (txout.script_pubkey == own && unspent.iter().any(|u| u.outpoint() == Some(at)))
                .then_some(FundingInput {
                    outpoint: at,
                    txout,
                })
        })
        .collect();
    let stored = if coins.is_empty() {
        StoredVoid {
            reason: why.clone(),
            tx_hex: String::new(),
            txid: String::new(),
        }
    } else {
        let tx = build_void(&coins, o.key.keypair(), own, rec.btc()?.rate()?)
            .map_err(|e| ServiceError::internal("void", e))?;
        StoredVoid {
            reason: why.clone(),
            tx_hex: hex::encode(bitcoin::consensus::serialize(&tx)),
            txid: tx.compute_txid().to_string(),
        }
    };
    tracing::warn!(reason = %why, "funding dead; voiding O's coins");
    let txid = stored.txid.clone();
    o.update(&rec.job_id, |r| {
        if let Some(f) = r.btc_mut()?.funding.as_mut() {
            if f.void.is_some() {
                return Ok(vec![]);
            }
            f.void = Some(stored.clone());
        }
        Ok(vec![
            Note::job(format!("{why}; O voids its own coins")).tx(txid.clone())
        ])
    })
    .await?;
    Ok(())
}

/// Broadcasts the void until it is at depth, then FAILED.
async fn follow_void(o: &Outsourcer, rec: &JobRecord, v: &StoredVoid) -> Result<()> {
    let done = if v.tx_hex.is_empty() {
        true
    } else {
        match o.chain.tx_status(&v.txid).await? {
            Some(s) => s.confirmations >= o.config.common.depth(),
            None => {
                if let Err(e) = o.chain.broadcast(&unhex("void", &v.tx_hex)?).await {
                    tracing::warn!(txid = %v.txid, error = %e, "void broadcast failed; retrying");
                }
                false
            }
        }
    };
    if done {
        o.update(&rec.job_id, |r| {
            r.state = JobState::Failed;
            r.state_reason = v.reason.clone();
            Ok(vec![Note::job(format!(
                "failed: {}; O's coins are back",
                v.reason
            ))
            .tx(v.txid.clone())])
        })
        .await?;
    }
    Ok(())
}
