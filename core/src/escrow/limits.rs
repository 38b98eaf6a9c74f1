//! How large an escrow may be, so that every transaction of the protocol can
//! be spent (consensus) and relayed (Bitcoin Core's standardness policy).
//!
//! Two bounds, both checked by [`super::EscrowParams::new`]:
//!
//! - Every escrow: n <= [`MAX_ESCROW_CALCULATORS`] = 256. The largest
//!   transactions of a plain escrow are the funding transaction (n + 1
//!   key-path inputs at least, 2n + 1 outputs) and the collusion sweep (n
//!   inputs, each revealing a trap leaf at depth 2 + ceil(log2 n)); at
//!   n = 256 they weigh about 150,000 and 185,000 WU, well below the standard
//!   limit of [`MAX_STANDARD_TX_WEIGHT`] = 400,000 WU. The trap subtree then
//!   has depth ceil(log2(2n)) = 9 <= 128 - 2 (the taproot tree, whose trap
//!   subtree hangs at depth 2, may be at most 128 deep).
//! - With the threshold trap, the leaf
//!   `<C_j> CHECKSIGVERIFY <pk_1> CHECKSIG ... <pk_n> CHECKSIGADD <l> NUMEQUAL`
//!   is spent with n + 1 stack elements (one signature or empty element per
//!   message key, and C_j's signature); pushing `<C_j>` makes n + 2. BIP-342
//!   keeps the consensus limit of [`MAX_STACK_SIZE`] = 1000 elements, so
//!   n <= 998, or no threshold leaf can ever be spent. Tapscript has no
//!   script size limit (BIP-342 drops the 10,000 bytes), but the leaf is
//!   34 (n + 1) + 4 bytes and the sweep reveals it, with l + 1 signatures,
//!   once per Pay_j: each sweep input weighs about 35 n + 65 l + 600 WU
//!   ([`threshold_sweep_weight_bound`]), and the n of them must stay within
//!   400,000 WU for the sweep to be relayed. That holds for n <= 60 with
//!   l = n, n <= 72 with l = n / 2, n <= 97 with l = 1: the binding bound in
//!   practice (the stack limit only binds if the weight policy changes).

use crate::{Error, Result};

/// Most calculators of one escrow (see the module docs).
pub const MAX_ESCROW_CALCULATORS: usize = 256;
/// Bitcoin Core's `MAX_STANDARD_TX_WEIGHT`.
pub const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
/// Consensus limit on stack + altstack elements (`MAX_STACK_SIZE`), which
/// BIP-342 also applies to the initial stack of a tapscript.
pub const MAX_STACK_SIZE: u64 = 1000;
/// Consensus limit on the depth of a taproot tree (`TAPROOT_CONTROL_MAX_NODE_COUNT`).
pub const TAPROOT_MAX_DEPTH: usize = 128;

/// ceil(log2(x)) for x >= 1 (0 for x <= 1).
const fn ceil_log2(x: usize) -> usize {
    if x <= 1 {
        0
    } else {
        (usize::BITS - (x - 1).leading_zeros()) as usize
    }
}

/// Depth of the deepest trap leaf when the balanced trap subtree at depth 2
/// holds `leaves` leaves (n, or 2n with the threshold trap).
pub const fn trap_leaf_depth(leaves: usize) -> usize {
    2 + ceil_log2(leaves)
}

// The deepest tree the cap allows is a valid taproot tree.
const _: () = assert!(trap_leaf_depth(2 * MAX_ESCROW_CALCULATORS) <= TAPROOT_MAX_DEPTH);

/// Peak stack size while a threshold leaf with n message keys runs: n + 1
/// witness elements, plus `<C_j>` pushed on top of them.
pub fn threshold_peak_stack(n: usize) -> u64 {
    n as u64 + 2
}

/// An upper bound on the weight of the collusion sweep through the
/// threshold leaves of an n-calculator escrow with threshold l, paying a
/// P2TR output: every varint counted at 3 bytes, every push of l at 3.
pub fn threshold_sweep_weight_bound(n: usize, l: usize) -> u64 {
    let (n, l) = (n as u64, l.min(n) as u64);
    // version, locktime, input and output counts, value, P2TR script (x4),
    // plus the segwit marker and flag.
    let skeleton = 4 * (4 + 4 + 3 + 1 + 8 + 1 + 34) + 2;
    // Outpoint, empty scriptSig, sequence.
    let txin = 4 * (36 + 1 + 4);
    let script = 34 * (n + 1) + 3 + 1;
    let control_block = 33 + 32 * trap_leaf_depth(2 * n as usize) as u64;
    let signatures = (l + 1) * 65 + (n - l);
    let witness = 3 + signatures + 3 + script + 3 + control_block;
    skeleton + n * (txin + witness)
}

/// Refuses an escrow of `n` calculators (with threshold `l` when it has a
/// threshold trap, `1 <= l <= n` already checked) that the module docs'
/// bounds exclude.
pub fn check_escrow_size(n: usize, threshold: Option<usize>) -> Result<()> {
    if let Some(l) = threshold {
        let too_large = |what, value, max| Error::ThresholdTooLarge {
            n,
            what,
            value,
            max,
        };
        let stack = threshold_peak_stack(n);
        if stack > MAX_STACK_SIZE {
            return Err(too_large("peak stack size", stack, MAX_STACK_SIZE));
        }
        let weight = threshold_sweep_weight_bound(n, l);
        if weight > MAX_STANDARD_TX_WEIGHT {
            return Err(too_large("sweep weight", weight, MAX_STANDARD_TX_WEIGHT));
        }
    }
    if n > MAX_ESCROW_CALCULATORS {
        return Err(Error::TooManyEscrowCalculators {
            n,
            max: MAX_ESCROW_CALCULATORS,
        });
    }
    Ok(())
}
