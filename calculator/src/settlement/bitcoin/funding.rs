//! `SignFunding` (PROTOCOL.md §4 step 2), a Bitcoin-only step. Decodes O's Charge_i,
//! its signature and the funding PSBT (INVALID_ARGUMENT naming the field);
//! Pay_i = (txid of the PSBT's unsigned tx, vout index, d + g);
//! `check_presigned_charge` against the stored terms, own payout script and
//! the configured max charge fee (INVALID_ARGUMENT with the core reason);
//! then **stores** Charge_i, O's signature and the funding txid (state
//! CHARGE_HELD), checks every input is an unspent coin of the stated value
//! on chain, and only then runs `sign_funding_checked` (outputs are the
//! agreed Pay_k, every input P2TR, own change back, at most g paid), journals
//! the signing step, stores FUNDING_SIGNED and returns the PSBT.
//! Repeating the call with the same Charge_i signs again (idempotent); a
//! different Charge_i once one is held is INVALID_ARGUMENT.
//! Refused (FAILED_PRECONDITION): an expired offer, any state other than
//! ACCEPTED / CHARGE_HELD / FUNDING_SIGNED.
//! Own inputs (witness_utxo paying its script) must be coins reserved for
//! this offer (INVALID_ARGUMENT otherwise).
//! Not yet: requiring that every reserved coin is spent (the change check
//! already bounds what C_i pays to g).

use std::collections::HashMap;

use bapay_core::escrow::{check_presigned_charge, sign_funding_checked, slot_escrow};
use bapay_daemon::{codec, Coin, ServiceError, StoreExt};
use bapay_proto::calculator::v1 as pb;
use bitcoin::{Amount, Psbt, ScriptBuf};

use crate::record::bitcoin::coin_of;
use crate::record::{self, State, StoredCharge};
use crate::service::Calculator;
use crate::Result;

/// Handles SignFunding.
pub async fn sign(c: &Calculator, req: pb::SignFundingRequest) -> Result<pb::SignFundingResponse> {
    let _guard = c.lock.lock().await;
    let (mut rec, version) = c.authorized(&req.job_id, &req.job_token)?;
    let expires = rec.btc()?.expires_unix_ms;
    match rec.state {
        State::Accepted | State::ChargeHeld if c.now_ms() > expires => {
            return Err(ServiceError::precondition("the offer expired"))
        }
        State::Accepted | State::ChargeHeld | State::FundingSigned => {}
        s => {
            return Err(ServiceError::precondition(format!(
                "sub-task is {s:?}, SignFunding needs ACCEPTED"
            )))
        }
    }
    let charge = codec::required("charge", req.charge.as_ref())?;
    let charge_tx = codec::transaction("charge.tx", &charge.tx)?;
    let o_sig = codec::signature("charge.outsourcer_signature", &charge.outsourcer_signature)?;
    let mut psbt = Psbt::deserialize(&req.funding_psbt)
        .map_err(|e| ServiceError::invalid("funding_psbt", e))?;
    let b = rec.btc()?.clone();
    let params = b.params()?;
    let index = rec.index as usize;
    let funding_txid = psbt.unsigned_tx.compute_txid();
    let slot = slot_escrow(&params, funding_txid, index)
        .map_err(|e| ServiceError::internal("escrow", e))?;
    let payout = ScriptBuf::from_bytes(record::unhex("payout script", &b.payout_script_hex)?);
    check_presigned_charge(
        &params,
        index,
        slot,
        &charge_tx,
        &o_sig,
        &payout,
        Amount::from_sat(c.config.limits.max_charge_fee_sat),
    )
    .map_err(|e| ServiceError::invalid("charge", e))?;
    // Only the coins reserved for this offer may be signed.
    let own_script = c.own_script();
    for (txin, input) in psbt.unsigned_tx.input.iter().zip(&psbt.inputs) {
        let ours = input
            .witness_utxo
            .as_ref()
            .is_some_and(|u| u.script_pubkey == own_script);
        let reserved = b.coins.iter().any(|k| {
            k.vout == txin.previous_output.vout && k.txid == txin.previous_output.txid.to_string()
        });
        if ours && !reserved {
            return Err(ServiceError::invalid(
                "funding_psbt",
                format!(
                    "input {} is a coin of this calculator not reserved for this offer",
                    txin.previous_output
                ),
            ));
        }
    }
    let stored = StoredCharge {
        tx_hex: hex::encode(&charge.tx),
        outsourcer_sig_hex: hex::encode(&charge.outsourcer_signature),
        utxo_txid: funding_txid.to_string(),
        utxo_vout: rec.index,
        utxo_value_sat: params.pay_value().to_sat(),
        deposit: slot.deposit.as_ref().map(coin_of),
    };
    let version = match &b.charge {
        Some(held) if *held != stored => {
            return Err(ServiceError::invalid(
                "charge",
                "a different Charge_i is already held for this job",
            ))
        }
        Some(_) => version,
        None => {
            // Persist Charge_i (C_i's only claim on d + g) BEFORE signing.
            let bm = rec.btc_mut()?;
            bm.charge = Some(stored);
            bm.funding_txid = Some(funding_txid.to_string());
            rec.state = State::ChargeHeld;
            c.save(&mut rec, Some(version))?
        }
    };
    // Every input of the funding must exist unspent with the value the
    // PSBT states: else the funding can never confirm (a made-up or spent
    // coin of O's or another calculator's), and C_i's signed input would be
    // frozen for nothing.
    check_inputs_on_chain(c, &psbt).await?;
    let deposit = params.terms().deposit;
    let signed = c.store.record_then(
        &rec.job_id,
        "sign_funding",
        &serde_json::json!({ "funding_txid": funding_txid.to_string() }),
        || sign_funding_checked(&mut psbt, &params, c.key.keypair(), &payout, deposit),
    )?;
    let count = signed.map_err(|e| ServiceError::invalid("funding_psbt", e))?;
    if count == 0 {
        return Err(ServiceError::invalid(
            "funding_psbt",
            "spends none of this calculator's coins",
        ));
    }
    if rec.state != State::FundingSigned {
        rec.state = State::FundingSigned;
        c.save(&mut rec, Some(version))?;
    }
    Ok(pb::SignFundingResponse {
        funding_psbt: psbt.serialize(),
        funding_txid: funding_txid.to_string(),
    })
}

/// Every input of `psbt` is a confirmed unspent coin with the value its
/// `witness_utxo` states (INVALID_ARGUMENT naming the input otherwise).
async fn check_inputs_on_chain(c: &Calculator, psbt: &Psbt) -> Result<()> {
    let mut by_script: HashMap<Vec<u8>, Vec<Coin>> = HashMap::new();
    for (k, (txin, input)) in psbt.unsigned_tx.input.iter().zip(&psbt.inputs).enumerate() {
        let prev = input.witness_utxo.as_ref().ok_or_else(|| {
            ServiceError::invalid(&format!("funding_psbt.inputs[{k}]"), "no witness_utxo")
        })?;
        let script = prev.script_pubkey.to_bytes();
        if !by_script.contains_key(&script) {
            let coins = c.chain.list_unspent(&script).await?;
            by_script.insert(script.clone(), coins);
        }
        let want = Coin {
            txid: txin.previous_output.txid.to_string(),
            vout: txin.previous_output.vout,
            value_sat: prev.value.to_sat(),
        };
        if !by_script[&script].contains(&want) {
            return Err(ServiceError::invalid(
                &format!("funding_psbt.inputs[{k}]"),
                format!(
                    "{} is not an unspent coin of {} sat on chain",
                    txin.previous_output,
                    prev.value.to_sat()
                ),
            ));
        }
    }
    Ok(())
}
