//! `SignConversion` (PROTOCOL.md §4 step 4), a Bitcoin-only step: Pay_i →
//! Pay'_i.
//! In order: the sub-task must be COMMITTED (or CONVERTED with the same
//! Charge'_i: idempotent); the result keys are 33-byte points and
//! `check_offer_keys` on the converted terms shows own sk_{r_i}·G (from the
//! stored r_i and R) is entry index, they sum to P_R = the converted
//! collusion key and the trap keys are theirs; O's Charge'_i passes
//! `check_presigned_charge` on Pay'_i (conversion output 0); the conversion
//! passes `check_conversion` (fee <= configured max). Then Charge'_i, O's
//! signature, the Pay'_i terms and the conversion txid are **stored**
//! (CONVERTED) and only then the conversion input is signed and returned.
//! Every refusal of a check is INVALID_ARGUMENT with the core reason.
//! FAILED_PRECONDITION for other states. The request's
//! `fee_rate_sat_per_vb` is not used: the conversion fee is bounded by the
//! configured `max_conversion_fee_sat` instead.

use bapay_core::escrow::{
    build_conversion, check_conversion, check_presigned_charge, sign_escrow_input, slot_escrow,
    EscrowUtxo, SlotEscrow,
};
use bapay_core::keys::{aggregate_pubkey, check_offer_keys, result_secret, PublishedKeys};
use bapay_daemon::{codec, ServiceError};
use bapay_proto::calculator::v1 as pb;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Txid};

use crate::record::{self, State, StoredCharge};
use crate::service::Calculator;
use crate::Result;

/// Handles SignConversion.
pub async fn sign(
    c: &Calculator,
    req: pb::SignConversionRequest,
) -> Result<pb::SignConversionResponse> {
    let _guard = c.lock.lock().await;
    let (mut rec, version) = c.authorized(&req.job_id, &req.job_token)?;
    let b = rec.btc()?.clone();
    if !matches!(rec.state, State::Committed | State::Converted) {
        return Err(ServiceError::precondition(format!(
            "sub-task is {:?}; SignConversion needs COMMITTED",
            rec.state
        )));
    }
    let index = rec.index as usize;
    let params = b.params()?;
    let converted = codec::terms("converted_terms", req.converted_terms.as_ref())?;
    let keys = req
        .result_keys
        .iter()
        .enumerate()
        .map(|(i, k)| codec::pubkey33(&format!("result_keys[{i}]"), k))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let result = record::unhex(
        "result",
        rec.result_hex
            .as_deref()
            .ok_or_else(|| ServiceError::internal("record", "committed without r_i"))?,
    )?;
    let job_random = codec::bytes32("job_random", &record::unhex("R", &rec.job_random)?)?;
    let salt = rec.salt()?;
    (|| {
        let own = result_secret(&result, &salt, &job_random)?;
        let aggregate = aggregate_pubkey(&keys)?;
        let published = PublishedKeys { keys, aggregate };
        check_offer_keys(&c.secp, &own, index, &published, &converted)
    })()
    .map_err(|e| ServiceError::invalid("result_keys", e))?;

    let conv_tx = codec::transaction("conversion_tx", &req.conversion_tx)?;
    let conv_txid = conv_tx.compute_txid();
    let prime_value = conv_tx
        .output
        .first()
        .map(|o| o.value)
        .ok_or_else(|| ServiceError::invalid("conversion_tx", "no output"))?;
    let charge = codec::required("charge_prime", req.charge_prime.as_ref())?;
    let charge_tx = codec::transaction("charge_prime.tx", &charge.tx)?;
    let o_sig = codec::signature(
        "charge_prime.outsourcer_signature",
        &charge.outsourcer_signature,
    )?;
    let payout = ScriptBuf::from_bytes(record::unhex("payout", &b.payout_script_hex)?);
    let prime_utxo = EscrowUtxo {
        outpoint: OutPoint {
            txid: conv_txid,
            vout: 0,
        },
        value: prime_value,
    };
    let held = b
        .charge
        .as_ref()
        .ok_or_else(|| ServiceError::internal("record", "committed without Charge_i"))?;
    let deposit = held.slot()?.deposit;
    let prime_slot = SlotEscrow {
        pay: prime_utxo,
        deposit,
    };
    let checked_charge = check_presigned_charge(
        &converted,
        index,
        prime_slot,
        &charge_tx,
        &o_sig,
        &payout,
        Amount::from_sat(c.config.limits.max_charge_fee_sat),
    )
    .map_err(|e| ServiceError::invalid("charge_prime", e))?;

    let funding_txid: Txid = b
        .funding_txid
        .as_deref()
        .ok_or_else(|| ServiceError::internal("record", "committed without a funding txid"))?
        .parse()
        .map_err(|e| ServiceError::internal("stored funding txid", e))?;
    let slot = slot_escrow(&params, funding_txid, index)
        .map_err(|e| ServiceError::internal("slot escrow", e))?;
    let pay_utxo = slot.pay;
    // The leaf and control block come from the core builder; the
    // transaction is O's, checked by check_conversion.
    let mut proposal = build_conversion(
        &params,
        &converted,
        index,
        pay_utxo,
        FeeRate::from_sat_per_vb(1).unwrap_or(FeeRate::BROADCAST_MIN),
    )
    .map_err(|e| ServiceError::invalid("converted_terms", e))?;
    proposal.fee = pay_utxo
        .value
        .checked_sub(conv_tx.output.iter().map(|o| o.value).sum())
        .ok_or_else(|| ServiceError::invalid("conversion_tx", "outputs exceed Pay_i"))?;
    proposal.tx = conv_tx;
    let rebuilt = check_conversion(
        &params,
        &converted,
        index,
        slot,
        &proposal,
        Amount::from_sat(c.config.limits.max_conversion_fee_sat),
        &checked_charge,
    )
    .map_err(|e| ServiceError::invalid("conversion_tx", e))?;

    let stored = StoredCharge {
        tx_hex: hex::encode(&charge.tx),
        outsourcer_sig_hex: hex::encode(&charge.outsourcer_signature),
        utxo_txid: conv_txid.to_string(),
        utxo_vout: 0,
        utxo_value_sat: prime_value.to_sat(),
        deposit: deposit.as_ref().map(crate::record::bitcoin::coin_of),
    };
    match &b.charge_prime {
        Some(held) if *held != stored => {
            return Err(ServiceError::invalid(
                "charge_prime",
                "a different Charge'_i is already held for this job",
            ))
        }
        Some(_) => {}
        None => {
            // Persist Charge'_i, Pay'_i and the conversion BEFORE signing.
            let bm = rec.btc_mut()?;
            bm.charge_prime = Some(stored);
            bm.converted_terms = Some(converted.terms().clone());
            bm.conversion_txid = Some(conv_txid.to_string());
            rec.state = State::Converted;
            c.save(&mut rec, Some(version))?;
        }
    }
    let sig = sign_escrow_input(&rebuilt, 0, c.key.keypair())
        .map_err(|e| ServiceError::internal("signing the conversion", e))?;
    Ok(pb::SignConversionResponse {
        calculator_signature: sig.serialize().to_vec(),
        conversion_txid: conv_txid.to_string(),
    })
}
