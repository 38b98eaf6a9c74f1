//! Deterministic keys and terms for the escrow unit tests.

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey, XOnlyPublicKey};
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, TxOut, Txid};

use super::funding::{CalculatorFunding, FundingInput};
use super::p2tr_key_spend_script;
use super::spend::{EscrowUtxo, SlotEscrow};
use super::terms::{EscrowParams, EscrowTerms};

/// Keypair number `seed` (deterministic).
pub fn keypair(seed: u32) -> Keypair {
    let mut b = [0u8; 32];
    b[28..].copy_from_slice(&(seed + 1).to_be_bytes());
    b[0] = 0x11;
    Keypair::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&b).unwrap())
}

/// `count` x-only keys starting at `seed`.
pub fn keys(seed: u32, count: u32) -> Vec<XOnlyPublicKey> {
    (0..count)
        .map(|i| keypair(seed + i).x_only_public_key().0)
        .collect()
}

/// Terms with n calculators: O = 0, T = 1, P_M = 2, C_i = 10 + i.
pub fn terms(n: u32) -> EscrowTerms {
    EscrowTerms {
        outsourcer: keys(0, 1)[0],
        arbiter: keys(1, 1)[0],
        calculators: keys(10, n),
        collusion_key: keys(2, 1)[0],
        fee: Amount::from_sat(100_000),
        deposit: Amount::from_sat(50_000),
        timeout: 200,
        threshold: None,
        trap_deposit: false,
    }
}

/// A fee rate of `r` sat/vB.
pub fn rate(r: u64) -> FeeRate {
    FeeRate::from_sat_per_vb(r).unwrap()
}

/// The validated terms of [`terms`]`(3)`.
pub fn params() -> EscrowParams {
    EscrowParams::new(terms(3)).unwrap()
}

/// The P2TR key-path script of keypair `seed`.
pub fn payout(seed: u32) -> ScriptBuf {
    p2tr_key_spend_script(keypair(seed).x_only_public_key().0)
}

/// An escrow output `vout` of a made-up funding transaction (txid from `tag`).
pub fn escrow_utxo(tag: &[u8], vout: u32, value: u64) -> EscrowUtxo {
    EscrowUtxo {
        outpoint: OutPoint {
            txid: Txid::from_raw_hash(sha256d::Hash::hash(tag)),
            vout,
        },
        value: Amount::from_sat(value),
    }
}

/// Calculator `i`'s escrow in a made-up funding transaction of 3
/// calculators (txid from `tag`): Pay_i at vout i with `pay` sat, Dep_i at
/// vout 3 + i with `deposit` sat.
pub fn slot(tag: &[u8], i: u32, pay: u64, deposit: u64) -> SlotEscrow {
    SlotEscrow {
        pay: escrow_utxo(tag, i, pay),
        deposit: Some(escrow_utxo(tag, 3 + i, deposit)),
    }
}

/// A funding coin of keypair `seed` (txid from `tag`).
pub fn coin(tag: u8, value: u64, seed: u32) -> FundingInput {
    FundingInput {
        outpoint: OutPoint {
            txid: Txid::from_raw_hash(sha256d::Hash::hash(&[tag])),
            vout: 0,
        },
        txout: TxOut {
            value: Amount::from_sat(value),
            script_pubkey: payout(seed),
        },
    }
}

/// One deposit coin of `value` for each of the 3 calculators, change to itself.
pub fn deposits(value: u64) -> Vec<CalculatorFunding> {
    (0..3)
        .map(|i| CalculatorFunding {
            inputs: vec![coin(10 + i as u8, value, 10 + i)],
            change: payout(10 + i),
        })
        .collect()
}
