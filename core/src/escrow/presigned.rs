//! What a calculator checks before it signs anything: O's presigned
//! Charge_i (PROTOCOL.md §4, flow step 2, Lightning's order of signatures),
//! and the assembly of a signed escrow spend, which verifies every
//! signature it puts into a witness.

use bitcoin::secp256k1::{schnorr::Signature, XOnlyPublicKey};
use bitcoin::transaction::Version;
use bitcoin::{Amount, Script, Sequence, Transaction, TxOut, Witness};

use super::fee::check_not_dust;
use super::script::LeafKind;
use super::sign::{leaf_witness, verify_escrow_signature};
use super::spend::{slot_sources, EscrowSpend, SlotEscrow, SpendInput};
use super::terms::EscrowParams;
use crate::{Error, Result};

/// C_i's check of the Charge_i that O presigned (before C_i signs funding):
/// it spends exactly `slot` (Pay_i through the charge leaf, then Dep_i
/// through the reclaim leaf when the deposit is split off), has nLockTime
/// = t and non-final sequences, pays everything but at most `max_fee` to
/// `payout`, and `o_sig` is O's valid signature of input 0 (the reclaim
/// input needs none). Returns the spend, ready for C_i to sign.
pub fn check_presigned_charge(
    params: &EscrowParams,
    index: usize,
    slot: SlotEscrow,
    tx: &Transaction,
    o_sig: &Signature,
    payout: &Script,
    max_fee: Amount,
) -> Result<EscrowSpend> {
    let mismatch = |m: &str| Err(Error::TermsMismatch(format!("Charge_{}: {m}", index + 1)));
    let t = params.terms().timeout;
    if tx.version != Version::TWO || tx.lock_time.to_consensus_u32() != t {
        return mismatch("version or nLockTime");
    }
    let sources = slot_sources(params, index, &slot, LeafKind::Charge, LeafKind::Reclaim)?;
    if tx.input.len() != sources.len() {
        return mismatch(if params.split() {
            "must spend exactly Pay_i and Dep_i"
        } else {
            "must spend exactly Pay_i"
        });
    }
    let [output] = tx.output.as_slice() else {
        return mismatch("must have one output");
    };
    // The sighash does not commit to the script sig, so O's signature stays
    // valid with one; but a taproot spend with a script sig is invalid, and
    // C_i would keep a Charge_i it can never broadcast.
    for (input, (_, utxo, _)) in tx.input.iter().zip(&sources) {
        if input.previous_output != utxo.outpoint
            || input.sequence != Sequence::ENABLE_LOCKTIME_NO_RBF
            || !input.script_sig.is_empty()
        {
            return mismatch(
                "inputs are not Pay_i, Dep_i with sequence 0xfffffffe and no script sig",
            );
        }
    }
    if output.script_pubkey.as_script() != payout {
        return mismatch("output does not pay C_i");
    }
    let fee = slot
        .value()
        .checked_sub(output.value)
        .ok_or(Error::AmountOverflow)?;
    if fee > max_fee {
        return Err(Error::TermsMismatch(format!(
            "Charge_{}: fee {} sat above the agreed maximum {} sat",
            index + 1,
            fee.to_sat(),
            max_fee.to_sat()
        )));
    }
    check_not_dust(payout, output.value)?;
    let mut unsigned = tx.clone();
    let mut prevouts = Vec::new();
    let mut inputs = Vec::new();
    for (k, (escrow, utxo, leaf)) in sources.iter().enumerate() {
        unsigned.input[k].witness = Witness::new();
        prevouts.push(TxOut {
            value: utxo.value,
            script_pubkey: escrow.script_pubkey(),
        });
        inputs.push(SpendInput {
            leaf: escrow.leaf(*leaf)?.clone(),
            control_block: escrow.control_block(*leaf)?,
        });
    }
    let spend = EscrowSpend {
        tx: unsigned,
        prevouts,
        inputs,
        fee,
    };
    verify_escrow_signature(&spend, 0, &params.terms().outsourcer, o_sig)?;
    Ok(spend)
}

impl EscrowSpend {
    /// Assembles the signed transaction. `sigs[i]` are input i's signatures
    /// as (key, signature) in any order. Every signer of a two-key leaf must
    /// sign; a threshold leaf needs C_j and exactly l message keys. Each
    /// signature is verified before it goes into the witness.
    pub fn finalize(&self, sigs: &[Vec<(XOnlyPublicKey, Signature)>]) -> Result<Transaction> {
        if sigs.len() != self.inputs.len() {
            return Err(Error::EscrowIndexOutOfRange {
                index: sigs.len(),
                len: self.inputs.len(),
            });
        }
        let mut tx = self.tx.clone();
        for (i, (input, given)) in self.inputs.iter().zip(sigs).enumerate() {
            let mut slots: Vec<Option<Signature>> = vec![None; input.leaf.signers.len()];
            for (key, sig) in given {
                let pos = input
                    .leaf
                    .signers
                    .iter()
                    .position(|k| k == key)
                    .ok_or_else(|| Error::NotASigner(key.to_string()))?;
                verify_escrow_signature(self, i, key, sig)?;
                slots[pos] = Some(*sig);
            }
            let missing = |k: usize| Error::MissingSignature(input.leaf.signers[k].to_string());
            match input.leaf.threshold {
                None => {
                    if let Some(k) = slots.iter().position(Option::is_none) {
                        return Err(missing(k));
                    }
                }
                Some(l) => {
                    if slots[0].is_none() {
                        return Err(missing(0));
                    }
                    let count = slots[1..].iter().filter(|s| s.is_some()).count();
                    if count != l {
                        return Err(Error::InvalidThreshold(format!(
                            "{count} message signatures, need exactly {l}"
                        )));
                    }
                }
            }
            tx.input[i].witness = leaf_witness(&input.leaf, &input.control_block, &slots);
        }
        Ok(tx)
    }
}
