//! Deterministic keys and terms for the escrow unit tests.

use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey, XOnlyPublicKey};
use bitcoin::Amount;

use super::terms::EscrowTerms;

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
    }
}
