//! Merkle proofs and search leaves as the contract takes them.
//!
//! The tree is the one of docs/commitments.md (SHA-256, 0x00 leaf / 0x01 node
//! prefixes, odd last node promoted); the core crate builds it and its proofs
//! are a bottom-up list of 32-byte sibling hashes, which is exactly the
//! contract's `bytes32[] proof`. This module converts, and computes the search
//! leaf's hash and f so that callers can check a dispute before paying gas.

use alloy::primitives::B256;
use sha2::{Digest, Sha256};

use crate::bindings::FairPayBase;

/// A core proof (sibling hashes, bottom-up) as calldata.
pub fn proof_calldata<'a, I>(siblings: I) -> Vec<B256>
where
    I: IntoIterator<Item = &'a [u8; 32]>,
{
    siblings.into_iter().map(|s| B256::from(*s)).collect()
}

/// The leaf data of search leaf j: `be64(j) || be64(x) || f(x)` (48 bytes).
pub fn search_leaf_data(index: u64, x: u64, fx: &[u8; 32]) -> [u8; 48] {
    let mut d = [0u8; 48];
    d[..8].copy_from_slice(&index.to_be_bytes());
    d[8..16].copy_from_slice(&x.to_be_bytes());
    d[16..].copy_from_slice(fx);
    d
}

/// The contract's view of a search leaf.
pub fn search_leaf(index: u64, x: u64, fx: &[u8; 32]) -> FairPayBase::SearchLeaf {
    FairPayBase::SearchLeaf {
        index,
        x,
        fx: B256::from(*fx),
    }
}

/// The contract's view of 48 bytes of search leaf data
/// `be64(index) || be64(x) || fx`; `None` for any other length.
pub fn search_leaf_from_data(d: &[u8]) -> Option<FairPayBase::SearchLeaf> {
    if d.len() != 48 {
        return None;
    }
    let word = |k: usize| u64::from_be_bytes(d[8 * k..8 * k + 8].try_into().unwrap_or([0; 8]));
    Some(FairPayBase::SearchLeaf {
        index: word(0),
        x: word(1),
        fx: B256::from_slice(&d[16..48]),
    })
}

/// The leaf hash `SHA256(0x00 || leaf_data)`.
pub fn leaf_hash(leaf_data: &[u8]) -> B256 {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf_data);
    B256::from(<[u8; 32]>::from(h.finalize()))
}

/// `f(seed, x) = SHA256^rounds(seed || be64(x))`, rounds >= 1 (0 is taken as 1).
pub fn search_f(seed: &[u8; 32], x: u64, rounds: u32) -> [u8; 32] {
    let mut h: [u8; 32] = Sha256::new()
        .chain_update(seed)
        .chain_update(x.to_be_bytes())
        .finalize()
        .into();
    for _ in 1..rounds {
        h = Sha256::digest(h).into();
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_f_is_iterated_sha256_of_seed_and_be64_x() {
        let seed = [9u8; 32];
        let mut pre = seed.to_vec();
        pre.extend_from_slice(&7u64.to_be_bytes());
        let h1: [u8; 32] = Sha256::digest(&pre).into();
        assert_eq!(search_f(&seed, 7, 1), h1);
        let h2: [u8; 32] = Sha256::digest(h1).into();
        assert_eq!(search_f(&seed, 7, 2), h2);
    }

    #[test]
    fn leaf_encoding_and_hash() {
        let d = search_leaf_data(1, 2, &[3u8; 32]);
        assert_eq!(
            search_leaf_from_data(&d),
            Some(search_leaf(1, 2, &[3u8; 32]))
        );
        assert_eq!(search_leaf_from_data(&d[1..]), None);
        assert_eq!(&d[..8], &1u64.to_be_bytes());
        assert_eq!(&d[8..16], &2u64.to_be_bytes());
        let mut pre = vec![0u8];
        pre.extend_from_slice(&d);
        assert_eq!(leaf_hash(&d).0, <[u8; 32]>::from(Sha256::digest(&pre)));
        let siblings = [[1u8; 32], [2u8; 32]];
        assert_eq!(
            proof_calldata(siblings.iter()),
            vec![B256::repeat_byte(1), B256::repeat_byte(2)]
        );
    }
}
