//! Merkle commitments to a calculator's results (PROTOCOL.md §3).
//!
//! A calculator commits to *every* leaf of its work with one root; O, the
//! arbiter T and the FairPay contract then check sampled leaves against that
//! root with inclusion proofs. The encoding is fixed bit for bit by
//! `docs/commitments.md` and shared with `contracts/FairPay.sol`:
//! leaf = `SHA256(0x00 || data)`, node = `SHA256(0x01 || left || right)`,
//! an odd last node is promoted unchanged, indices are 0-based.
//!
//! The tree is on the hot path of every job, so it is built in one flat
//! `Vec` (all levels back to back, allocated once) with one reused hasher,
//! and leaves are hashed straight from borrowed byte slices.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Domain-separation prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an inner-node hash.
pub const NODE_PREFIX: u8 = 0x01;

/// 32 bytes: a SHA-256 output (root, leaf hash, node) or a 32-byte seed.
/// Serialises as lowercase hex in human-readable formats (JSON), as raw bytes
/// otherwise.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for Hash32 {
    fn from(b: [u8; 32]) -> Self {
        Hash32(b)
    }
}

impl AsRef<[u8]> for Hash32 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({self})")
    }
}

impl FromStr for Hash32 {
    type Err = Error;
    /// Parses 64 hex digits (an optional `0x` prefix is accepted).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| Error::Malformed {
            what: "32-byte hex",
            reason: e.to_string(),
        })?;
        Ok(Hash32(out))
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Hash32;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("32 bytes as 64 hex digits, a byte string or a sequence")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Hash32, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Hash32, E> {
                <[u8; 32]>::try_from(v)
                    .map(Hash32)
                    .map_err(|_| E::invalid_length(v.len(), &self))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<Hash32, A::Error> {
                let mut out = [0u8; 32];
                for (i, b) in out.iter_mut().enumerate() {
                    *b = a
                        .next_element()?
                        .ok_or_else(|| <A::Error as de::Error>::invalid_length(i, &self))?;
                }
                if a.next_element::<u8>()?.is_some() {
                    return Err(de::Error::invalid_length(33, &self));
                }
                Ok(Hash32(out))
            }
        }
        if d.is_human_readable() {
            d.deserialize_str(V)
        } else {
            d.deserialize_bytes(V)
        }
    }
}

/// Leaf hash `SHA256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash32 {
    Hash32(hash_into(&mut Sha256::new(), LEAF_PREFIX, data, &[]))
}

/// Inner-node hash `SHA256(0x01 || left || right)`.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    Hash32(node_into(&mut Sha256::new(), left, right))
}

/// Inputs up to this size are gathered on the stack and fed to the hasher in
/// one contiguous update (fewer partial-block copies inside the hasher).
const STACK_INPUT: usize = 128;

/// Hashes `prefix || a || b` with a reused hasher.
fn hash_into(h: &mut Sha256, prefix: u8, a: &[u8], b: &[u8]) -> [u8; 32] {
    let n = 1 + a.len() + b.len();
    if n <= STACK_INPUT {
        let mut buf = [0u8; STACK_INPUT];
        buf[0] = prefix;
        buf[1..1 + a.len()].copy_from_slice(a);
        buf[1 + a.len()..n].copy_from_slice(b);
        h.update(&buf[..n]);
    } else {
        h.update([prefix]);
        h.update(a);
        h.update(b);
    }
    let mut out = [0u8; 32];
    h.finalize_into_reset(GenericArray::from_mut_slice(&mut out));
    out
}

fn node_into(h: &mut Sha256, l: &Hash32, r: &Hash32) -> [u8; 32] {
    hash_into(h, NODE_PREFIX, &l.0, &r.0)
}

/// Number of nodes on the level above a level of `n` nodes.
fn up(n: usize) -> usize {
    n.div_ceil(2)
}

/// A Merkle tree over L >= 1 leaves, all levels stored in one flat vector:
/// the L leaf hashes, then level 1, ..., then the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    nodes: Vec<Hash32>,
    leaf_count: usize,
}

impl MerkleTree {
    /// Builds the tree over leaf data, hashing each slice in place.
    pub fn from_leaves<I, T>(leaves: I) -> Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let it = leaves.into_iter();
        let mut hashes = Vec::with_capacity(total_nodes(it.size_hint().0));
        let mut h = Sha256::new();
        for leaf in it {
            hashes.push(Hash32(hash_into(&mut h, LEAF_PREFIX, leaf.as_ref(), &[])));
        }
        Self::from_leaf_hashes(hashes)
    }

    /// Builds the tree over precomputed leaf hashes (`leaf_hash(data)` each);
    /// the upper levels are appended to the given vector.
    pub fn from_leaf_hashes(mut nodes: Vec<Hash32>) -> Result<Self> {
        let leaf_count = nodes.len();
        if leaf_count == 0 {
            return Err(Error::EmptyTree);
        }
        nodes.reserve_exact(total_nodes(leaf_count) - leaf_count);
        let mut h = Sha256::new();
        let (mut start, mut n) = (0usize, leaf_count);
        while n > 1 {
            for k in 0..n / 2 {
                let (l, r) = (nodes[start + 2 * k], nodes[start + 2 * k + 1]);
                nodes.push(Hash32(node_into(&mut h, &l, &r)));
            }
            if n % 2 == 1 {
                nodes.push(nodes[start + n - 1]);
            }
            start += n;
            n = up(n);
        }
        Ok(MerkleTree { nodes, leaf_count })
    }

    /// The root.
    pub fn root(&self) -> Hash32 {
        // Non-empty by construction; the root is the last node.
        self.nodes[self.nodes.len() - 1]
    }

    /// Number of leaves L.
    pub fn leaf_count(&self) -> u64 {
        self.leaf_count as u64
    }

    /// The hash of leaf `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash32> {
        self.check(index).map(|i| self.nodes[i])
    }

    fn check(&self, index: u64) -> Result<usize> {
        usize::try_from(index)
            .ok()
            .filter(|&i| i < self.leaf_count)
            .ok_or(Error::IndexOutOfRange {
                index,
                leaf_count: self.leaf_count as u64,
            })
    }

    /// The inclusion proof of leaf `index` (0-based).
    pub fn proof(&self, index: u64) -> Result<Proof> {
        let mut i = self.check(index)?;
        let mut siblings = Vec::new();
        let (mut start, mut n) = (0usize, self.leaf_count);
        while n > 1 {
            if !(i == n - 1 && n % 2 == 1) {
                siblings.push(self.nodes[start + (i ^ 1)]);
            }
            start += n;
            i /= 2;
            n = up(n);
        }
        Ok(Proof { siblings })
    }
}

/// Total number of nodes of all levels of a tree over `leaves` leaves.
fn total_nodes(leaves: usize) -> usize {
    let (mut total, mut n) = (leaves, leaves);
    while n > 1 {
        n = up(n);
        total += n;
    }
    total
}

/// An inclusion proof: the sibling hashes bottom-up, skipping levels where
/// the node was promoted (docs/commitments.md).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Proof {
    /// Sibling hashes, leaf level first.
    pub siblings: Vec<Hash32>,
}

impl Proof {
    /// True iff this proof shows `leaf_hash` at `index` in a tree of
    /// `leaf_count` leaves with this `root`.
    pub fn verify(&self, root: &Hash32, leaf_hash: &Hash32, index: u64, leaf_count: u64) -> bool {
        verify_proof(root, leaf_hash, index, leaf_count, self)
    }
}

/// The verification algorithm of docs/commitments.md, verbatim. Rejects
/// `index >= leaf_count` (and so an empty tree).
pub fn verify_proof(
    root: &Hash32,
    leaf_hash: &Hash32,
    index: u64,
    leaf_count: u64,
    proof: &Proof,
) -> bool {
    if index >= leaf_count {
        return false;
    }
    let mut h = Sha256::new();
    let (mut acc, mut i, mut n) = (*leaf_hash, index, leaf_count);
    let mut sib = proof.siblings.iter();
    while n > 1 {
        if !(i == n - 1 && n % 2 == 1) {
            let Some(s) = sib.next() else { return false };
            acc = Hash32(if i % 2 == 0 {
                node_into(&mut h, &acc, s)
            } else {
                node_into(&mut h, s, &acc)
            });
        }
        i /= 2;
        n = n.div_ceil(2);
    }
    sib.next().is_none() && acc == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: usize) -> MerkleTree {
        MerkleTree::from_leaves((0..n as u64).map(|j| j.to_be_bytes())).unwrap()
    }

    #[test]
    fn small_trees_match_hand_computation() {
        let l: Vec<Hash32> = (0..3u64).map(|j| leaf_hash(&j.to_be_bytes())).collect();
        assert_eq!(tree(1).root(), l[0]);
        assert_eq!(tree(2).root(), node_hash(&l[0], &l[1]));
        // Three leaves: the third is promoted, not duplicated.
        assert_eq!(tree(3).root(), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        assert_eq!(
            tree(3).proof(2).unwrap().siblings,
            vec![node_hash(&l[0], &l[1])]
        );
    }

    #[test]
    fn proofs_roundtrip_and_errors() {
        for n in 1..40 {
            let t = tree(n);
            for j in 0..n as u64 {
                let p = t.proof(j).unwrap();
                assert!(p.verify(&t.root(), &t.leaf_hash(j).unwrap(), j, n as u64));
            }
            assert_eq!(
                t.proof(n as u64),
                Err(Error::IndexOutOfRange {
                    index: n as u64,
                    leaf_count: n as u64
                })
            );
        }
        assert_eq!(MerkleTree::from_leaf_hashes(vec![]), Err(Error::EmptyTree));
    }

    #[test]
    fn hash32_serde_is_hex() {
        let h = leaf_hash(b"x");
        let s = h.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<Hash32>().unwrap(), h);
    }
}
