//! Builders of the transactions that spend a calculator's escrow (Pay_i
//! and, split off by default, Dep_i): Charge_i (Pay_i's charge leaf with
//! Dep_i's reclaim leaf), Redeem_i (both through the dispute leaf), the
//! reclaim of Dep_i alone (after a sweep took Pay_i), the Pay -> Pay'
//! conversion (Pay_i only), and the collusion sweep (every Pay_j).
//!
//! Each builder returns an unsigned [`EscrowSpend`]: the transaction, the
//! prevouts (needed for BIP-341 sighashes), and per input the leaf and its
//! control block. The fee is `rate * vsize` of the *signed* transaction,
//! computed from placeholder witnesses of the final size (see [`super::fee`]);
//! a rate below [`super::fee::MIN_RELAY_FEE_RATE`] (1 sat/vB) is refused.

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::taproot::ControlBlock;
use bitcoin::transaction::Version;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use super::fee::{
    check_fee_rate, check_not_dust, fee_for_weight, subtract_fee, weight_with_witnesses,
    SCHNORR_SIG_LEN,
};
use super::script::{EscrowOutput, Leaf, LeafKind};
use super::sign::leaf_witness;
use super::terms::EscrowParams;
use crate::{Error, Result};

/// An escrow output on chain: Pay_i's outpoint and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscrowUtxo {
    /// Where the output is (funding txid; Pay_i at vout i, Dep_i at n + i).
    pub outpoint: OutPoint,
    /// Its value (Pay_i: d, or d + g in the paper's variant; Dep_i: g; Pay'_i: less the conversion fee).
    pub value: Amount,
}

/// One calculator's escrow on chain: Pay_i and, unless the job uses the
/// paper's variant (`trap_deposit`), its deposit output Dep_i.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotEscrow {
    /// Pay_i (or Pay'_i after the conversion).
    pub pay: EscrowUtxo,
    /// Dep_i.
    pub deposit: Option<EscrowUtxo>,
}

impl SlotEscrow {
    /// d + g as on chain.
    pub fn value(&self) -> Amount {
        self.pay.value + self.deposit.map(|d| d.value).unwrap_or(Amount::ZERO)
    }
}

/// The (output, utxo, leaf) sources of a spend of `slot` through `pay_leaf`
/// on Pay_i and `deposit_leaf` on Dep_i.
pub(crate) fn slot_sources(
    params: &EscrowParams,
    index: usize,
    slot: &SlotEscrow,
    pay_leaf: LeafKind,
    deposit_leaf: LeafKind,
) -> Result<Vec<(EscrowOutput, EscrowUtxo, LeafKind)>> {
    let mut sources = vec![(EscrowOutput::new(params, index)?, slot.pay, pay_leaf)];
    match (params.split(), slot.deposit) {
        (true, Some(d)) => sources.push((EscrowOutput::deposit(params, index)?, d, deposit_leaf)),
        (false, None) => {}
        (true, None) => {
            return Err(Error::TermsMismatch(
                "the terms split the deposit off: Dep_i is missing".into(),
            ))
        }
        (false, Some(_)) => {
            return Err(Error::TermsMismatch(
                "the deposit is in Pay_i (trap_deposit): no Dep_i".into(),
            ))
        }
    }
    Ok(sources)
}

/// How an input of an [`EscrowSpend`] is unlocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendInput {
    /// The leaf revealed.
    pub leaf: Leaf,
    /// Its control block.
    pub control_block: ControlBlock,
}

/// An unsigned spend of one or more escrow outputs through a script path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscrowSpend {
    /// The transaction, witnesses empty until [`EscrowSpend::finalize`].
    pub tx: Transaction,
    /// The outputs spent, in input order.
    pub prevouts: Vec<TxOut>,
    /// Per input, the leaf used.
    pub inputs: Vec<SpendInput>,
    /// The fee (sum of prevouts minus the output).
    pub fee: Amount,
}

/// Which trap leaf a colluder uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// `<P_M> CHECKSIGVERIFY <C_k> CHECKSIG`.
    Aggregate,
    /// `<C_k> CHECKSIGVERIFY <pk_m1> CHECKSIG ... <l> NUMEQUAL`.
    Threshold,
}

/// Placeholder witness of the final size for `leaf`.
fn dummy_witness(input: &SpendInput) -> Witness {
    let present = input.leaf.signature_count();
    let sigs: Vec<Option<Signature>> = (0..input.leaf.signers.len())
        .map(|k| {
            (k < present)
                .then(|| Signature::from_slice(&[1u8; SCHNORR_SIG_LEN]).ok())
                .flatten()
        })
        .collect();
    leaf_witness(&input.leaf, &input.control_block, &sigs)
}

/// Spends `sources` (escrow, utxo, leaf) to one output paying `payout`.
fn build_spend(
    sources: Vec<(EscrowOutput, EscrowUtxo, LeafKind)>,
    lock_time: LockTime,
    sequence: Sequence,
    payout: ScriptBuf,
    fee_rate: FeeRate,
) -> Result<EscrowSpend> {
    check_fee_rate(fee_rate)?;
    let mut total = Amount::ZERO;
    let (mut prevouts, mut inputs, mut txins) = (Vec::new(), Vec::new(), Vec::new());
    for (escrow, utxo, kind) in sources {
        total = total.checked_add(utxo.value).ok_or(Error::AmountOverflow)?;
        prevouts.push(TxOut {
            value: utxo.value,
            script_pubkey: escrow.script_pubkey(),
        });
        inputs.push(SpendInput {
            leaf: escrow.leaf(kind)?.clone(),
            control_block: escrow.control_block(kind)?,
        });
        txins.push(TxIn {
            previous_output: utxo.outpoint,
            script_sig: ScriptBuf::new(),
            sequence,
            witness: Witness::new(),
        });
    }
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time,
        input: txins,
        output: vec![TxOut {
            value: Amount::ZERO,
            script_pubkey: payout,
        }],
    };
    let dummies: Vec<Witness> = inputs.iter().map(dummy_witness).collect();
    let fee = fee_for_weight(weight_with_witnesses(&tx, &dummies), fee_rate)?;
    let value = subtract_fee(total, fee)?;
    check_not_dust(&tx.output[0].script_pubkey, value)?;
    tx.output[0].value = value;
    Ok(EscrowSpend {
        tx,
        prevouts,
        inputs,
        fee,
    })
}

fn timeout_lock(params: &EscrowParams, current_height: u32) -> Result<LockTime> {
    let t = params.terms().timeout;
    if t <= current_height {
        return Err(Error::InvalidTimeout { t, current_height });
    }
    LockTime::from_height(t).map_err(|_| Error::InvalidTimeout { t, current_height })
}

/// Charge_i: Pay_i (charge leaf: O and C_i) and Dep_i (reclaim leaf: C_i)
/// -> C_i's `payout`, nLockTime = t, nSequence 0xFFFFFFFE. O signs input 0
/// only. Refused unless t > `current_height` (the tip).
pub fn build_charge(
    params: &EscrowParams,
    index: usize,
    slot: SlotEscrow,
    payout: ScriptBuf,
    fee_rate: FeeRate,
    current_height: u32,
) -> Result<EscrowSpend> {
    let lock = timeout_lock(params, current_height)?;
    build_spend(
        slot_sources(params, index, &slot, LeafKind::Charge, LeafKind::Reclaim)?,
        lock,
        Sequence::ENABLE_LOCKTIME_NO_RBF,
        payout,
        fee_rate,
    )
}

/// Dep_i alone -> C_i's `payout` through the reclaim leaf, nLockTime = t:
/// C_i's deposit back once Pay_i can no longer be charged (a sweep took
/// it). Refused in the paper's variant (no Dep_i).
pub fn build_reclaim(
    params: &EscrowParams,
    index: usize,
    deposit: EscrowUtxo,
    payout: ScriptBuf,
    fee_rate: FeeRate,
    current_height: u32,
) -> Result<EscrowSpend> {
    let lock = timeout_lock(params, current_height)?;
    build_spend(
        vec![(
            EscrowOutput::deposit(params, index)?,
            deposit,
            LeafKind::Reclaim,
        )],
        lock,
        Sequence::ENABLE_LOCKTIME_NO_RBF,
        payout,
        fee_rate,
    )
}

/// Redeem_i: Pay_i and Dep_i -> O's `payout` through their dispute leaves
/// (O and T sign each input), nLockTime 0: valid at once.
pub fn build_redeem(
    params: &EscrowParams,
    index: usize,
    slot: SlotEscrow,
    payout: ScriptBuf,
    fee_rate: FeeRate,
) -> Result<EscrowSpend> {
    build_spend(
        slot_sources(params, index, &slot, LeafKind::Dispute, LeafKind::Dispute)?,
        LockTime::ZERO,
        Sequence::ENABLE_RBF_NO_LOCKTIME,
        payout,
        fee_rate,
    )
}

/// The conversion Pay_i -> Pay'_i through the charge leaf, nLockTime 0.
/// `converted` must be `params` with only the collusion key(s) changed.
/// The conversion fee comes out of the escrow.
pub fn build_conversion(
    params: &EscrowParams,
    converted: &EscrowParams,
    index: usize,
    utxo: EscrowUtxo,
    fee_rate: FeeRate,
) -> Result<EscrowSpend> {
    if !params.same_job_as(converted)
        || params.terms().collusion_key == converted.terms().collusion_key
    {
        return Err(Error::TermsMismatch(
            "Pay' must differ from Pay only in the collusion key".into(),
        ));
    }
    let escrow = EscrowOutput::new(params, index)?;
    let target = EscrowOutput::new(converted, index)?.script_pubkey();
    build_spend(
        vec![(escrow, utxo, LeafKind::Charge)],
        LockTime::ZERO,
        Sequence::ENABLE_RBF_NO_LOCKTIME,
        target,
        fee_rate,
    )
}

/// The collusion sweep: calculator `colluder` spends every Pay_j (`utxos[j]`
/// for j = 0..n) through its own trap leaf to `payout`.
pub fn build_sweep(
    params: &EscrowParams,
    colluder: usize,
    utxos: &[EscrowUtxo],
    payout: ScriptBuf,
    fee_rate: FeeRate,
    kind: TrapKind,
) -> Result<EscrowSpend> {
    let n = params.n();
    params.calculator(colluder)?;
    if utxos.len() != n {
        return Err(Error::TermsMismatch(format!(
            "sweep needs {n} escrow outputs, got {}",
            utxos.len()
        )));
    }
    let leaf = match kind {
        TrapKind::Aggregate => LeafKind::Trap(colluder),
        TrapKind::Threshold => LeafKind::ThresholdTrap(colluder),
    };
    let sources = utxos
        .iter()
        .enumerate()
        .map(|(j, u)| Ok((EscrowOutput::new(params, j)?, *u, leaf)))
        .collect::<Result<Vec<_>>>()?;
    build_spend(
        sources,
        LockTime::ZERO,
        Sequence::ENABLE_RBF_NO_LOCKTIME,
        payout,
        fee_rate,
    )
}
