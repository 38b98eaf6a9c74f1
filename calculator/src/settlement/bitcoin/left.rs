//! What a claim at t can take, read on chain: the whole escrow (Charge_i,
//! or Charge'_i once the conversion is mined); only Dep_i if a sweep took
//! Pay_i (the reclaim leaf, C_i alone); nothing if Redeem_i took both. A
//! Pay_i that is gone is looked up (GetSpender) so that C_i reports whose
//! trap leaf swept it.

use bapay_core::escrow::{
    build_reclaim, sign_escrow_input, EscrowOutput, EscrowParams, EscrowUtxo, LeafKind,
};
use bapay_daemon::ServiceError;
use bitcoin::ScriptBuf;

use super::claim::finalize_charge;
use crate::record::bitcoin::coin_of;
use crate::record::{self, State, SubTaskRecord};
use crate::service::Calculator;
use crate::Result;

/// Is `utxo` (an output of `script`) still unspent on chain?
async fn unspent(c: &Calculator, script: &ScriptBuf, utxo: &EscrowUtxo) -> Result<bool> {
    let want = coin_of(utxo);
    Ok(c.chain
        .list_unspent(script.as_bytes())
        .await?
        .contains(&want))
}

/// What the claim at t can take, seen on chain.
pub enum Claim {
    /// The escrow is whole: Charge_i (or Charge'_i).
    Charge(bitcoin::Transaction),
    /// Pay_i was swept through a trap leaf but Dep_i is there: C_i takes
    /// its deposit back alone (reclaim leaf).
    Reclaim(bitcoin::Transaction, String),
    /// Nothing is left for C_i: Redeem_i took it (LOST), or, with
    /// trap_deposit, a sweep (TRAPPED).
    Gone(String, State),
}

/// Who took `pay` (an output of `params`' escrow `index`), when a trap leaf
/// did: "calculator j's trap leaf (txid)".
async fn sweeper(
    c: &Calculator,
    params: &EscrowParams,
    index: usize,
    pay: &EscrowUtxo,
) -> Result<Option<String>> {
    let Some(sp) = c.chain.find_spender(&pay.outpoint).await? else {
        return Ok(None);
    };
    let output =
        EscrowOutput::new(params, index).map_err(|e| ServiceError::internal("escrow", e))?;
    let txid = sp.tx.compute_txid();
    Ok(
        match output.spent_leaf(&sp.tx.input[sp.input_index].witness) {
            Some(LeafKind::Trap(j) | LeafKind::ThresholdTrap(j)) => {
                Some(format!("calculator {j}'s trap leaf ({txid})"))
            }
            _ => None,
        },
    )
}

/// What the claim at t can take.
pub async fn what_to_claim(c: &Calculator, r: &SubTaskRecord, tip: u64) -> Result<Claim> {
    let b = r.btc()?;
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
    let (params, held) = match (&b.charge_prime, &b.converted_terms, converted_final) {
        (Some(cp), Some(ct), true) => (
            EscrowParams::new(ct.clone())
                .map_err(|e| ServiceError::internal("stored Pay' terms", e))?,
            cp.clone(),
        ),
        _ => (
            b.params()?,
            b.charge.clone().ok_or_else(|| {
                ServiceError::internal("record", "committed without a held Charge_i")
            })?,
        ),
    };
    let slot = held.slot()?;
    let pay_script = EscrowOutput::new(&params, index)
        .map_err(|e| ServiceError::internal("escrow", e))?
        .script_pubkey();
    if unspent(c, &pay_script, &slot.pay).await? {
        return Ok(Claim::Charge(finalize_charge(
            c, &params, index, &held, &payout,
        )?));
    }
    let swept = sweeper(c, &params, index, &slot.pay).await?;
    let Some(dep) = slot.deposit else {
        return Ok(match swept {
            Some(by) => Claim::Gone(
                format!("the escrow was swept through {by}: colluders learned the trap key"),
                State::Trapped,
            ),
            None => Claim::Gone(
                "the escrow was spent by another transaction (a verdict)".into(),
                State::Lost,
            ),
        });
    };
    let dep_script = EscrowOutput::deposit(&params, index)
        .map_err(|e| ServiceError::internal("escrow", e))?
        .script_pubkey();
    if !unspent(c, &dep_script, &dep).await? {
        return Ok(Claim::Gone(
            "Pay_i and Dep_i were spent by Redeem_i (a verdict)".into(),
            State::Lost,
        ));
    }
    let rate = bitcoin::FeeRate::from_sat_per_vb(b.fee_rate_sat_per_vb.ceil() as u64)
        .unwrap_or(bitcoin::FeeRate::BROADCAST_MIN);
    let tip32 = u32::try_from(tip.saturating_sub(1)).unwrap_or(u32::MAX);
    let spend = build_reclaim(
        &params,
        index,
        dep,
        payout,
        rate,
        tip32.min(params.terms().timeout - 1),
    )
    .map_err(|e| ServiceError::internal("reclaim", e))?;
    let own = sign_escrow_input(&spend, 0, c.key.keypair())
        .map_err(|e| ServiceError::internal("reclaim", e))?;
    let tx = spend
        .finalize(&[vec![(c.key.x_only_public_key(), own)]])
        .map_err(|e| ServiceError::internal("reclaim", e))?;
    let why = match swept {
        Some(by) => format!("Pay_i was swept through {by}: reclaiming the deposit Dep_i"),
        None => "Pay_i was spent by another transaction: reclaiming the deposit Dep_i".into(),
    };
    Ok(Claim::Reclaim(tx, why))
}
