//! Deliberate misbehaviour for the scenario tests and the demo (config
//! `[misbehave]`, never set in production): a *lazy* calculator that
//! computes only the first part of a search range and makes up the rest
//! (its leaves there carry f = 0, its hits there are missing), or a linear
//! calculator that returns one *wrong row*. Either commits to what it
//! claims and opens its leaves consistently with that commitment, exactly
//! as a real cheater would, so only O's sample (and T) can catch it.

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

fn lazy_leaf(s: &SearchParams, from: u64, j: u64) -> ([u8; 32], u64) {
    let x = s.lo + j;
    if x >= from {
        ([0; 32], x)
    } else {
        (evaluate(&s.seed, s.rounds, x), x)
    }
}

/// The result and tree this calculator commits to.
pub fn commit(sub: &SubTask, m: &Misbehave) -> bapay_core::Result<(SubResult, MerkleTree)> {
    match sub {
        SubTask::Search(s) if m.lazy_fraction > 0.0 => {
            let from = skip_from(s, m.lazy_fraction);
            let mut hits = Vec::new();
            let leaves = (0..s.hi - s.lo).map(|j| {
                let (f, x) = lazy_leaf(s, from, j);
                if x < from && is_hit(&f, s.difficulty_bits) {
                    hits.push(x);
                }
                leaf_bytes(j, x, &f)
            });
            let tree = MerkleTree::from_leaves(leaves)?;
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
) -> bapay_core::Result<Vec<Opening>> {
    match sub {
        SubTask::Search(s) if m.lazy_fraction > 0.0 => {
            let from = skip_from(s, m.lazy_fraction);
            indices
                .iter()
                .map(|&j| {
                    let (f, x) = lazy_leaf(s, from, j);
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
            wrong_row: false,
        };
        let (res, tree) = commit(&sub, &m).expect("commit");
        let ops = open(&sub, &res, &tree, &[1, 40], &m).expect("open");
        assert!(sub
            .verify_sample(&res, &tree.root(), &[1], &ops[..1])
            .is_ok());
        assert!(sub
            .verify_sample(&res, &tree.root(), &[40], &ops[1..])
            .is_err());
        let honest = commit(&sub, &Misbehave::default()).expect("honest");
        assert_ne!(honest.1.root(), tree.root());
    }
}
