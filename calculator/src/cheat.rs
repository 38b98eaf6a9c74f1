//! Deliberate misbehaviour for the scenario tests and the demo (config
//! `[misbehave]`, never set in production): a *lazy* calculator that
//! computes only the first part of a search range and makes up the rest
//! (its leaves there carry f = 0, its hits there are missing), or a linear
//! calculator that returns one *wrong row*. Either commits to what it
//! claims and opens its leaves consistently with that commitment, exactly
//! as a real cheater would, so only O's sample (and T) can catch it.
//!
//! A *grinding* lazy calculator (`grind_sample_size` m > 0) also varies a
//! nonce in its last fake leaf until the paper's sample rule (indices from
//! job id, index and root alone) hits none of its fake leaves: about
//! 1/q^m tries. O's challenge, drawn after the commitment, defeats it; the
//! attack test shows both. A *never-opening* calculator commits and then
//! answers no OpenLeaves, to O or to T.

use bapay_core::merkle::MerkleTree;
use bapay_core::task::field::Fe;
use bapay_core::task::linear::Linear;
use bapay_core::task::search::{evaluate, is_hit, leaf_bytes, SearchParams, SearchResult};
use bapay_core::task::{Opening, SubResult, SubTask, TaskKind};
use serde::Deserialize;

/// The `[misbehave]` configuration section.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Misbehave {
    /// Search: the fraction (0..=1) of the range at its end that is not
    /// computed. 0 = honest.
    pub lazy_fraction: f64,
    /// Linear: add 1 to row 0 of the result.
    pub wrong_row: bool,
    /// With `lazy_fraction`: grind the root against the paper's sample
    /// rule (no challenge) for a sample of this size. 0 = no grinding.
    pub grind_sample_size: u32,
    /// Commit, then never open a leaf (OpenLeaves is UNAVAILABLE): a
    /// calculator that hopes to be paid at t without being checked.
    pub never_open: bool,
}

/// The slot a sub-task is committed for: (job id, calculator index).
pub type Slot<'a> = (&'a [u8; 32], u32);

/// The paper's sample rule, without O's challenge: `H^1 = SHA256(
/// "BAPay/sample" || job_id || be32(index) || root)`, `H^k = SHA256(H^(k-1))`,
/// index_k = H^k mod L. What a grinding calculator can predict.
pub fn predictable_indices(slot: Slot<'_>, root: &[u8; 32], leaf_count: u64, m: u32) -> Vec<u64> {
    use bitcoin::hashes::{sha256, Hash, HashEngine};
    let mut e = sha256::Hash::engine();
    e.input(bapay_core::sampling::SAMPLE_DOMAIN);
    e.input(slot.0);
    e.input(&slot.1.to_be_bytes());
    e.input(root);
    let mut h = sha256::Hash::from_engine(e).to_byte_array();
    let mut out = Vec::with_capacity(m as usize);
    for k in 0..m {
        if k > 0 {
            h = sha256::Hash::hash(&h).to_byte_array();
        }
        let r = h.iter().fold(0u128, |r, &b| {
            ((r << 8) | u128::from(b)) % u128::from(leaf_count)
        });
        out.push(r as u64);
    }
    out
}

/// Nonces found by grinding, per slot (recomputed after a restart).
static NONCES: std::sync::Mutex<Vec<([u8; 32], u32, u64)>> = std::sync::Mutex::new(Vec::new());

fn nonce_of(slot: Slot<'_>) -> Option<u64> {
    let g = NONCES.lock().unwrap_or_else(|p| p.into_inner());
    g.iter()
        .find(|(j, i, _)| j == slot.0 && *i == slot.1)
        .map(|(_, _, n)| *n)
}

impl Misbehave {
    /// Whether any misbehaviour is configured.
    pub fn any(&self) -> bool {
        self.lazy_fraction > 0.0 || self.wrong_row
    }
}

/// First x the lazy calculator does not compute.
fn skip_from(s: &SearchParams, fraction: f64) -> u64 {
    let len = s.hi - s.lo;
    let done = ((len as f64) * (1.0 - fraction.clamp(0.0, 1.0))).floor() as u64;
    s.lo + done.min(len)
}

fn lazy_leaf(s: &SearchParams, from: u64, j: u64, nonce: u64) -> ([u8; 32], u64) {
    let x = s.lo + j;
    if x >= from {
        let mut f = [0; 32];
        if j == s.hi - s.lo - 1 {
            f[..8].copy_from_slice(&nonce.to_be_bytes());
        }
        (f, x)
    } else {
        (evaluate(&s.seed, s.rounds, x), x)
    }
}

fn lazy_tree(s: &SearchParams, from: u64, nonce: u64) -> bapay_core::Result<MerkleTree> {
    MerkleTree::from_leaves((0..s.hi - s.lo).map(|j| {
        let (f, x) = lazy_leaf(s, from, j, nonce);
        leaf_bytes(j, x, &f)
    }))
}

/// The first nonce whose tree the predictable sample misses on every fake
/// leaf (gives up after 2^24 tries: the last one is used).
fn grind(s: &SearchParams, from: u64, slot: Slot<'_>, m: u32) -> bapay_core::Result<u64> {
    if let Some(n) = nonce_of(slot) {
        return Ok(n);
    }
    let fake_from = from - s.lo;
    let len = s.hi - s.lo;
    if fake_from >= len {
        return Ok(0);
    }
    let mut leaves: Vec<Vec<u8>> = (0..len)
        .map(|j| {
            let (f, x) = lazy_leaf(s, from, j, 0);
            leaf_bytes(j, x, &f).to_vec()
        })
        .collect();
    let mut nonce = 0;
    while nonce < 1 << 24 {
        let (f, x) = lazy_leaf(s, from, len - 1, nonce);
        leaves[len as usize - 1] = leaf_bytes(len - 1, x, &f).to_vec();
        let tree = MerkleTree::from_leaves(&leaves)?;
        let idx = predictable_indices(slot, &tree.root().0, tree.leaf_count(), m);
        if idx.iter().all(|&j| j < fake_from) {
            break;
        }
        nonce += 1;
    }
    NONCES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((*slot.0, slot.1, nonce));
    Ok(nonce)
}

fn nonce_for(
    s: &SearchParams,
    from: u64,
    slot: Slot<'_>,
    m: &Misbehave,
) -> bapay_core::Result<u64> {
    if m.grind_sample_size == 0 {
        return Ok(0);
    }
    grind(s, from, slot, m.grind_sample_size)
}

/// The result and tree this calculator commits to for `slot`.
pub fn commit(
    sub: &SubTask,
    m: &Misbehave,
    slot: Slot<'_>,
) -> bapay_core::Result<(SubResult, MerkleTree)> {
    match sub {
        SubTask::Search(s) if m.lazy_fraction > 0.0 => {
            let from = skip_from(s, m.lazy_fraction);
            let hits = (s.lo..from)
                .filter(|&x| is_hit(&evaluate(&s.seed, s.rounds, x), s.difficulty_bits))
                .collect();
            let nonce = nonce_for(s, from, slot, m)?;
            let tree = lazy_tree(s, from, nonce)?;
            Ok((SubResult::Search(SearchResult { hits }), tree))
        }
        SubTask::Linear(l) if m.wrong_row => {
            let mut r = Linear::compute(l)?;
            if let Some(v) = r.r.first_mut() {
                *v += Fe::ONE;
            }
            let tree = Linear::commit(l, &r)?;
            Ok((SubResult::Linear(r), tree))
        }
        _ => sub.compute_and_commit(),
    }
}

/// Opens leaves of the tree [`commit`] built.
pub fn open(
    sub: &SubTask,
    res: &SubResult,
    tree: &MerkleTree,
    indices: &[u64],
    m: &Misbehave,
    slot: Slot<'_>,
) -> bapay_core::Result<Vec<Opening>> {
    match sub {
        SubTask::Search(s) if m.lazy_fraction > 0.0 => {
            let from = skip_from(s, m.lazy_fraction);
            let nonce = nonce_for(s, from, slot, m)?;
            indices
                .iter()
                .map(|&j| {
                    let (f, x) = lazy_leaf(s, from, j, nonce);
                    Ok(Opening {
                        index: j,
                        leaf_data: leaf_bytes(j, x, &f).to_vec(),
                        proof: tree.proof(j)?,
                    })
                })
                .collect()
        }
        _ => sub.open(res, tree, indices),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bapay_core::merkle::Hash32;

    #[test]
    fn lazy_search_is_caught_by_a_sample_of_its_skipped_part() {
        let s = SearchParams {
            seed: Hash32::from([3; 32]),
            rounds: 1,
            difficulty_bits: 2,
            lo: 0,
            hi: 64,
        };
        let sub = SubTask::Search(s);
        let m = Misbehave {
            lazy_fraction: 0.5,
            ..Default::default()
        };
        let slot = (&[1; 32], 0);
        let (res, tree) = commit(&sub, &m, slot).expect("commit");
        let ops = open(&sub, &res, &tree, &[1, 40], &m, slot).expect("open");
        assert!(sub
            .verify_sample(&res, &tree.root(), &[1], &ops[..1])
            .is_ok());
        assert!(sub
            .verify_sample(&res, &tree.root(), &[40], &ops[1..])
            .is_err());
        let honest = commit(&sub, &Misbehave::default(), slot).expect("honest");
        assert_ne!(honest.1.root(), tree.root());
    }

    #[test]
    fn a_ground_root_escapes_the_predictable_sample_only() {
        let s = SearchParams {
            seed: Hash32::from([3; 32]),
            rounds: 1,
            difficulty_bits: 2,
            lo: 0,
            hi: 64,
        };
        let sub = SubTask::Search(s);
        let m = Misbehave {
            lazy_fraction: 0.5,
            grind_sample_size: 8,
            ..Default::default()
        };
        let slot = (&[2; 32], 1);
        let (res, tree) = commit(&sub, &m, slot).expect("commit");
        let idx = predictable_indices(slot, &tree.root().0, 64, 8);
        assert!(idx.iter().all(|&j| j < 32), "the grind worked: {idx:?}");
        let ops = open(&sub, &res, &tree, &idx, &m, slot).expect("open");
        assert!(sub.verify_sample(&res, &tree.root(), &idx, &ops).is_ok());
        // With a challenge the sample is unpredictable: some challenge hits
        // a fake leaf.
        let caught = (0u8..=255).any(|c| {
            let idx =
                bapay_core::sampling::sample_indices(slot.0, slot.1, &tree.root(), &[c; 32], 64, 8)
                    .expect("sample");
            let ops = open(&sub, &res, &tree, &idx, &m, slot).expect("open");
            sub.verify_sample(&res, &tree.root(), &idx, &ops).is_err()
        });
        assert!(caught);
    }
}
