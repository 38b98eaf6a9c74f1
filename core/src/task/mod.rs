//! Task kinds: what is outsourced and how a result is checked (PROTOCOL.md §2).
//!
//! Every kind implements one trait, [`TaskKind`]: split a job into n
//! sub-tasks, compute one, commit to the result with a Merkle tree, verify a
//! sample of opened leaves, combine the results. The daemons and the payment
//! code only see the kind-agnostic envelopes of [`spec`] ([`TaskSpec`],
//! [`SubTask`], [`SubResult`], ...), which dispatch to the kinds, so a new
//! kind touches this module and nothing in settlement.
//!
//! Sub-tasks and results have a canonical byte encoding (`to_bytes`): it is
//! the message m_i (and result r_i) hashed into the collusion keys, so it is
//! deterministic and every value has exactly one encoding. See
//! `docs/commitments.md` for the leaf and byte layouts.

pub mod field;
pub mod linear;
mod linear_codec;
pub mod search;
mod search_codec;
pub mod shamir;
pub mod spec;

use rand::RngCore;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::merkle::{leaf_hash, Hash32, MerkleTree, Proof};
use crate::{Error, Result};

pub use spec::{Output, Secret, SubResult, SubTask, TaskSpec};

/// Most calculators one job may be split among.
pub const MAX_CALCULATORS: u32 = 1024;

/// Largest encoded sub-result a job may have: it travels in one gRPC
/// message (FetchResult to O and to T, the dispute request), under the
/// 4 MiB limit with room for the commitment and framing. A calculator must
/// never accept work whose result it cannot hand over: with unresponsive
/// disputes it would lose its deposit for a result too large to send.
pub const MAX_RESULT_BYTES: u64 = 3 * 1024 * 1024;

/// Canonical, injective byte encoding of a sub-task or result (the m_i and
/// r_i bytes of the collusion keys). The first byte is the kind's tag.
pub trait Canonical: Sized {
    /// The canonical bytes.
    fn to_bytes(&self) -> Vec<u8>;
    /// Decodes and validates canonical bytes (input from outside).
    fn from_bytes(bytes: &[u8]) -> Result<Self>;
}

/// Why a sampled leaf is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafFault {
    /// The Merkle proof does not lead from this leaf to the committed root.
    #[error("Merkle proof does not verify against the committed root")]
    BadProof,
    /// The leaf data has the wrong length.
    #[error("leaf data is {got} bytes, expected {expected}")]
    Malformed {
        /// Expected length.
        expected: u64,
        /// Length found.
        got: u64,
    },
    /// The leaf's own index field differs from its position.
    #[error("leaf says it is index {claimed}")]
    WrongIndex {
        /// Index written in the leaf.
        claimed: u64,
    },
    /// The leaf evaluates the wrong input.
    #[error("leaf input is {claimed}, expected {expected}")]
    WrongInput {
        /// Input required at this index.
        expected: u64,
        /// Input written in the leaf.
        claimed: u64,
    },
    /// Recomputing the function at this leaf gives a different output.
    #[error("recomputed output differs from the committed output")]
    WrongOutput,
    /// The leaf's output satisfies the predicate but its input is not a claimed hit.
    #[error("leaf is a hit that the result does not claim")]
    HitNotClaimed,
    /// The leaf's output fails the predicate but its input is claimed as a hit.
    #[error("result claims a hit that the leaf refutes")]
    FalseHitClaimed,
    /// The leaf value differs from the delivered result at this index.
    #[error("committed value differs from the delivered result")]
    ResultMismatch,
    /// The leaf holds a non-canonical field element.
    #[error("leaf value is not a canonical field element")]
    NonCanonical,
}

/// One opened leaf: its index, data and inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    /// 0-based leaf index.
    pub index: u64,
    /// The leaf data (its hash is `merkle::leaf_hash(leaf_data)`).
    pub leaf_data: Vec<u8>,
    /// Inclusion proof against the committed root.
    pub proof: Proof,
}

/// One kind of outsourced computation.
pub trait TaskKind {
    /// Name used in errors and as the JSON tag.
    const NAME: &'static str;
    /// First byte of this kind's canonical encodings.
    const TAG: u8;
    /// The job description.
    type Params: Clone + Serialize + DeserializeOwned;
    /// One calculator's sub-task m_i (self-contained).
    type SubTask: Clone + Serialize + DeserializeOwned + Canonical;
    /// One calculator's result r_i.
    type SubResult: Clone + Serialize + DeserializeOwned + Canonical;
    /// The job output.
    type Output: Clone + PartialEq + std::fmt::Debug;
    /// What O keeps secret to check results (e.g. a Freivalds key).
    type Secret: Clone + Serialize + DeserializeOwned;

    /// Checks a job description.
    fn validate(params: &Self::Params) -> Result<()>;
    /// Checks a sub-task received from outside.
    fn validate_sub(sub: &Self::SubTask) -> Result<()>;
    /// Splits a job into `n` sub-tasks plus O's verification secret.
    fn split<R: RngCore + ?Sized>(
        params: &Self::Params,
        n: u32,
        rng: &mut R,
    ) -> Result<(Vec<Self::SubTask>, Self::Secret)>;
    /// Computes a sub-task and commits to it in one pass.
    fn compute_and_commit(sub: &Self::SubTask) -> Result<(Self::SubResult, MerkleTree)>;
    /// Computes a sub-task (the result only).
    fn compute(sub: &Self::SubTask) -> Result<Self::SubResult> {
        Self::compute_and_commit(sub).map(|(r, _)| r)
    }
    /// Number of leaves of a sub-task's commitment.
    fn leaf_count(sub: &Self::SubTask) -> u64;
    /// The data of leaf `index` of the commitment to `res`.
    fn leaf_data(sub: &Self::SubTask, res: &Self::SubResult, index: u64) -> Result<Vec<u8>>;
    /// The Merkle tree over all leaves of `res`.
    fn commit(sub: &Self::SubTask, res: &Self::SubResult) -> Result<MerkleTree>;
    /// Checks one opened leaf's content (its proof is checked by the caller).
    fn check_leaf(
        sub: &Self::SubTask,
        res: &Self::SubResult,
        index: u64,
        data: &[u8],
    ) -> Result<()>;
    /// Checks the shape of a result received from outside before any leaf
    /// is checked against it (search: hits strictly increasing, which
    /// [`Self::check_leaf`] relies on). Cheap: never evaluates the task.
    fn check_result_shape(_sub: &Self::SubTask, _res: &Self::SubResult) -> Result<()> {
        Ok(())
    }
    /// Kind-specific whole-result check O can afford (hits, Freivalds).
    fn verify_result(
        sub: &Self::SubTask,
        secret: &Self::Secret,
        res: &Self::SubResult,
    ) -> Result<()>;
    /// Combines the results, in sub-task order, into the job output.
    fn combine(params: &Self::Params, results: &[Self::SubResult]) -> Result<Self::Output>;
    /// Computes the job directly, without splitting (reference, tests).
    fn run_direct(params: &Self::Params) -> Result<Self::Output>;

    /// Opens the given leaves (calculator side).
    fn open(
        sub: &Self::SubTask,
        res: &Self::SubResult,
        tree: &MerkleTree,
        indices: &[u64],
    ) -> Result<Vec<Opening>> {
        indices
            .iter()
            .map(|&index| {
                Ok(Opening {
                    index,
                    leaf_data: Self::leaf_data(sub, res, index)?,
                    proof: tree.proof(index)?,
                })
            })
            .collect()
    }

    /// Verifies a sample (O or T side): `openings[k]` must open `indices[k]`,
    /// prove membership under `root`, and hold the right content. Returns
    /// which leaf is wrong and why ([`Error::LeafRejected`]). The result
    /// need not come from canonical bytes: its shape is checked first
    /// ([`Self::check_result_shape`]).
    fn verify_sample(
        sub: &Self::SubTask,
        res: &Self::SubResult,
        root: &Hash32,
        indices: &[u64],
        openings: &[Opening],
    ) -> Result<()> {
        Self::validate_sub(sub)?;
        Self::check_result_shape(sub, res)?;
        let leaf_count = Self::leaf_count(sub);
        for (k, &index) in indices.iter().enumerate() {
            let missing = || Error::OpeningMissing {
                position: k as u64,
                index,
            };
            let op = openings
                .get(k)
                .filter(|o| o.index == index)
                .ok_or_else(missing)?;
            if !op
                .proof
                .verify(root, &leaf_hash(&op.leaf_data), index, leaf_count)
            {
                return Err(Error::LeafRejected {
                    index,
                    fault: LeafFault::BadProof,
                });
            }
            Self::check_leaf(sub, res, index, &op.leaf_data)?;
        }
        if let Some(extra) = openings.get(indices.len()) {
            return Err(Error::OpeningMissing {
                position: indices.len() as u64,
                index: extra.index,
            });
        }
        Ok(())
    }
}

/// Reads big-endian fields from canonical bytes.
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes`, which must begin with `tag`.
    pub(crate) fn new(what: &'static str, bytes: &'a [u8], tag: u8) -> Result<Self> {
        let mut r = Reader { what, bytes };
        let t = r.take::<1>()?[0];
        if t != tag {
            return Err(r.err(format!("tag {t:#04x}, expected {tag:#04x}")));
        }
        Ok(r)
    }

    pub(crate) fn err(&self, reason: String) -> Error {
        Error::Malformed {
            what: self.what,
            reason,
        }
    }

    pub(crate) fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        if self.bytes.len() < N {
            return Err(self.err("truncated".into()));
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        self.take().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.take().map(u64::from_be_bytes)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.err(format!("{} trailing bytes", self.bytes.len())))
        }
    }
}

/// Checks `n` calculators against the global cap.
pub(crate) fn check_calculators(n: u32) -> Result<()> {
    if n == 0 {
        return Err(Error::ZeroCalculators);
    }
    if n > MAX_CALCULATORS {
        return Err(Error::WorkTooLarge {
            what: "calculators",
            work: n.into(),
            max: MAX_CALCULATORS.into(),
        });
    }
    Ok(())
}

/// Checks a leaf's length.
pub(crate) fn check_len(index: u64, data: &[u8], expected: usize) -> Result<()> {
    if data.len() == expected {
        Ok(())
    } else {
        let fault = LeafFault::Malformed {
            expected: expected as u64,
            got: data.len() as u64,
        };
        Err(Error::LeafRejected { index, fault })
    }
}
