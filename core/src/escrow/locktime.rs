//! Transaction finality, as Bitcoin Core's `IsFinalTx`, and what t means.
//!
//! Core (`consensus/tx_verify.cpp`):
//!
//! ```text
//! if nLockTime == 0: final
//! if nLockTime < (nLockTime < 500000000 ? nBlockHeight : nBlockTime): final
//! else final iff every input has nSequence == 0xffffffff
//! ```
//!
//! where `nBlockHeight` is the height of the block the transaction would be
//! included in (tip + 1 for the mempool) and `nBlockTime` the median time
//! past of the tip.
//!
//! **What t means in BAPay.** Charge_i has nLockTime = t and a non-final
//! sequence, so it is final in a block of height h iff t < h: the earliest
//! block that can contain Charge_i is **t + 1**, and bitcoind accepts it into
//! its mempool once the tip height is **t** ("from height t on",
//! PROTOCOL.md §4). Redeem_i (locktime 0) is valid at once, so O is sure to
//! win a dispute only if Redeem_i is mined in a block of height <= t.

use bitcoin::absolute::LOCK_TIME_THRESHOLD;
use bitcoin::{Sequence, Transaction};

/// Bitcoin Core's `IsFinalTx(tx, block_height, block_time)`: `block_height`
/// is the height of the block being built, `block_time` the median time past
/// of its parent (for timestamp locktimes).
pub fn is_final(tx: &Transaction, block_height: u32, block_time: u32) -> bool {
    let lock = tx.lock_time.to_consensus_u32();
    if lock == 0 {
        return true;
    }
    let limit = if lock < LOCK_TIME_THRESHOLD {
        block_height
    } else {
        block_time
    };
    if lock < limit {
        return true;
    }
    tx.input.iter().all(|i| i.sequence == Sequence::MAX)
}

/// Whether bitcoind with tip at `tip_height` (median time past `mtp`)
/// accepts `tx` into its mempool / the next block: `is_final(tx, tip + 1, mtp)`.
pub fn is_final_at_tip(tx: &Transaction, tip_height: u32, mtp: u32) -> bool {
    is_final(tx, tip_height.saturating_add(1), mtp)
}

/// Whether a Charge_i with timeout `t` can be mined on top of `tip_height`:
/// true iff `tip_height >= t`.
pub fn charge_is_final_at_tip(t: u32, tip_height: u32) -> bool {
    t < tip_height.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::{absolute::LockTime, transaction::Version, OutPoint, ScriptBuf, TxIn, Witness};

    fn tx(lock: u32, seq: Sequence) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::from_consensus(lock),
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::new(),
                sequence: seq,
                witness: Witness::new(),
            }],
            output: vec![],
        }
    }

    #[test]
    fn height_locktime_boundary() {
        let t = 150;
        let charge = tx(t, Sequence::ENABLE_LOCKTIME_NO_RBF);
        assert!(!is_final(&charge, t, 0), "not in block t");
        assert!(is_final(&charge, t + 1, 0), "in block t+1");
        assert!(!is_final_at_tip(&charge, t - 1, 0));
        assert!(is_final_at_tip(&charge, t, 0));
        assert!(!charge_is_final_at_tip(t, t - 1));
        assert!(charge_is_final_at_tip(t, t));
    }

    #[test]
    fn final_sequence_disables_locktime() {
        assert!(is_final(&tx(150, Sequence::MAX), 10, 0));
        assert!(is_final(&tx(0, Sequence::ZERO), 0, 0));
    }

    #[test]
    fn time_locktime_uses_block_time() {
        let lock = 1_700_000_000;
        let t = tx(lock, Sequence::ENABLE_LOCKTIME_NO_RBF);
        assert!(!is_final(&t, 1_000_000, lock));
        assert!(is_final(&t, 1, lock + 1));
    }
}
