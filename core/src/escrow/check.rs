//! What the arbiter T and a calculator C_i check before they sign a spend of
//! Pay_i that O proposes: [`check_redeem`] (T, dispute leaf, pays O) and
//! [`check_conversion`] (C_i, charge leaf, Pay_i -> Pay'_i).
//!
//! Both take O's proposal as an [`EscrowSpend`] and return a *rebuilt*
//! spend (the proposal's transaction with empty witnesses and script sigs,
//! prevouts, leaf and control block recomputed from the agreed terms): the
//! signer signs the returned spend, never the proposal. Every deviation from
//! what the builders ([`super::build_redeem`], [`super::build_conversion`])
//! make is a typed refusal, [`Error::SpendRefused`] with a [`SpendFault`];
//! only the fee may differ (another fee rate), up to the signer's bound.
//!
//! Why the leaf matters: C_i's key is also in trap_i (`<P_M> CHECKSIGVERIFY
//! <C_i> CHECKSIG`) and O knows P_M's secret, so a C_i signature over a
//! trap-leaf sighash would let O take Pay_i. The sighash commits to the leaf,
//! so the rebuilt spend (charge leaf) is the only one C_i may sign.

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, Script, ScriptBuf, Sequence, TxOut, Witness};

use super::fee::check_not_dust;
use super::script::{EscrowOutput, LeafKind};
use super::spend::{slot_sources, EscrowSpend, EscrowUtxo, SlotEscrow, SpendInput};
use super::terms::EscrowParams;
use crate::{Error, Result};

/// Why a proposed escrow spend is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpendFault {
    /// Transaction version other than 2.
    #[error("version {0}, expected 2")]
    Version(i32),
    /// nLockTime other than the builder's.
    #[error("nLockTime {got}, expected {expected}")]
    LockTime {
        /// The builder's value.
        expected: u32,
        /// The proposal's value.
        got: u32,
    },
    /// nSequence other than the builder's.
    #[error("nSequence {got:#x}, expected {expected:#x}")]
    Sequence {
        /// The builder's value.
        expected: u32,
        /// The proposal's value.
        got: u32,
    },
    /// Not the inputs the spend must have.
    #[error("{got} inputs, expected exactly {expected}")]
    InputCount {
        /// The builder's count.
        expected: usize,
        /// The proposal's count.
        got: usize,
    },
    /// Not exactly one output.
    #[error("{0} outputs, expected exactly 1")]
    OutputCount(usize),
    /// An input does not spend the escrow output (or has a script sig).
    #[error("the inputs do not spend exactly the escrow outputs")]
    WrongInput,
    /// The prevout given for the sighash is not the escrow output.
    #[error("the prevout is not the escrow output's script and value")]
    WrongPrevout,
    /// The leaf or control block is not the one this spend must use.
    #[error("the spend does not use the {0} leaf of the escrow output")]
    WrongLeaf(&'static str),
    /// The output does not pay the agreed script.
    #[error("the output does not pay the agreed script")]
    WrongOutput,
    /// The output is worth more than the input.
    #[error("the output exceeds the input value")]
    OutputAboveInput,
    /// The fee exceeds the signer's bound.
    #[error("fee {fee} sat above the maximum {max} sat")]
    FeeAboveMax {
        /// Fee of the proposal (input minus output).
        fee: u64,
        /// The signer's bound.
        max: u64,
    },
    /// The "converted" terms are not a Pay' of the job (they differ in more
    /// than the collusion keys, or not in them).
    #[error("the converted terms are not a Pay' of this job")]
    NotAConversion,
    /// The Charge'_i given as checked does not spend this conversion's output
    /// through Pay'_i's charge leaf with nLockTime t.
    #[error("the checked Charge'_i does not spend this conversion's Pay'_i")]
    ChargeNotOnConversion,
}

/// What one checked spend must look like.
struct Expected<'a> {
    what: &'static str,
    leaf_name: &'static str,
    lock_time: LockTime,
    sequence: Sequence,
    payout: &'a Script,
}

/// T's check of the Redeem_i that O asks it to sign: `proposal` spends
/// exactly `slot` (Pay_i, then Dep_i, of `params`, index `index`) through
/// their dispute leaves, version 2, nLockTime 0, nSequence 0xFFFFFFFD, one
/// output paying everything but at most `max_fee` to O's `payout` (not
/// dust). Returns the rebuilt spend for T to sign. After a conversion, pass
/// the converted terms and Pay'_i.
pub fn check_redeem(
    params: &EscrowParams,
    index: usize,
    slot: SlotEscrow,
    proposal: &EscrowSpend,
    payout: &Script,
    max_fee: Amount,
) -> Result<EscrowSpend> {
    let expected = Expected {
        what: "Redeem",
        leaf_name: "dispute",
        lock_time: LockTime::ZERO,
        sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
        payout,
    };
    let sources = slot_sources(params, index, &slot, LeafKind::Dispute, LeafKind::Dispute)?;
    check_spend(index, sources, proposal, &expected, max_fee)
}

/// C_i's check of the conversion Pay_i -> Pay'_i that O asks it to sign:
/// `converted` is a Pay' of `params` (only the collusion keys differ);
/// `proposal` spends exactly `utxo` (Pay_i) through the charge leaf, version
/// 2, nLockTime 0, nSequence 0xFFFFFFFD, into exactly Pay'_i (the converted
/// terms' output for `index`) with a fee of at most `max_fee`. `slot` is
/// C_i's escrow in the funding (Pay_i and Dep_i); the conversion spends
/// Pay_i only.
///
/// `checked_charge` must be what [`super::check_presigned_charge`] returned
/// for O's presigned Charge'_i on the converted terms (C_i checks it
/// *before* this): it must spend output 0 of this conversion through Pay'_i's
/// charge leaf with nLockTime t, and Dep_i (`slot.deposit`, its script and
/// value) when split off, or the conversion is refused. Returns the
/// rebuilt conversion for C_i to sign.
pub fn check_conversion(
    params: &EscrowParams,
    converted: &EscrowParams,
    index: usize,
    slot: SlotEscrow,
    proposal: &EscrowSpend,
    max_fee: Amount,
    checked_charge: &EscrowSpend,
) -> Result<EscrowSpend> {
    let refuse = |fault| Error::SpendRefused {
        what: "conversion",
        index,
        fault,
    };
    let converted_key = converted.terms().collusion_key;
    if !params.same_job_as(converted) || params.terms().collusion_key == converted_key {
        return Err(refuse(SpendFault::NotAConversion));
    }
    let target = EscrowOutput::new(converted, index)?;
    let target_script = target.script_pubkey();
    let expected = Expected {
        what: "conversion",
        leaf_name: "charge",
        lock_time: LockTime::ZERO,
        sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
        payout: &target_script,
    };
    let sources = vec![(
        EscrowOutput::new(params, index)?,
        slot.pay,
        LeafKind::Charge,
    )];
    let spend = check_spend(index, sources, proposal, &expected, max_fee)?;

    // The Charge'_i C_i holds must spend exactly this conversion's output
    // (through Pay'_i's charge leaf), and Dep_i with it if split off.
    let pay2 = OutPoint {
        txid: spend.tx.compute_txid(),
        vout: 0,
    };
    let charge_leaf = target.leaf(LeafKind::Charge)?;
    let charge_cb = target.control_block(LeafKind::Charge)?;
    // Dep_i is the same output under both terms (no collusion key in it).
    let deposit = match (converted.split(), slot.deposit) {
        (true, Some(d)) => Some((
            d.outpoint,
            EscrowOutput::deposit(converted, index)?,
            d.value,
        )),
        (false, None) => None,
        _ => return Err(refuse(SpendFault::ChargeNotOnConversion)),
    };
    let on_deposit = match &deposit {
        None => checked_charge.tx.input.len() == 1,
        Some((outpoint, out, value)) => {
            checked_charge.tx.input.len() == 2
                && checked_charge.tx.input[1].previous_output == *outpoint
                && checked_charge
                    .prevouts
                    .get(1)
                    .is_some_and(|p| p.script_pubkey == out.script_pubkey() && p.value == *value)
        }
    };
    let on_pay2 = checked_charge.tx.lock_time.to_consensus_u32() == params.terms().timeout
        && on_deposit
        && checked_charge.tx.input[0].previous_output == pay2
        && checked_charge.prevouts.first() == spend.tx.output.first()
        && checked_charge
            .inputs
            .first()
            .is_some_and(|s| s.leaf == *charge_leaf && s.control_block == charge_cb);
    if !on_pay2 {
        return Err(refuse(SpendFault::ChargeNotOnConversion));
    }
    Ok(spend)
}

/// The common check of a one-output spend of escrow outputs: `sources`
/// are (output, utxo, leaf) in input order.
fn check_spend(
    index: usize,
    sources: Vec<(EscrowOutput, EscrowUtxo, LeafKind)>,
    proposal: &EscrowSpend,
    expected: &Expected<'_>,
    max_fee: Amount,
) -> Result<EscrowSpend> {
    let refuse = |fault| {
        Err(Error::SpendRefused {
            what: expected.what,
            index,
            fault,
        })
    };
    let tx = &proposal.tx;
    if tx.version != Version::TWO {
        return refuse(SpendFault::Version(tx.version.0));
    }
    let lock = tx.lock_time.to_consensus_u32();
    if lock != expected.lock_time.to_consensus_u32() {
        let expected = expected.lock_time.to_consensus_u32();
        return refuse(SpendFault::LockTime {
            expected,
            got: lock,
        });
    }
    if tx.input.len() != sources.len() {
        return refuse(SpendFault::InputCount {
            expected: sources.len(),
            got: tx.input.len(),
        });
    }
    let [output] = tx.output.as_slice() else {
        return refuse(SpendFault::OutputCount(tx.output.len()));
    };
    let (mut prevouts, mut inputs, mut total) = (Vec::new(), Vec::new(), Amount::ZERO);
    for (input, (escrow, utxo, leaf)) in tx.input.iter().zip(&sources) {
        if input.previous_output != utxo.outpoint || !input.script_sig.is_empty() {
            return refuse(SpendFault::WrongInput);
        }
        if input.sequence != expected.sequence {
            let (expected, got) = (
                expected.sequence.to_consensus_u32(),
                input.sequence.to_consensus_u32(),
            );
            return refuse(SpendFault::Sequence { expected, got });
        }
        prevouts.push(TxOut {
            value: utxo.value,
            script_pubkey: escrow.script_pubkey(),
        });
        inputs.push(SpendInput {
            leaf: escrow.leaf(*leaf)?.clone(),
            control_block: escrow.control_block(*leaf)?,
        });
        total = total.checked_add(utxo.value).ok_or(Error::AmountOverflow)?;
    }
    if proposal.prevouts != prevouts {
        return refuse(SpendFault::WrongPrevout);
    }
    if proposal.inputs != inputs {
        return refuse(SpendFault::WrongLeaf(expected.leaf_name));
    }
    if output.script_pubkey.as_script() != expected.payout {
        return refuse(SpendFault::WrongOutput);
    }
    let Some(fee) = total.checked_sub(output.value) else {
        return refuse(SpendFault::OutputAboveInput);
    };
    if fee > max_fee {
        return refuse(SpendFault::FeeAboveMax {
            fee: fee.to_sat(),
            max: max_fee.to_sat(),
        });
    }
    check_not_dust(expected.payout, output.value)?;
    let mut clean = tx.clone();
    for i in &mut clean.input {
        i.witness = Witness::new();
        i.script_sig = ScriptBuf::new();
    }
    Ok(EscrowSpend {
        tx: clean,
        prevouts,
        inputs,
        fee,
    })
}
