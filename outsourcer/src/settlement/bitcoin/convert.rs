//! Pay_i -> Pay'_i (PROTOCOL.md §4 step 5, the paper's §3.2 "Service
//! Redeem Phase"). Once every result is in and verified, the collusion key
//! of the escrows moves from P_M (the sum of the message keys) to P_R (the
//! sum of the result keys): calculators who pool their *results* to learn
//! y = f(x) lose their fees as surely as those who pool their messages.
//!
//! Per slot, in order, each step stored before anything leaves O:
//! 1. pk_{r_k} and P_R (from r_k, s_k and R, all O's), once per job;
//! 2. the conversion (Pay_i through the charge leaf, nLockTime 0, output
//!    Pay'_i) and O's presigned Charge'_i on Pay'_i and Dep_i;
//! 3. `SignConversion` to C_i, which checks both and signs; O checks C_i's
//!    signature, adds its own and stores the finished conversion (slot
//!    CONVERTED) before it broadcasts it.
//!
//! A refusal (INVALID_ARGUMENT, FAILED_PRECONDITION), or no answer before
//! t - [`MARGIN`], leaves the slot on Pay_i with its Charge_i: conversion
//! protects O's secret, never C_i's pay. A conversion not mined by t loses
//! to Charge_i, which pays C_i the same.

use bapay_core::escrow::{
    build_charge, build_conversion, sign_escrow_input, verify_escrow_signature, EscrowParams,
    EscrowSpend, EscrowUtxo, SlotEscrow,
};
use bapay_core::keys::{result_secret, PublishedKeys};
use bapay_daemon::ServiceError;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::{OutPoint, Transaction, XOnlyPublicKey};

use crate::record::{
    unhex, JobRecord, SlotState, StoredCharge, StoredConversion, StoredResultKeys,
};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// No conversion is started or finished from t - MARGIN on: it must be
/// mined before Charge_i becomes valid at t.
pub const MARGIN: u64 = 2;

/// One pass before t: converts every verified slot it can.
pub async fn step(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    if !o.config.conversion {
        return mark_all(o, rec, "conversion = false in the outsourcer's config").await;
    }
    if rec.slots.iter().any(|s| !converts(s.state)) {
        // P_R needs every r_k, checked: a job with a fault stays on Pay_i.
        return mark_all(o, rec, "not every result is in and right").await;
    }
    let late = tip + MARGIN >= rec.payout;
    const LATE: &str = "no time left before t: the slot stays on Pay_i";
    let rec = &match rec.btc()?.conversion {
        Some(_) => rec.clone(),
        None if late => return mark_all(o, rec, LATE).await,
        None => store_keys(o, rec).await?,
    };
    for s in &rec.slots {
        if s.reason.starts_with("not converted") {
            continue;
        }
        let c = s.btc()?.conversion.as_ref();
        match (c, s.state) {
            (_, SlotState::Verified) if late && c.is_none_or(|c| c.signed_hex.is_none()) => {
                refuse(o, rec, s.index, LATE).await?
            }
            (None, SlotState::Verified) => propose(o, rec, s.index, tip).await?,
            (Some(c), SlotState::Verified) if c.signed_hex.is_none() => {
                ask(o, rec, s.index).await?
            }
            (Some(c), SlotState::Converted) => rebroadcast(o, c).await,
            _ => {}
        }
    }
    Ok(())
}

/// Slots a conversion can go on with (every result must be in and right).
fn converts(s: SlotState) -> bool {
    matches!(s, SlotState::Verified | SlotState::Converted)
}

/// The terms of Pay'_i.
pub fn converted_params(rec: &JobRecord) -> Result<EscrowParams> {
    let keys = rec
        .btc()?
        .conversion
        .as_ref()
        .ok_or_else(|| ServiceError::internal("conversion", "no result keys stored"))?;
    let p_r = XOnlyPublicKey::from_slice(&unhex("P_R", &keys.aggregate)?)
        .map_err(|e| ServiceError::internal("P_R", e))?;
    let threshold = rec.threshold_trap(&keys.keys)?.map(|t| t.message_keys);
    rec.escrow_params()?
        .converted(p_r, threshold)
        .map_err(|e| ServiceError::internal("converted terms", e))
}

async fn store_keys(o: &Outsourcer, rec: &JobRecord) -> Result<JobRecord> {
    let random: [u8; 32] = rec
        .job_random()?
        .try_into()
        .map_err(|_| ServiceError::internal("R", "not 32 bytes"))?;
    let secrets = rec
        .slots
        .iter()
        .map(|s| {
            result_secret(&s.result_bytes()?, &s.salt()?, &random)
                .map_err(|e| ServiceError::internal("result key", e))
        })
        .collect::<Result<Vec<_>>>()?;
    let published = PublishedKeys::from_secrets(&bitcoin::secp256k1::Secp256k1::new(), &secrets)
        .map_err(|e| ServiceError::internal("P_R", e))?;
    let stored = StoredResultKeys {
        keys: published
            .keys
            .iter()
            .map(|k| hex::encode(k.serialize()))
            .collect(),
        aggregate: hex::encode(published.aggregate_x_only().serialize()),
    };
    o.update(&rec.job_id, |r| {
        r.btc_mut()?.conversion = Some(stored.clone());
        Ok(vec![Note::job(
            "result keys P_R computed: converting Pay_i -> Pay'_i",
        )])
    })
    .await
}

/// The conversion of slot `i` (deterministic from the terms).
fn conversion(rec: &JobRecord, i: u32) -> Result<(EscrowSpend, SlotEscrow)> {
    let slot = rec.slot_escrow(i)?;
    let spend = build_conversion(
        &rec.escrow_params()?,
        &converted_params(rec)?,
        i as usize,
        slot.pay,
        rec.btc()?.rate()?,
    )
    .map_err(|e| ServiceError::internal("conversion", e))?;
    Ok((spend, slot))
}

async fn propose(o: &Outsourcer, rec: &JobRecord, i: u32, tip: u64) -> Result<()> {
    let (spend, slot) = conversion(rec, i)?;
    let prime = SlotEscrow {
        pay: EscrowUtxo {
            outpoint: OutPoint {
                txid: spend.tx.compute_txid(),
                vout: 0,
            },
            value: spend.tx.output[0].value,
        },
        deposit: slot.deposit,
    };
    let s = &rec.slots[i as usize];
    let payout = s.payout_script()?;
    let tip32 = u32::try_from(tip).map_err(|e| ServiceError::internal("tip", e))?;
    let charge = build_charge(
        &converted_params(rec)?,
        i as usize,
        prime,
        payout,
        rec.btc()?.rate()?,
        tip32,
    )
    .map_err(|e| ServiceError::internal("Charge'_i", e))?;
    let sig = sign_escrow_input(&charge, 0, o.key.keypair())
        .map_err(|e| ServiceError::internal("sign Charge'_i", e))?;
    let stored = StoredConversion {
        tx_hex: hex::encode(bitcoin::consensus::serialize(&spend.tx)),
        txid: spend.tx.compute_txid().to_string(),
        value_sat: prime.pay.value.to_sat(),
        charge: StoredCharge {
            tx_hex: hex::encode(bitcoin::consensus::serialize(&charge.tx)),
            sig_hex: hex::encode(sig.serialize()),
            txid: charge.tx.compute_txid().to_string(),
            value_sat: charge.tx.output[0].value.to_sat(),
        },
        signed_hex: None,
        refused: None,
    };
    o.update(&rec.job_id, |r| {
        r.slots[i as usize].btc_mut()?.conversion = Some(stored.clone());
        Ok(vec![Note::slot(i, "conversion and Charge'_i presigned")])
    })
    .await?;
    Ok(())
}

async fn ask(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<()> {
    let s = &rec.slots[i as usize];
    let Some(c) = s.btc()?.conversion.clone() else {
        return Ok(());
    };
    let keys = rec
        .btc()?
        .conversion
        .clone()
        .ok_or_else(|| ServiceError::internal("conversion", "no result keys stored"))?;
    let req = calc::SignConversionRequest {
        job_id: rec.id_bytes()?.to_vec(),
        job_token: s.token(),
        result_keys: keys
            .keys
            .iter()
            .map(|k| unhex("result key", k))
            .collect::<Result<_>>()?,
        converted_terms: Some(bapay_daemon::codec::terms_to_proto(&converted_params(rec)?)),
        charge_prime: Some(common::PresignedCharge {
            tx: unhex("Charge'_i", &c.charge.tx_hex)?,
            outsourcer_signature: unhex("sig", &c.charge.sig_hex)?,
        }),
        conversion_tx: unhex("conversion", &c.tx_hex)?,
        fee_rate_sat_per_vb: rec.btc()?.fee_rate as f64,
    };
    let resp = match o.calculator(&s.endpoint)?.sign_conversion(req).await {
        Ok(r) => r.into_inner(),
        Err(e)
            if matches!(
                e.code(),
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition
            ) =>
        {
            let why = format!("calculator refused the conversion: {}", e.message());
            return refuse(o, rec, i, &why).await;
        }
        Err(e) => {
            tracing::warn!(slot = i, error = %e.message(), "SignConversion failed; retrying");
            return Ok(());
        }
    };
    let signed = match finish(o, rec, i, &resp.calculator_signature) {
        Ok(tx) => tx,
        Err(why) => return refuse(o, rec, i, &why).await,
    };
    let raw = bitcoin::consensus::serialize(&signed);
    o.update(&rec.job_id, |r| {
        let b = r.slots[i as usize].btc_mut()?;
        if let Some(c) = b.conversion.as_mut() {
            c.signed_hex = Some(hex::encode(&raw));
        }
        Ok(vec![set_slot(
            r,
            i,
            SlotState::Converted,
            "conversion signed by both: Pay_i -> Pay'_i (Charge'_i pays at t)",
        )
        .tx(c.txid.clone())])
    })
    .await?;
    if let Err(e) = o.chain.broadcast(&raw).await {
        tracing::warn!(slot = i, error = %e, "conversion broadcast failed; retrying");
    }
    Ok(())
}

/// C_i's signature checked, O's added: the finished conversion, or why not.
fn finish(
    o: &Outsourcer,
    rec: &JobRecord,
    i: u32,
    c_sig: &[u8],
) -> std::result::Result<Transaction, String> {
    let (spend, _) = conversion(rec, i).map_err(|e| e.to_string())?;
    let c_key = rec.slots[i as usize]
        .calculator_key()
        .map_err(|e| e.to_string())?;
    let sig = Signature::from_slice(c_sig)
        .map_err(|e| format!("calculator's conversion signature: {e}"))?;
    verify_escrow_signature(&spend, 0, &c_key, &sig)
        .map_err(|e| format!("calculator's conversion signature does not verify: {e}"))?;
    let own = sign_escrow_input(&spend, 0, o.key.keypair()).map_err(|e| e.to_string())?;
    let o_key = o.key.x_only_public_key();
    spend
        .finalize(&[vec![(o_key, own), (c_key, sig)]])
        .map_err(|e| e.to_string())
}

async fn refuse(o: &Outsourcer, rec: &JobRecord, i: u32, why: &str) -> Result<()> {
    tracing::warn!(slot = i, reason = why, "slot stays on Pay_i");
    o.update(&rec.job_id, |r| {
        if let Some(c) = r.slots[i as usize].btc_mut()?.conversion.as_mut() {
            c.refused = Some(why.to_string());
        }
        Ok(vec![not_converted(r, i, why)])
    })
    .await?;
    Ok(())
}

/// The slot stays VERIFIED on Pay_i; its reason says why.
fn not_converted(r: &mut JobRecord, i: u32, why: &str) -> Note {
    set_slot(r, i, SlotState::Verified, &format!("not converted: {why}"))
}

/// No conversion for this job: every verified slot says why, once.
async fn mark_all(o: &Outsourcer, rec: &JobRecord, why: &str) -> Result<()> {
    let pending = |r: &JobRecord| -> Vec<u32> {
        r.slots
            .iter()
            .filter(|s| s.state == SlotState::Verified && !s.reason.starts_with("not converted"))
            .map(|s| s.index)
            .collect()
    };
    if pending(rec).is_empty() {
        return Ok(());
    }
    o.update(&rec.job_id, |r| {
        Ok(pending(r)
            .into_iter()
            .map(|i| not_converted(r, i, why))
            .collect())
    })
    .await?;
    Ok(())
}

/// A signed conversion not seen by the node is sent again (eviction, a
/// restart between the store and the broadcast).
async fn rebroadcast(o: &Outsourcer, c: &StoredConversion) {
    let Some(raw) = c.signed_hex.as_deref().and_then(|h| hex::decode(h).ok()) else {
        return;
    };
    if matches!(o.chain.tx_status(&c.txid).await, Ok(None)) {
        if let Err(e) = o.chain.broadcast(&raw).await {
            tracing::debug!(error = %e, "conversion rebroadcast refused");
        }
    }
}
