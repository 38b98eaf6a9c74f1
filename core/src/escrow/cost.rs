//! What the honest path costs in block space, per calculator: its escrow
//! outputs in the funding transaction and its Charge_i. The deposit split
//! (Dep_i, out of the trap's reach) adds one funding output and one
//! Charge_i input; the docs and the outsourcer's report show both figures
//! (`docs/bitcoin-escrow.md`, "Cost of the split").

use bitcoin::{FeeRate, OutPoint, Txid};

use super::funding::escrow_txouts;
use super::sign::p2tr_key_spend_script;
use super::spend::{build_charge, EscrowUtxo, SlotEscrow};
use super::terms::EscrowParams;
use crate::Result;

/// vbytes of one calculator's honest settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HonestVbytes {
    /// Its escrow outputs in the funding transaction (Pay_i, and Dep_i).
    pub funding_outputs: u64,
    /// Its signed Charge_i (one input per escrow output, one output).
    pub charge: u64,
}

impl HonestVbytes {
    /// Both together.
    pub fn total(&self) -> u64 {
        self.funding_outputs + self.charge
    }
}

/// The honest settlement of calculator `index` under `params`, measured
/// on the real builders (final-size witnesses).
pub fn honest_vbytes(params: &EscrowParams, index: usize) -> Result<HonestVbytes> {
    let outs = escrow_txouts(params)?;
    let per_slot = outs.len() / params.n();
    // An output is 8 value bytes, a length byte and the script (non-witness).
    let output_vb = outs
        .first()
        .map(|o| 9 + o.script_pubkey.len() as u64)
        .unwrap_or(0);
    let at = |vout: u32, value| EscrowUtxo {
        outpoint: OutPoint {
            txid: Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
            vout,
        },
        value,
    };
    let n = params.n() as u32;
    let slot = SlotEscrow {
        pay: at(index as u32, params.pay_value()),
        deposit: params.deposit_value().map(|g| at(n + index as u32, g)),
    };
    let payout = p2tr_key_spend_script(params.calculator(index)?);
    let t = params.terms().timeout;
    let one = FeeRate::from_sat_per_vb(1).unwrap_or(FeeRate::BROADCAST_MIN);
    let charge = build_charge(params, index, slot, payout, one, t.saturating_sub(1))?;
    // At 1 sat/vB the fee is the vsize of the signed transaction.
    Ok(HonestVbytes {
        funding_outputs: per_slot as u64 * output_vb,
        charge: charge.fee.to_sat(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escrow::test_util::terms;

    #[test]
    fn the_split_costs_one_output_and_one_input() {
        let split = EscrowParams::new(terms(3)).unwrap();
        let mut t = terms(3);
        t.trap_deposit = true;
        let paper = EscrowParams::new(t).unwrap();
        let (a, b) = (
            honest_vbytes(&paper, 0).unwrap(),
            honest_vbytes(&split, 0).unwrap(),
        );
        assert_eq!(a.funding_outputs, 43);
        assert_eq!(b.funding_outputs, 86);
        // One more input: outpoint, sequence, and the reclaim witness.
        assert!(
            b.charge > a.charge + 50 && b.charge < a.charge + 90,
            "{a:?} {b:?}"
        );
        println!("paper {a:?} = {}, split {b:?} = {}", a.total(), b.total());
    }
}
