//! The search kind F = <f, D, M> (PROTOCOL.md §2.1): find every x in
//! D = [lo, hi) with f(x) in M, where f(seed, x) = SHA256^k(seed || be64(x))
//! and M = "at least b leading zero bits".
//!
//! The calculator commits to *every* evaluation of its range (leaf
//! j = be64(j) || be64(x_j) || f(x_j)), not only to its hits, so that skipped
//! work shows up in a sample; the contract can re-check a leaf on chain.
//!
//! Caps: a job covers at most [`MAX_SEARCH_LEAVES`] values of x (the trees of
//! all calculators together then hold < 2^23 nodes, 256 MiB) and at most
//! [`MAX_SEARCH_WORK`] hash evaluations in total (range size * k).
//!
//! The canonical encodings are in `search_codec`.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

use super::{check_calculators, check_len, LeafFault, TaskKind};
use crate::merkle::{Hash32, MerkleTree};
use crate::{Error, Result};

/// Most x values (leaves) in one search job.
pub const MAX_SEARCH_LEAVES: u64 = 1 << 22;
/// Most SHA-256 evaluations (range size * rounds) in one search job.
pub const MAX_SEARCH_WORK: u64 = 1 << 30;
/// Length of a search leaf: be64(j) || be64(x) || f(x).
pub const LEAF_LEN: usize = 48;

/// A search job, and also one calculator's sub-task (a sub-range).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchParams {
    /// The seed of f (32 bytes, hex in JSON).
    pub seed: Hash32,
    /// k, the number of SHA-256 rounds of f (>= 1).
    pub rounds: u32,
    /// b, the leading zero bits a hit needs (0..=256).
    pub difficulty_bits: u32,
    /// Inclusive lower end of the range.
    pub lo: u64,
    /// Exclusive upper end of the range.
    pub hi: u64,
}

/// A calculator's result: its hits, strictly increasing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    /// Every x of the sub-range with f(x) in M, ascending.
    pub hits: Vec<u64>,
}

/// Evaluates f with one reused hasher.
#[derive(Clone, Default)]
pub struct Evaluator {
    h: Sha256,
}

impl Evaluator {
    /// f(seed, x) = SHA256^rounds(seed || be64(x)); rounds = 0 is treated as 1.
    pub fn eval(&mut self, seed: &Hash32, rounds: u32, x: u64) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.h.update(seed.0);
        self.h.update(x.to_be_bytes());
        self.h
            .finalize_into_reset(GenericArray::from_mut_slice(&mut out));
        for _ in 1..rounds {
            self.h.update(out);
            self.h
                .finalize_into_reset(GenericArray::from_mut_slice(&mut out));
        }
        out
    }
}

/// f(seed, x), see [`Evaluator::eval`].
pub fn evaluate(seed: &Hash32, rounds: u32, x: u64) -> [u8; 32] {
    Evaluator::default().eval(seed, rounds, x)
}

/// Number of leading zero bits of `h`, big-endian bit order.
pub fn leading_zero_bits(h: &[u8; 32]) -> u32 {
    let mut n = 0;
    for &b in h {
        n += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    n
}

/// Refuses hits that are not strictly increasing ([`Error::HitsNotIncreasing`]):
/// the canonical encoding has them so, and a leaf check looks a hit up by
/// binary search, which is wrong on unsorted (or repeated) hits.
pub fn check_hits_increasing(hits: &[u64]) -> Result<()> {
    match hits.windows(2).position(|w| w[0] >= w[1]) {
        Some(k) => Err(Error::HitsNotIncreasing {
            position: k as u64 + 1,
            x: hits[k + 1],
        }),
        None => Ok(()),
    }
}

/// The predicate M: at least `bits` leading zero bits.
pub fn is_hit(f: &[u8; 32], bits: u32) -> bool {
    leading_zero_bits(f) >= bits
}

/// Leaf data `be64(j) || be64(x) || f`.
pub fn leaf_bytes(j: u64, x: u64, f: &[u8; 32]) -> [u8; LEAF_LEN] {
    let mut out = [0u8; LEAF_LEN];
    out[..8].copy_from_slice(&j.to_be_bytes());
    out[8..16].copy_from_slice(&x.to_be_bytes());
    out[16..].copy_from_slice(f);
    out
}

impl SearchParams {
    /// Size of the range hi - lo (0 if empty).
    pub fn range_len(&self) -> u64 {
        self.hi.saturating_sub(self.lo)
    }
}

/// The search kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct Search;

impl TaskKind for Search {
    const NAME: &'static str = "search";
    const TAG: u8 = 0x01;
    type Params = SearchParams;
    type SubTask = SearchParams;
    type SubResult = SearchResult;
    type Output = Vec<u64>;
    type Secret = ();

    fn validate(p: &SearchParams) -> Result<()> {
        if p.lo >= p.hi {
            return Err(Error::EmptyRange { lo: p.lo, hi: p.hi });
        }
        if p.rounds == 0 {
            return Err(Error::ZeroRounds);
        }
        if p.difficulty_bits > 256 {
            return Err(Error::DifficultyTooHigh {
                bits: p.difficulty_bits,
            });
        }
        let n = p.range_len();
        if n > MAX_SEARCH_LEAVES {
            return Err(Error::WorkTooLarge {
                what: "search range size",
                work: n,
                max: MAX_SEARCH_LEAVES,
            });
        }
        let work = n.saturating_mul(p.rounds.into());
        if work > MAX_SEARCH_WORK {
            return Err(Error::WorkTooLarge {
                what: "search work (range size * rounds)",
                work,
                max: MAX_SEARCH_WORK,
            });
        }
        Ok(())
    }

    fn validate_sub(sub: &SearchParams) -> Result<()> {
        Self::validate(sub)
    }

    /// n contiguous ranges, sizes differing by at most one (the first
    /// `len % n` ranges get the extra value).
    fn split<R: RngCore + ?Sized>(
        p: &SearchParams,
        n: u32,
        _rng: &mut R,
    ) -> Result<(Vec<SearchParams>, ())> {
        Self::validate(p)?;
        check_calculators(n)?;
        let len = p.range_len();
        let n64 = u64::from(n);
        if n64 > len {
            return Err(Error::TooManyCalculators {
                calculators: n64,
                work_items: len,
            });
        }
        let (q, r) = (len / n64, len % n64);
        let mut lo = p.lo;
        let subs = (0..n64)
            .map(|i| {
                let hi = lo + q + u64::from(i < r);
                let s = SearchParams {
                    lo,
                    hi,
                    ..p.clone()
                };
                lo = hi;
                s
            })
            .collect();
        Ok((subs, ()))
    }

    fn compute_and_commit(sub: &SearchParams) -> Result<(SearchResult, MerkleTree)> {
        Self::validate_sub(sub)?;
        let mut ev = Evaluator::default();
        let mut hits = Vec::new();
        let leaves = (sub.lo..sub.hi).enumerate().map(|(j, x)| {
            let f = ev.eval(&sub.seed, sub.rounds, x);
            if is_hit(&f, sub.difficulty_bits) {
                hits.push(x);
            }
            leaf_bytes(j as u64, x, &f)
        });
        let tree = MerkleTree::from_leaves(leaves)?;
        Ok((SearchResult { hits }, tree))
    }

    fn leaf_count(sub: &SearchParams) -> u64 {
        sub.range_len()
    }

    fn leaf_data(sub: &SearchParams, _res: &SearchResult, index: u64) -> Result<Vec<u8>> {
        if index >= sub.range_len() {
            return Err(Error::IndexOutOfRange {
                index,
                leaf_count: sub.range_len(),
            });
        }
        let x = sub.lo + index;
        Ok(leaf_bytes(index, x, &evaluate(&sub.seed, sub.rounds, x)).to_vec())
    }

    fn commit(sub: &SearchParams, _res: &SearchResult) -> Result<MerkleTree> {
        Self::compute_and_commit(sub).map(|(_, t)| t)
    }

    fn check_leaf(sub: &SearchParams, res: &SearchResult, index: u64, data: &[u8]) -> Result<()> {
        check_len(index, data, LEAF_LEN)?;
        let reject = |fault| Err(Error::LeafRejected { index, fault });
        let word =
            |k: usize| u64::from_be_bytes(data[8 * k..8 * k + 8].try_into().unwrap_or([0; 8]));
        let (claimed_j, claimed_x) = (word(0), word(1));
        if claimed_j != index {
            return reject(LeafFault::WrongIndex { claimed: claimed_j });
        }
        let x = sub.lo.saturating_add(index);
        if claimed_x != x || x >= sub.hi {
            return reject(LeafFault::WrongInput {
                expected: x,
                claimed: claimed_x,
            });
        }
        let f = evaluate(&sub.seed, sub.rounds, x);
        if data[16..] != f {
            return reject(LeafFault::WrongOutput);
        }
        // Sound only on sorted hits: `verify_sample` ran `check_result_shape`.
        match (
            is_hit(&f, sub.difficulty_bits),
            res.hits.binary_search(&x).is_ok(),
        ) {
            (true, false) => reject(LeafFault::HitNotClaimed),
            (false, true) => reject(LeafFault::FalseHitClaimed),
            _ => Ok(()),
        }
    }

    /// The hits are strictly increasing ([`check_hits_increasing`]).
    fn check_result_shape(_sub: &SearchParams, res: &SearchResult) -> Result<()> {
        check_hits_increasing(&res.hits)
    }

    /// Every claimed hit is strictly increasing, inside the range, and
    /// satisfies M (k hashes per hit).
    fn verify_result(sub: &SearchParams, _secret: &(), res: &SearchResult) -> Result<()> {
        // Caps k before hashing k times per claimed hit.
        Self::validate_sub(sub)?;
        check_hits_increasing(&res.hits)?;
        let mut ev = Evaluator::default();
        for &x in &res.hits {
            let reject = |reason| Err(Error::HitRejected { x, reason });
            if x < sub.lo || x >= sub.hi {
                return reject("outside the sub-task's range");
            }
            if !is_hit(&ev.eval(&sub.seed, sub.rounds, x), sub.difficulty_bits) {
                return reject("f(x) does not have the required leading zero bits");
            }
        }
        Ok(())
    }

    fn combine(_p: &SearchParams, results: &[SearchResult]) -> Result<Vec<u64>> {
        let mut all: Vec<u64> = results
            .iter()
            .flat_map(|r| r.hits.iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    fn run_direct(p: &SearchParams) -> Result<Vec<u64>> {
        Self::validate(p)?;
        let mut ev = Evaluator::default();
        Ok((p.lo..p.hi)
            .filter(|&x| is_hit(&ev.eval(&p.seed, p.rounds, x), p.difficulty_bits))
            .collect())
    }
}
