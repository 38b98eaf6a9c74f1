//! Bitcoin disputes: the escrow T is asked to redeem (Pay_i and Dep_i of
//! the funding), T's at-fault answer turned into Redeem_i (O rebuilds it from
//! the terms, checks T signed exactly it, adds its own signature and
//! stores the finished transaction), and the broadcast of Redeem_i until
//! it is at depth (REDEEMED), with a CPFP child if it is refused for its
//! fee (`bump`). Redeem_i must be mined at height <= t.

use bapay_core::escrow::{build_redeem, sign_escrow_input, EscrowUtxo};
use bapay_daemon::ServiceError;
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::schnorr::Signature;

use crate::record::{unhex, JobRecord, Slot, SlotSettlement, SlotState, StoredRedeem};
use crate::service::{set_slot, Outsourcer};
use crate::settlement::AtFault;
use crate::Result;

fn proto_utxo(u: &EscrowUtxo) -> common::EscrowUtxo {
    common::EscrowUtxo {
        txid: u.outpoint.txid.to_string(),
        vout: u.outpoint.vout,
        value_sat: u.value.to_sat(),
    }
}

/// T's Bitcoin settlement of a dispute about slot `i`: the terms, Pay_i and
/// Dep_i. Redeem_i pays O's key-path output: T takes the payout from the
/// terms, not from O.
pub fn dispute_settlement(
    _o: &Outsourcer,
    rec: &JobRecord,
    i: u32,
) -> Result<arb::dispute_request::Settlement> {
    let params = rec.escrow_params()?;
    let slot = rec.slot_escrow(i)?;
    Ok(arb::dispute_request::Settlement::Bitcoin(
        arb::BitcoinDispute {
            terms: Some(bapay_daemon::codec::terms_to_proto(&params)),
            escrow: Some(proto_utxo(&slot.pay)),
            deposit: slot.deposit.as_ref().map(proto_utxo),
            fee_rate_sat_per_vb: rec.btc()?.fee_rate as f64,
            proposed_redeem_tx: Vec::new(),
        },
    ))
}

/// Rebuilds Redeem_i, checks T signed exactly it (one signature per
/// input), adds O's signatures.
pub fn at_fault(o: &Outsourcer, rec: &JobRecord, i: u32, d: &arb::Dispute) -> Result<AtFault> {
    let params = rec.escrow_params()?;
    let spend = build_redeem(
        &params,
        i as usize,
        rec.slot_escrow(i)?,
        o.own_script(),
        rec.btc()?.rate()?,
    )
    .map_err(|e| ServiceError::internal("Redeem_i", e))?;
    if bitcoin::consensus::serialize(&spend.tx) != d.redeem_tx {
        return Err(ServiceError::internal(
            "Redeem_i",
            "the arbiter's Redeem_i differs from O's",
        ));
    }
    if d.arbiter_signatures.len() != spend.inputs.len() {
        return Err(ServiceError::internal(
            "arbiter signatures",
            format!(
                "{} signatures for {} inputs",
                d.arbiter_signatures.len(),
                spend.inputs.len()
            ),
        ));
    }
    let terms = params.terms();
    let mut sigs = Vec::with_capacity(spend.inputs.len());
    for (k, t) in d.arbiter_signatures.iter().enumerate() {
        let t_sig =
            Signature::from_slice(t).map_err(|e| ServiceError::internal("arbiter signature", e))?;
        let o_sig = sign_escrow_input(&spend, k, o.key.keypair())
            .map_err(|e| ServiceError::internal("sign Redeem_i", e))?;
        sigs.push(vec![(terms.outsourcer, o_sig), (terms.arbiter, t_sig)]);
    }
    // finalize verifies every signature before it goes into the witness.
    let tx = spend
        .finalize(&sigs)
        .map_err(|e| ServiceError::internal("finalize Redeem_i", e))?;
    let redeem = StoredRedeem {
        tx_hex: hex::encode(bitcoin::consensus::serialize(&tx)),
        txid: tx.compute_txid().to_string(),
        value_sat: tx.output[0].value.to_sat(),
        bump: None,
    };
    let mut part = rec.slots[i as usize].btc()?.clone();
    let txid = redeem.txid.clone();
    part.redeem = Some(redeem);
    Ok(AtFault {
        part: Some(SlotSettlement::Bitcoin(part)),
        reason: "arbiter: calculator at fault; Redeem_i signed".into(),
        tx: txid,
    })
}

/// DISPUTED: broadcasts the stored Redeem_i until it is at depth.
pub async fn follow(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let Some(r) = &s.btc()?.redeem else {
        return Ok(());
    };
    match o.chain.tx_status(&r.txid).await? {
        None => {
            let raw = unhex("redeem", &r.tx_hex)?;
            match super::bump::relay(o, rec, &raw, super::bump::Parent::Redeem(s.index)).await? {
                Ok(()) => tracing::info!(slot = s.index, txid = %r.txid, "Redeem_i relayed"),
                Err(e) => {
                    tracing::warn!(slot = s.index, error = %e, "Redeem_i broadcast failed; retrying")
                }
            }
        }
        Some(st) if st.confirmations >= o.config.common.depth() => {
            let i = s.index;
            let txid = r.txid.clone();
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(
                    r,
                    i,
                    SlotState::Redeemed,
                    "Redeem_i confirmed: O got d + g",
                )
                .tx(txid.clone())])
            })
            .await?;
        }
        Some(_) => {}
    }
    Ok(())
}
