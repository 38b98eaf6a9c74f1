//! The funding transaction: O pays n*d plus the fee, each C_i deposits g;
//! outputs 0..n-1 are Pay_1..Pay_n (d each) and n..2n-1 Dep_1..Dep_n (g
//! each); in the paper's variant (`trap_deposit`) only Pay_1..Pay_n, with
//! d + g each.
//!
//! Layout (fixed, so every party can check it): inputs are O's, then C_1's,
//! ..., C_n's, in the order given; outputs are the escrow outputs, then O's
//! change, then each calculator's change, each only if not dust (a
//! change below the dust limit is left to the miners). O pays the whole
//! funding fee: `rate * vsize`, with every input a P2TR key-path spend
//! (64-byte signature), which is why non-P2TR inputs are refused. Inputs use
//! nSequence 0xFFFFFFFE (no RBF signal): replacing the funding transaction
//! would orphan the presigned Charge_i.

use std::collections::HashSet;

use bitcoin::absolute::LockTime;
use bitcoin::psbt::Psbt;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, FeeRate, OutPoint, Script, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
};

use super::fee::{
    check_fee_rate, dummy_key_path_witness, dust_limit, fee_for_weight, weight_with_witnesses,
};
use super::script::EscrowOutput;
use super::spend::{EscrowUtxo, SlotEscrow};
use super::terms::EscrowParams;
use crate::{Error, Result};

/// A coin a party puts into the funding transaction (must be P2TR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingInput {
    /// The coin.
    pub outpoint: OutPoint,
    /// Its value and P2TR scriptPubKey.
    pub txout: TxOut,
}

/// A calculator's contribution: coins covering g, and its change script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalculatorFunding {
    /// Coins, together at least g.
    pub inputs: Vec<FundingInput>,
    /// Where the excess goes.
    pub change: ScriptBuf,
}

/// Who must sign a funding input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOwner {
    /// O.
    Outsourcer,
    /// Calculator with this 0-based index.
    Calculator(usize),
}

/// The unsigned funding transaction as a PSBT, with what the parties need.
#[derive(Debug, Clone)]
pub struct FundingPlan {
    /// Unsigned PSBT, every input with its `witness_utxo`.
    pub psbt: Psbt,
    /// Owner of each input.
    pub owners: Vec<InputOwner>,
    /// Total fee of the signed transaction (inputs minus outputs).
    pub fee: Amount,
    /// n: outputs 0..n are Pay_1..Pay_n, n..2n Dep_1..Dep_n if split.
    n: usize,
    /// Whether the deposits have outputs of their own.
    split: bool,
}

/// Escrow output `vout` of the funding transaction `tx`, as it is on chain.
fn escrow_utxo(tx: &Transaction, vout: usize) -> Result<EscrowUtxo> {
    let len = tx.output.len();
    let out = tx
        .output
        .get(vout)
        .ok_or(Error::EscrowIndexOutOfRange { index: vout, len })?;
    Ok(EscrowUtxo {
        outpoint: OutPoint {
            txid: tx.compute_txid(),
            vout: u32::try_from(vout)
                .map_err(|_| Error::EscrowIndexOutOfRange { index: vout, len })?,
        },
        value: out.value,
    })
}

/// Where calculator `index`'s escrow is in the funding transaction `txid`
/// of `params` (Pay_i at vout i, Dep_i at vout n + i): what every party
/// derives once it knows the txid.
pub fn slot_escrow(params: &EscrowParams, txid: bitcoin::Txid, index: usize) -> Result<SlotEscrow> {
    let n = params.n();
    if index >= n {
        return Err(Error::EscrowIndexOutOfRange { index, len: n });
    }
    let at = |vout: usize, value| {
        Ok::<_, Error>(EscrowUtxo {
            outpoint: OutPoint {
                txid,
                vout: u32::try_from(vout)
                    .map_err(|_| Error::EscrowIndexOutOfRange { index, len: n })?,
            },
            value,
        })
    };
    Ok(SlotEscrow {
        pay: at(index, params.pay_value())?,
        deposit: match params.deposit_value() {
            Some(g) => Some(at(n + index, g)?),
            None => None,
        },
    })
}

impl FundingPlan {
    /// Pay_{index+1} as it will be on chain (the txid does not depend on the
    /// witnesses, so it is known before signing). Refuses `index >= n`: the
    /// outputs after Pay_n are deposits or change.
    pub fn pay_utxo(&self, index: usize) -> Result<EscrowUtxo> {
        if index >= self.n {
            return Err(Error::EscrowIndexOutOfRange { index, len: self.n });
        }
        escrow_utxo(&self.psbt.unsigned_tx, index)
    }

    /// Calculator `index`'s escrow as it will be on chain: Pay_i and Dep_i.
    pub fn slot_escrow(&self, index: usize) -> Result<SlotEscrow> {
        let pay = self.pay_utxo(index)?;
        let deposit = if self.split {
            Some(escrow_utxo(&self.psbt.unsigned_tx, self.n + index)?)
        } else {
            None
        };
        Ok(SlotEscrow { pay, deposit })
    }
}

fn sum(inputs: &[FundingInput]) -> Result<Amount> {
    inputs.iter().try_fold(Amount::ZERO, |a, i| {
        a.checked_add(i.txout.value).ok_or(Error::AmountOverflow)
    })
}

/// Builds the funding PSBT. `calculators[i]` is C_{i+1}'s deposit.
/// Refuses an outpoint given twice (by one party or by two: the
/// transaction would be invalid) and a rate below
/// [`super::fee::MIN_RELAY_FEE_RATE`].
pub fn build_funding(
    params: &EscrowParams,
    outsourcer_inputs: &[FundingInput],
    outsourcer_change: ScriptBuf,
    calculators: &[CalculatorFunding],
    fee_rate: FeeRate,
) -> Result<FundingPlan> {
    check_fee_rate(fee_rate)?;
    let n = params.n();
    if calculators.len() != n {
        return Err(Error::TermsMismatch(format!(
            "{} calculator deposits for n = {n}",
            calculators.len()
        )));
    }
    let (d, g) = (params.terms().fee, params.terms().deposit);
    let mut inputs: Vec<(&FundingInput, InputOwner)> = outsourcer_inputs
        .iter()
        .map(|i| (i, InputOwner::Outsourcer))
        .collect();
    let mut outputs = escrow_txouts(params)?;
    let mut calc_change = Vec::new();
    for (i, c) in calculators.iter().enumerate() {
        inputs.extend(c.inputs.iter().map(|inp| (inp, InputOwner::Calculator(i))));
        let have = sum(&c.inputs)?;
        let change = have.checked_sub(g).ok_or(Error::InsufficientFunds {
            have: have.to_sat(),
            need: g.to_sat(),
        })?;
        if change >= dust_limit(&c.change) {
            calc_change.push(TxOut {
                value: change,
                script_pubkey: c.change.clone(),
            });
        }
    }
    let mut seen = HashSet::new();
    if let Some((dup, _)) = inputs.iter().find(|(i, _)| !seen.insert(i.outpoint)) {
        return Err(Error::DuplicateOutpoint {
            outpoint: dup.outpoint,
        });
    }
    if let Some((bad, _)) = inputs
        .iter()
        .find(|(i, _)| !i.txout.script_pubkey.is_p2tr())
    {
        return Err(Error::TermsMismatch(format!(
            "funding input {} is not P2TR",
            bad.outpoint
        )));
    }
    let o_have = sum(outsourcer_inputs)?;
    let o_pays = d.checked_mul(n as u64).ok_or(Error::AmountOverflow)?;
    let tx_with = |o_change: Option<TxOut>| {
        let mut outs = outputs.clone();
        outs.extend(o_change);
        outs.extend(calc_change.iter().cloned());
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .iter()
                .map(|(i, _)| TxIn {
                    previous_output: i.outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
                    witness: Witness::new(),
                })
                .collect(),
            output: outs,
        }
    };
    let dummies = vec![dummy_key_path_witness(); inputs.len()];
    let placeholder = TxOut {
        value: Amount::ZERO,
        script_pubkey: outsourcer_change.clone(),
    };
    let fee_with = fee_for_weight(
        weight_with_witnesses(&tx_with(Some(placeholder)), &dummies),
        fee_rate,
    )?;
    let o_change = o_have
        .checked_sub(o_pays)
        .and_then(|r| r.checked_sub(fee_with));
    let tx = match o_change {
        Some(c) if c >= dust_limit(&outsourcer_change) => tx_with(Some(TxOut {
            value: c,
            script_pubkey: outsourcer_change,
        })),
        _ => {
            let fee_without =
                fee_for_weight(weight_with_witnesses(&tx_with(None), &dummies), fee_rate)?;
            let need = o_pays
                .checked_add(fee_without)
                .ok_or(Error::AmountOverflow)?;
            if o_have < need {
                return Err(Error::InsufficientFunds {
                    have: o_have.to_sat(),
                    need: need.to_sat(),
                });
            }
            tx_with(None)
        }
    };
    outputs = tx.output.clone();
    let in_total = inputs.iter().try_fold(Amount::ZERO, |a, (i, _)| {
        a.checked_add(i.txout.value).ok_or(Error::AmountOverflow)
    })?;
    let out_total = outputs.iter().try_fold(Amount::ZERO, |a, o| {
        a.checked_add(o.value).ok_or(Error::AmountOverflow)
    })?;
    let fee = in_total
        .checked_sub(out_total)
        .ok_or(Error::AmountOverflow)?;
    let mut psbt = Psbt::from_unsigned_tx(tx).map_err(|e| Error::Taproot(e.to_string()))?;
    for (p, (i, _)) in psbt.inputs.iter_mut().zip(&inputs) {
        p.witness_utxo = Some(i.txout.clone());
    }
    Ok(FundingPlan {
        psbt,
        owners: inputs.iter().map(|(_, o)| *o).collect(),
        fee,
        n,
        split: params.split(),
    })
}

/// The escrow outputs of the funding transaction, in order: Pay_1..Pay_n,
/// then Dep_1..Dep_n if the deposits are split off.
pub fn escrow_txouts(params: &EscrowParams) -> Result<Vec<TxOut>> {
    let n = params.n();
    let mut out = (0..n)
        .map(|i| Ok(EscrowOutput::new(params, i)?.txout()))
        .collect::<Result<Vec<_>>>()?;
    if params.split() {
        for i in 0..n {
            out.push(EscrowOutput::deposit(params, i)?.txout());
        }
    }
    Ok(out)
}

/// Checks that the first outputs of `tx` are exactly the escrow outputs of
/// `params` (Pay_1..Pay_n, then Dep_1..Dep_n if split). Every party runs
/// this before signing its funding inputs.
pub fn check_funding_outputs(tx: &Transaction, params: &EscrowParams) -> Result<()> {
    for (i, expected) in escrow_txouts(params)?.iter().enumerate() {
        if tx.output.get(i) != Some(expected) {
            let n = params.n();
            let what = if i < n {
                format!("Pay_{}", i + 1)
            } else {
                format!("Dep_{}", i - n + 1)
            };
            return Err(Error::TermsMismatch(format!(
                "funding output {i} is not {what}"
            )));
        }
    }
    Ok(())
}

/// Checks what a signer gets back from the funding PSBT: its inputs (those
/// whose `witness_utxo` is `own`) bring some value, of which at most
/// `max_paid` may go elsewhere (g for a calculator; n*d plus the most it
/// pays in fees for O). The rest must come back in outputs after the
/// escrow outputs paying `change`, unless that rest is dust (which [`build_funding`] leaves
/// to the miners). Without this, the escrow outputs can be exactly right
/// while the signer's change is dropped or paid to someone else.
pub fn check_funding_change(
    psbt: &Psbt,
    params: &EscrowParams,
    own: &Script,
    change: &Script,
    max_paid: Amount,
) -> Result<()> {
    let brought = psbt
        .inputs
        .iter()
        .filter_map(|i| i.witness_utxo.as_ref())
        .filter(|u| u.script_pubkey.as_script() == own)
        .try_fold(Amount::ZERO, |a, u| {
            a.checked_add(u.value).ok_or(Error::AmountOverflow)
        })?;
    let owed = brought.checked_sub(max_paid).unwrap_or(Amount::ZERO);
    if owed < dust_limit(change) {
        return Ok(());
    }
    let back = psbt
        .unsigned_tx
        .output
        .iter()
        .skip(params.escrow_outputs())
        .filter(|o| o.script_pubkey.as_script() == change)
        .try_fold(Amount::ZERO, |a, o| {
            a.checked_add(o.value).ok_or(Error::AmountOverflow)
        })?;
    if back < owed {
        return Err(Error::TermsMismatch(format!(
            "funding returns {} sat of change, {} sat are owed",
            back.to_sat(),
            owed.to_sat()
        )));
    }
    Ok(())
}
