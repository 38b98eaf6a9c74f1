//! The tapscript leaves of Pay_i and its taproot tree.
//!
//! Pay_i (the fee d) and Dep_i (the deposit g) are P2TR outputs whose
//! internal key is the BIP-341 NUMS point H (no key path: nobody knows its
//! discrete log), so every spend reveals one leaf. Tree shapes (fixed, so
//! every party rebuilds the same output keys):
//!
//! ```text
//!   Pay_i      root                    Dep_i     root
//!             /    \                            /    \
//!        charge     *                     reclaim    dispute
//!       (depth 1)  / \                   (depth 1)  (depth 1)
//!           dispute   traps: trap_1..trap_n, then threshold_1..threshold_n,
//!          (depth 2)         a balanced subtree (depth >= 2)
//! ```
//!
//! The honest spend (Charge_i: Pay_i's charge leaf and Dep_i's reclaim
//! leaf) gets the shortest control blocks (65 bytes each). Dep_i has no
//! trap leaf: O knows every message, so a trap over the deposits would let
//! O with one sybil calculator take them. Its reclaim leaf,
//! `<t> CHECKLOCKTIMEVERIFY DROP <C_i> CHECKSIG`, gives the deposit back to
//! C_i alone from t on (also after a sweep of Pay_i, when Charge_i can no
//! longer be mined); before t only O with T (Redeem_i) can move it. In the
//! paper's variant (`trap_deposit`) there is no Dep_i: Pay_i holds d + g.

use bitcoin::opcodes::all::{
    OP_CHECKSIG, OP_CHECKSIGADD, OP_CHECKSIGVERIFY, OP_CLTV, OP_DROP, OP_NUMEQUAL,
};
use bitcoin::script::Builder;
use bitcoin::secp256k1::{Secp256k1, XOnlyPublicKey};
use bitcoin::taproot::{ControlBlock, LeafVersion, TaprootBuilder, TaprootSpendInfo};
use bitcoin::{Amount, ScriptBuf, TxOut};

use super::terms::EscrowParams;
use crate::{Error, Result};

/// x coordinate of the BIP-341 NUMS point H (lift_x of SHA256 of G).
const NUMS_X: [u8; 32] = [
    0x50, 0x92, 0x9b, 0x74, 0xc1, 0xa0, 0x49, 0x54, 0xb7, 0x8b, 0x4b, 0x60, 0x35, 0xe9, 0x7a, 0x5e,
    0x07, 0x8a, 0x5a, 0x0f, 0x28, 0xec, 0x96, 0xd5, 0x47, 0xbf, 0xee, 0x9a, 0xce, 0x80, 0x3a, 0xc0,
];

/// The BIP-341 NUMS internal key H.
pub fn nums_point() -> XOnlyPublicKey {
    // NUMS_X is a valid x coordinate (BIP-341); this cannot fail.
    XOnlyPublicKey::from_slice(&NUMS_X).unwrap_or_else(|_| unreachable!("BIP-341 NUMS point"))
}

/// Which leaf of Pay_i.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// `<O> CHECKSIGVERIFY <C_i> CHECKSIG`.
    Charge,
    /// `<O> CHECKSIGVERIFY <T> CHECKSIG`.
    Dispute,
    /// `<P_M> CHECKSIGVERIFY <C_j> CHECKSIG` for calculator index j (0-based).
    Trap(usize),
    /// `<C_j> CHECKSIGVERIFY <pk_m1> CHECKSIG <pk_m2> CHECKSIGADD ... <l> NUMEQUAL`.
    ThresholdTrap(usize),
    /// Dep_i only: `<t> CHECKLOCKTIMEVERIFY DROP <C_i> CHECKSIG`.
    Reclaim,
}

/// One leaf: its script and its signers in script execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// Which leaf.
    pub kind: LeafKind,
    /// The tapscript.
    pub script: ScriptBuf,
    /// Keys in execution order (the first key's signature is on top of the stack).
    pub signers: Vec<XOnlyPublicKey>,
    /// For a threshold leaf, the number l of message signatures; else `None`
    /// (every signer must sign).
    pub threshold: Option<usize>,
}

impl Leaf {
    /// Number of signatures in a valid witness.
    pub fn signature_count(&self) -> usize {
        match self.threshold {
            Some(l) => l + 1,
            None => self.signers.len(),
        }
    }
}

/// `<A> OP_CHECKSIGVERIFY <B> OP_CHECKSIG`.
pub fn two_key_script(a: &XOnlyPublicKey, b: &XOnlyPublicKey) -> ScriptBuf {
    Builder::new()
        .push_x_only_key(a)
        .push_opcode(OP_CHECKSIGVERIFY)
        .push_x_only_key(b)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// `<C_j> CHECKSIGVERIFY <pk_1> CHECKSIG <pk_2> CHECKSIGADD ... <l> NUMEQUAL`.
pub fn threshold_script(
    calculator: &XOnlyPublicKey,
    keys: &[XOnlyPublicKey],
    l: usize,
) -> Result<ScriptBuf> {
    let l = i64::try_from(l).map_err(|_| Error::InvalidThreshold("l too large".into()))?;
    let mut b = Builder::new()
        .push_x_only_key(calculator)
        .push_opcode(OP_CHECKSIGVERIFY);
    for (k, key) in keys.iter().enumerate() {
        b = b
            .push_x_only_key(key)
            .push_opcode(if k == 0 { OP_CHECKSIG } else { OP_CHECKSIGADD });
    }
    Ok(b.push_int(l).push_opcode(OP_NUMEQUAL).into_script())
}

/// `<t> OP_CHECKLOCKTIMEVERIFY OP_DROP <C_i> OP_CHECKSIG`.
pub fn reclaim_script(t: u32, calculator: &XOnlyPublicKey) -> ScriptBuf {
    Builder::new()
        .push_int(i64::from(t))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_x_only_key(calculator)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// Depths of `count` leaves in a balanced subtree whose root is at `base`,
/// in depth-first order.
fn balanced_depths(count: usize, base: usize, out: &mut Vec<usize>) {
    if count <= 1 {
        out.push(base);
        return;
    }
    let left = count.div_ceil(2);
    balanced_depths(left, base + 1, out);
    balanced_depths(count - left, base + 1, out);
}

/// The Taproot tree of `leaves` at `depths` (depth-first order) under the
/// NUMS internal key.
fn tree(leaves: &[Leaf], depths: Vec<usize>) -> Result<TaprootSpendInfo> {
    let mut builder = TaprootBuilder::new();
    for (leaf, depth) in leaves.iter().zip(depths) {
        let depth = u8::try_from(depth).map_err(|_| Error::Taproot("tree too deep".into()))?;
        builder = builder
            .add_leaf(depth, leaf.script.clone())
            .map_err(|e| Error::Taproot(e.to_string()))?;
    }
    builder
        .finalize(&Secp256k1::verification_only(), nums_point())
        .map_err(|_| Error::Taproot("incomplete taproot tree".into()))
}

/// An escrow output of calculator `index`: Pay_i (or Pay'_i), or Dep_i.
#[derive(Debug, Clone)]
pub struct EscrowOutput {
    /// 0-based calculator index i.
    pub index: usize,
    /// All leaves, in tree (depth-first) order.
    pub leaves: Vec<Leaf>,
    /// The taproot tree (output key, control blocks).
    pub spend_info: TaprootSpendInfo,
    /// The output value (Pay_i: d, or d + g in the paper's variant;
    /// Dep_i: g).
    pub value: Amount,
}

impl EscrowOutput {
    /// Builds Dep_{index+1}, C_i's deposit output: reclaim and dispute
    /// leaves, both at depth 1. Refused in the paper's variant (no Dep_i).
    pub fn deposit(params: &EscrowParams, index: usize) -> Result<Self> {
        let t = params.terms();
        let c_i = params.calculator(index)?;
        let value = params.deposit_value().ok_or_else(|| {
            Error::TermsMismatch("the deposit is in Pay_i (trap_deposit): no Dep_i".into())
        })?;
        let leaves = vec![
            Leaf {
                kind: LeafKind::Reclaim,
                script: reclaim_script(t.timeout, &c_i),
                signers: vec![c_i],
                threshold: None,
            },
            Leaf {
                kind: LeafKind::Dispute,
                script: two_key_script(&t.outsourcer, &t.arbiter),
                signers: vec![t.outsourcer, t.arbiter],
                threshold: None,
            },
        ];
        let spend_info = tree(&leaves, vec![1, 1])?;
        Ok(Self {
            index,
            leaves,
            spend_info,
            value,
        })
    }

    /// Builds Pay_{index+1} from the terms.
    pub fn new(params: &EscrowParams, index: usize) -> Result<Self> {
        let t = params.terms();
        let c_i = params.calculator(index)?;
        let mut leaves = vec![
            Leaf {
                kind: LeafKind::Charge,
                script: two_key_script(&t.outsourcer, &c_i),
                signers: vec![t.outsourcer, c_i],
                threshold: None,
            },
            Leaf {
                kind: LeafKind::Dispute,
                script: two_key_script(&t.outsourcer, &t.arbiter),
                signers: vec![t.outsourcer, t.arbiter],
                threshold: None,
            },
        ];
        for (j, c_j) in t.calculators.iter().enumerate() {
            leaves.push(Leaf {
                kind: LeafKind::Trap(j),
                script: two_key_script(&t.collusion_key, c_j),
                signers: vec![t.collusion_key, *c_j],
                threshold: None,
            });
        }
        if let Some(th) = &t.threshold {
            for (j, c_j) in t.calculators.iter().enumerate() {
                let mut signers = vec![*c_j];
                signers.extend_from_slice(&th.message_keys);
                leaves.push(Leaf {
                    kind: LeafKind::ThresholdTrap(j),
                    script: threshold_script(c_j, &th.message_keys, th.l)?,
                    signers,
                    threshold: Some(th.l),
                });
            }
        }
        let mut depths = vec![1, 2];
        balanced_depths(leaves.len() - 2, 2, &mut depths);
        let spend_info = tree(&leaves, depths)?;
        Ok(Self {
            index,
            leaves,
            spend_info,
            value: params.pay_value(),
        })
    }

    /// The P2TR scriptPubKey of Pay_i.
    pub fn script_pubkey(&self) -> ScriptBuf {
        ScriptBuf::new_p2tr_tweaked(self.spend_info.output_key())
    }

    /// The funding output `TxOut { value, script }` (Pay_i or Dep_i).
    pub fn txout(&self) -> TxOut {
        TxOut {
            value: self.value,
            script_pubkey: self.script_pubkey(),
        }
    }

    /// The leaf of the given kind.
    pub fn leaf(&self, kind: LeafKind) -> Result<&Leaf> {
        self.leaves
            .iter()
            .find(|l| l.kind == kind)
            .ok_or_else(|| Error::Taproot(format!("no leaf {kind:?} in this escrow")))
    }

    /// Which leaf of this output a spending input's witness used (`None`:
    /// a key-path spend, or a script that is not one of these leaves).
    /// How O and C_i tell a trap sweep from Charge_i, a conversion or
    /// Redeem_i, and whose trap leaf swept.
    pub fn spent_leaf(&self, witness: &bitcoin::Witness) -> Option<LeafKind> {
        let leaf = witness.taproot_leaf_script()?;
        if leaf.version != LeafVersion::TapScript {
            return None;
        }
        self.leaves
            .iter()
            .find(|l| l.script.as_script() == leaf.script)
            .map(|l| l.kind)
    }

    /// The control block proving `kind`'s leaf in this output.
    pub fn control_block(&self, kind: LeafKind) -> Result<ControlBlock> {
        let leaf = self.leaf(kind)?;
        self.spend_info
            .control_block(&(leaf.script.clone(), LeafVersion::TapScript))
            .ok_or_else(|| Error::Taproot(format!("no control block for {kind:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escrow::terms::ThresholdTrap;
    use crate::escrow::test_util::{keys, terms};

    #[test]
    fn nums_is_bip341() {
        assert_eq!(
            nums_point().to_string(),
            "50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0"
        );
    }

    #[test]
    fn charge_and_dispute_are_shallow() {
        let mut t = terms(5);
        t.threshold = Some(ThresholdTrap {
            message_keys: keys(100, 5),
            l: 3,
        });
        let p = EscrowParams::new(t).unwrap();
        let out = EscrowOutput::new(&p, 2).unwrap();
        assert_eq!(out.leaves.len(), 12);
        assert_eq!(out.control_block(LeafKind::Charge).unwrap().size(), 33 + 32);
        assert_eq!(
            out.control_block(LeafKind::Dispute).unwrap().size(),
            33 + 64
        );
        for j in 0..5 {
            assert!(out.control_block(LeafKind::Trap(j)).unwrap().size() >= 33 + 64);
            out.control_block(LeafKind::ThresholdTrap(j)).unwrap();
        }
        // Different calculators get different outputs (the charge leaf differs).
        let other = EscrowOutput::new(&p, 1).unwrap();
        assert_ne!(out.script_pubkey(), other.script_pubkey());
        assert!(out.script_pubkey().is_p2tr());
    }

    #[test]
    fn single_calculator_tree() {
        let p = EscrowParams::new(terms(1)).unwrap();
        let out = EscrowOutput::new(&p, 0).unwrap();
        assert_eq!(
            out.control_block(LeafKind::Trap(0)).unwrap().size(),
            33 + 64
        );
        assert!(EscrowOutput::new(&p, 1).is_err());
    }

    #[test]
    fn threshold_script_shape() {
        let ks = keys(100, 3);
        let s = threshold_script(&ks[0], &ks, 2).unwrap();
        let asm = s.to_asm_string();
        assert!(asm.contains("OP_CHECKSIGVERIFY"));
        assert_eq!(asm.matches("OP_CHECKSIGADD").count(), 2);
        assert!(asm.ends_with("OP_PUSHNUM_2 OP_NUMEQUAL"));
    }
}
