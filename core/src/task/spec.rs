//! Kind-agnostic envelopes that the daemons store and send.
//!
//! The payment code handles jobs only through these enums; each method
//! dispatches to the [`TaskKind`] of the variant. Adding a kind means adding
//! a variant here and nothing in settlement. JSON is internally tagged:
//! `{"kind": "search", ...}`. Canonical bytes start with the kind's tag.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::field::Fe;
use super::linear::{
    FreivaldsKey, Linear, LinearParams, LinearResult, LinearSubTask, ShareAt, THRESHOLD_TAG,
};
use super::search::{Search, SearchParams, SearchResult};
use super::{Canonical, Opening, TaskKind};
use crate::merkle::{Hash32, MerkleTree};
use crate::{Error, Result};

/// A job description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskSpec {
    /// See [`super::search`].
    Search(SearchParams),
    /// See [`super::linear`].
    Linear(LinearParams),
}

/// One calculator's sub-task m_i.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubTask {
    /// A search sub-range.
    Search(SearchParams),
    /// A linear share.
    Linear(LinearSubTask),
}

/// One calculator's result r_i.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubResult {
    /// Search hits.
    Search(SearchResult),
    /// A x_i.
    Linear(LinearResult),
}

/// What O keeps secret to verify results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Secret {
    /// Search needs no secret.
    Search,
    /// Freivalds key.
    Linear(FreivaldsKey),
}

/// A job's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Output {
    /// Every hit of the whole range, ascending.
    Search {
        /// The hits.
        hits: Vec<u64>,
    },
    /// y = A x.
    Linear {
        /// y.
        y: Vec<Fe>,
    },
}

fn kind_of_sub(s: &SubTask) -> &'static str {
    match s {
        SubTask::Search(_) => Search::NAME,
        SubTask::Linear(_) => Linear::NAME,
    }
}

fn kind_of_res(r: &SubResult) -> &'static str {
    match r {
        SubResult::Search(_) => Search::NAME,
        SubResult::Linear(_) => Linear::NAME,
    }
}

fn mismatch(expected: &'static str, got: &'static str) -> Error {
    Error::KindMismatch { expected, got }
}

impl TaskSpec {
    /// The kind's name.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskSpec::Search(_) => Search::NAME,
            TaskSpec::Linear(_) => Linear::NAME,
        }
    }

    /// Checks the job description.
    pub fn validate(&self) -> Result<()> {
        match self {
            TaskSpec::Search(p) => Search::validate(p),
            TaskSpec::Linear(p) => Linear::validate(p),
        }
    }

    /// Splits the job among `n` calculators.
    pub fn split<R: RngCore + ?Sized>(
        &self,
        n: u32,
        rng: &mut R,
    ) -> Result<(Vec<SubTask>, Secret)> {
        match self {
            TaskSpec::Search(p) => {
                let (s, ()) = Search::split(p, n, rng)?;
                Ok((s.into_iter().map(SubTask::Search).collect(), Secret::Search))
            }
            TaskSpec::Linear(p) => {
                let (s, k) = Linear::split(p, n, rng)?;
                Ok((
                    s.into_iter().map(SubTask::Linear).collect(),
                    Secret::Linear(k),
                ))
            }
        }
    }

    /// Combines results (in sub-task order).
    pub fn combine(&self, results: &[SubResult]) -> Result<Output> {
        let kind = self.kind();
        match self {
            TaskSpec::Search(p) => {
                let rs = results
                    .iter()
                    .map(|r| match r {
                        SubResult::Search(r) => Ok(r.clone()),
                        other => Err(mismatch(kind, kind_of_res(other))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Output::Search {
                    hits: Search::combine(p, &rs)?,
                })
            }
            TaskSpec::Linear(p) => {
                let rs = results
                    .iter()
                    .map(|r| match r {
                        SubResult::Linear(r) => Ok(r.clone()),
                        other => Err(mismatch(kind, kind_of_res(other))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Output::Linear {
                    y: Linear::combine(p, &rs)?,
                })
            }
        }
    }

    /// The number of results out of `n` that give the output: l for a
    /// threshold job, else all n.
    pub fn results_needed(&self, n: usize) -> usize {
        self.threshold().map_or(n, |l| (l as usize).min(n))
    }

    /// l of an l-of-n job, `None` if every result is needed.
    pub fn threshold(&self) -> Option<u32> {
        match self {
            TaskSpec::Linear(p) => p.threshold,
            TaskSpec::Search(_) => None,
        }
    }

    /// Combines the results there are (`results[i]` is slot i's, `None`
    /// if it has none that counts): `None` until [`Self::results_needed`]
    /// of them are in. A threshold job uses the first l.
    pub fn combine_available(&self, results: &[Option<SubResult>]) -> Result<Option<Output>> {
        let have = results.iter().filter(|r| r.is_some()).count();
        if have < self.results_needed(results.len()) {
            return Ok(None);
        }
        match self {
            TaskSpec::Linear(p) if p.threshold.is_some() => {
                let indexed = (0u32..)
                    .zip(results)
                    .filter_map(|(i, r)| match r {
                        Some(SubResult::Linear(r)) => Some(Ok((i, r))),
                        Some(other) => Some(Err(mismatch(Linear::NAME, kind_of_res(other)))),
                        None => None,
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(Output::Linear {
                    y: super::shamir::combine(p, &indexed)?,
                }))
            }
            _ => {
                let all: Vec<SubResult> = results.iter().flatten().cloned().collect();
                self.combine(&all).map(Some)
            }
        }
    }

    /// Computes the job directly (reference).
    pub fn run_direct(&self) -> Result<Output> {
        match self {
            TaskSpec::Search(p) => Ok(Output::Search {
                hits: Search::run_direct(p)?,
            }),
            TaskSpec::Linear(p) => Ok(Output::Linear {
                y: Linear::run_direct(p)?,
            }),
        }
    }
}

impl SubTask {
    /// The kind's name.
    pub fn kind(&self) -> &'static str {
        kind_of_sub(self)
    }

    /// l and the index of a Shamir share, `None` for every other sub-task.
    pub fn share_at(&self) -> Option<ShareAt> {
        match self {
            SubTask::Linear(s) => s.threshold,
            SubTask::Search(_) => None,
        }
    }

    /// Canonical bytes: the message m_i of the collusion key.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SubTask::Search(s) => s.to_bytes(),
            SubTask::Linear(s) => s.to_bytes(),
        }
    }

    /// Decodes canonical bytes (dispatching on the tag byte) and validates.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let s = match b.first() {
            Some(&Search::TAG) => SubTask::Search(SearchParams::from_bytes(b)?),
            Some(&Linear::TAG | &THRESHOLD_TAG) => SubTask::Linear(LinearSubTask::from_bytes(b)?),
            _ => {
                return Err(Error::Malformed {
                    what: "sub-task",
                    reason: "unknown kind tag".into(),
                })
            }
        };
        s.validate()?;
        Ok(s)
    }

    /// Checks a sub-task received from outside.
    pub fn validate(&self) -> Result<()> {
        match self {
            SubTask::Search(s) => Search::validate_sub(s),
            SubTask::Linear(s) => Linear::validate_sub(s),
        }
    }

    /// The bytes its encoded result can take: one tag byte and 8 per
    /// row (linear) or per hit (search). For search the hits are bounded
    /// by 4 times their expectation L / 2^b plus 64, and by L: f is a
    /// random oracle, so an honest result above that has probability far
    /// below 2^-64. Compare with [`super::MAX_RESULT_BYTES`].
    pub fn max_result_len(&self) -> u64 {
        let items = match self {
            SubTask::Search(s) => {
                let l = s.hi.saturating_sub(s.lo);
                let expected = if s.difficulty_bits >= 64 {
                    1
                } else {
                    l.div_ceil(1u64 << s.difficulty_bits)
                };
                l.min(expected.saturating_mul(4).saturating_add(64))
            }
            SubTask::Linear(_) => self.leaf_count(),
        };
        items.saturating_mul(8).saturating_add(1)
    }

    /// Number of leaves of the commitment.
    pub fn leaf_count(&self) -> u64 {
        match self {
            SubTask::Search(s) => Search::leaf_count(s),
            SubTask::Linear(s) => Linear::leaf_count(s),
        }
    }

    /// Calculator: computes the result and its Merkle tree.
    pub fn compute_and_commit(&self) -> Result<(SubResult, MerkleTree)> {
        match self {
            SubTask::Search(s) => {
                Search::compute_and_commit(s).map(|(r, t)| (SubResult::Search(r), t))
            }
            SubTask::Linear(s) => {
                Linear::compute_and_commit(s).map(|(r, t)| (SubResult::Linear(r), t))
            }
        }
    }

    /// Calculator: opens the sampled leaves of its tree.
    pub fn open(
        &self,
        res: &SubResult,
        tree: &MerkleTree,
        indices: &[u64],
    ) -> Result<Vec<Opening>> {
        match (self, res) {
            (SubTask::Search(s), SubResult::Search(r)) => Search::open(s, r, tree, indices),
            (SubTask::Linear(s), SubResult::Linear(r)) => Linear::open(s, r, tree, indices),
            (s, r) => Err(mismatch(kind_of_sub(s), kind_of_res(r))),
        }
    }

    /// O / T: checks the opened sample against the committed root.
    pub fn verify_sample(
        &self,
        res: &SubResult,
        root: &Hash32,
        indices: &[u64],
        openings: &[Opening],
    ) -> Result<()> {
        match (self, res) {
            (SubTask::Search(s), SubResult::Search(r)) => {
                Search::verify_sample(s, r, root, indices, openings)
            }
            (SubTask::Linear(s), SubResult::Linear(r)) => {
                Linear::verify_sample(s, r, root, indices, openings)
            }
            (s, r) => Err(mismatch(kind_of_sub(s), kind_of_res(r))),
        }
    }

    /// O: kind-specific check of the whole result with its secret.
    pub fn verify_result(&self, secret: &Secret, res: &SubResult) -> Result<()> {
        match (self, secret, res) {
            (SubTask::Search(s), Secret::Search, SubResult::Search(r)) => {
                Search::verify_result(s, &(), r)
            }
            (SubTask::Linear(s), Secret::Linear(k), SubResult::Linear(r)) => {
                Linear::verify_result(s, k, r)
            }
            (SubTask::Search(_), _, SubResult::Search(_)) => {
                Err(mismatch(Search::NAME, Linear::NAME))
            }
            (SubTask::Linear(_), _, SubResult::Linear(_)) => {
                Err(mismatch(Linear::NAME, Search::NAME))
            }
            (s, _, r) => Err(mismatch(kind_of_sub(s), kind_of_res(r))),
        }
    }
}

impl SubResult {
    /// The kind's name.
    pub fn kind(&self) -> &'static str {
        kind_of_res(self)
    }

    /// Canonical bytes: the r_i of the result key.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SubResult::Search(r) => r.to_bytes(),
            SubResult::Linear(r) => r.to_bytes(),
        }
    }

    /// Decodes canonical bytes, dispatching on the tag byte.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        match b.first() {
            Some(&Search::TAG) => SearchResult::from_bytes(b).map(SubResult::Search),
            Some(&Linear::TAG) => LinearResult::from_bytes(b).map(SubResult::Linear),
            _ => Err(Error::Malformed {
                what: "result",
                reason: "unknown kind tag".into(),
            }),
        }
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
