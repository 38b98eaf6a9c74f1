//! The arbiter's decision on a wrong-result dispute (PROTOCOL.md §4 step 5).
//!
//! T trusts neither side. O's evidence only counts if C_i signed it: the
//! [`SignedCommitment`] must verify under C_i's key and name this job, slot,
//! m_i and r_i; otherwise the dispute is *rejected* (T cannot attribute the
//! leaves to C_i, so punishing it would let O steal the deposit). Only then
//! does T judge the content, recomputing everything itself: the sample from
//! the root ([`crate::sampling::sample_indices`], never O's list), each
//! opening's proof and leaf, and the whole result where the kind allows it
//! without O's secret (search: every claimed hit; linear: T recomputes
//! r_i = A x_i, since the Freivalds key is O's secret). One wrong thing C_i
//! signed puts it *at fault*, wherever the leaf sits: T judges the leaf,
//! not how O found it (O's sample depends on its own challenge, so T could
//! not recompute it, and a proven wrong leaf is a fault either way); a
//! forged opening (a proof that does not lead to the root) rejects the
//! dispute; if everything checks out the calculator was honest.
//!
//! Decisions of evidence bound to C_i:
//! - r_i bytes whose SHA256 differs from the signed one: rejected
//!   ([`CommitmentField::Result`]); C_i never signed them.
//! - signed r_i bytes that do not decode, are of another kind, or have an
//!   impossible shape (search hits not increasing, linear length != rows):
//!   at fault ([`FaultReason::BadResult`]).
//! - a signed leaf count that is not m_i's: at fault.
//!
//! Malformed input (invalid m_i, more than [`MAX_SAMPLE_SIZE`] openings) is
//! an `Err`. Both chains
//! are decided the same way (PROTOCOL.md §5: T judges an Ethereum job on the
//! same evidence); the commitment's chain byte must be the dispute's chain
//! (else [`CommitmentField::Chain`] mismatch). Work is bounded by the task caps checked in
//! [`SubTask::validate`] (search: at most 2^30 hashes, linear: 2^24 entries).

use bitcoin::secp256k1::XOnlyPublicKey;

use crate::commitment::{sha256, Chain, SignedCommitment};
use crate::merkle::leaf_hash;
use crate::sampling::MAX_SAMPLE_SIZE;
use crate::task::linear::Linear;
use crate::task::search::{check_hits_increasing, Search};
use crate::task::{LeafFault, Opening, SubResult, SubTask, TaskKind};
use crate::{Error, Result};

/// A field of the signed commitment that does not match the dispute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitmentField {
    /// The settlement chain.
    Chain,
    /// The job id.
    JobId,
    /// The calculator index.
    Index,
    /// SHA256(m_i).
    SubTask,
    /// SHA256(r_i).
    Result,
}

/// Why the dispute is rejected (proto `arbiter.v1.RejectReason`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// The commitment is not signed by C_i (BAD_COMMITMENT_SIGNATURE).
    BadCommitmentSignature,
    /// The commitment is for something else (COMMITMENT_MISMATCH).
    CommitmentMismatch {
        /// The differing field.
        field: CommitmentField,
    },
    /// An opening whose proof does not lead to the root (BAD_PROOF).
    BadProof {
        /// Its leaf index.
        index: u64,
    },
    /// Every check passed: the calculator was honest (LEAVES_CORRECT).
    CalculatorHonest,
    /// The chain holds no answer to judge (NO_ANSWER_ON_CHAIN).
    NoAnswerOnChain,
}

/// Why C_i is at fault (proto `arbiter.v1.Fault`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultReason {
    /// C_i signed a leaf count that is not the sub-task's.
    WrongLeafCount {
        /// The signed L.
        committed: u64,
        /// m_i's leaf count.
        expected: u64,
    },
    /// C_i signed a result that cannot be right whatever the leaves (KIND_BAD_RESULT).
    BadResult {
        /// Why it is impossible.
        error: Error,
    },
    /// A sampled leaf C_i committed to is wrong.
    WrongLeaf {
        /// Its leaf index.
        index: u64,
        /// What is wrong with it.
        fault: LeafFault,
    },
    /// Search: a claimed hit is not a hit (or outside the range).
    FalseHit {
        /// Why ([`Error::HitRejected`]).
        error: Error,
    },
    /// Linear: row `row` of r_i differs from A x_i (first differing row).
    WrongRow {
        /// 0-based row.
        row: u64,
    },
}

/// T's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// C_i is at fault: T signs Redeem_i (Bitcoin).
    CalculatorAtFault {
        /// The proven fault.
        reason: FaultReason,
    },
    /// The evidence proves no fault.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

/// What T decides on: the dispute's identity (from the escrow terms) and O's evidence.
#[derive(Clone, Copy, Debug)]
pub struct Dispute<'a> {
    /// Chain of the escrow (the commitment must name the same chain).
    pub chain: Chain,
    /// The job id of the terms.
    pub job_id: [u8; 32],
    /// The accused calculator's 0-based index.
    pub index: u32,
    /// The accused calculator's x-only key (from the terms).
    pub calculator: &'a XOnlyPublicKey,
    /// m_i as decoded from O's canonical bytes.
    pub sub_task: &'a SubTask,
    /// C_i's signed commitment.
    pub commitment: &'a SignedCommitment,
    /// r_i as signed: canonical SubResult bytes.
    pub result: &'a [u8],
    /// The opened leaves O presents (any leaves of the tree).
    pub openings: &'a [Opening],
}

fn at_fault(reason: FaultReason) -> Result<Verdict> {
    Ok(Verdict::CalculatorAtFault { reason })
}

fn rejected(reason: RejectReason) -> Result<Verdict> {
    Ok(Verdict::Rejected { reason })
}

fn cap(what: &'static str, len: usize) -> Result<()> {
    if len > MAX_SAMPLE_SIZE as usize {
        return Err(Error::WorkTooLarge {
            what,
            work: len as u64,
            max: MAX_SAMPLE_SIZE.into(),
        });
    }
    Ok(())
}

/// Shape of a signed result: same kind as m_i, search hits strictly
/// increasing, linear length = rows.
fn check_shape(sub: &SubTask, res: &SubResult) -> Result<()> {
    match (sub, res) {
        (SubTask::Search(_), SubResult::Search(r)) => check_hits_increasing(&r.hits),
        (SubTask::Linear(s), SubResult::Linear(r)) if r.r.len() as u64 != u64::from(s.rows) => {
            Err(Error::DimensionMismatch {
                what: "result (rows)",
                expected: s.rows.into(),
                got: r.r.len() as u64,
            })
        }
        (SubTask::Linear(_), SubResult::Linear(_)) => Ok(()),
        (s, r) => Err(Error::KindMismatch {
            expected: s.kind(),
            got: r.kind(),
        }),
    }
}

/// T's verdict on a wrong-result dispute (see the module docs for the order
/// and meaning of each check).
pub fn decide(d: &Dispute<'_>) -> Result<Verdict> {
    cap("openings", d.openings.len())?;
    d.sub_task.validate()?;

    // 1. Is the evidence C_i's statement about this job, slot, m_i and r_i?
    let c = &d.commitment.commitment;
    let mismatch = |field| rejected(RejectReason::CommitmentMismatch { field });
    if c.chain != d.chain {
        return mismatch(CommitmentField::Chain);
    }
    if c.job_id != d.job_id {
        return mismatch(CommitmentField::JobId);
    }
    if c.index != d.index {
        return mismatch(CommitmentField::Index);
    }
    match d.commitment.verify(d.calculator) {
        Ok(()) => {}
        Err(Error::BadCommitmentSignature) => {
            return rejected(RejectReason::BadCommitmentSignature)
        }
        Err(e) => return Err(e),
    }
    if c.subtask_hash != sha256(&d.sub_task.to_bytes()) {
        return mismatch(CommitmentField::SubTask);
    }
    if c.result_hash != sha256(d.result) {
        return mismatch(CommitmentField::Result);
    }

    // 2. What C_i signed must be possible at all.
    let leaf_count = d.sub_task.leaf_count();
    if c.leaf_count != leaf_count {
        return at_fault(FaultReason::WrongLeafCount {
            committed: c.leaf_count,
            expected: leaf_count,
        });
    }
    let res = match SubResult::from_bytes(d.result) {
        Ok(r) => r,
        Err(error) => return at_fault(FaultReason::BadResult { error }),
    };
    if let Err(error) = check_shape(d.sub_task, &res) {
        return at_fault(FaultReason::BadResult { error });
    }

    // 3. The openings must be C_i's leaves: their proofs lead to its root.
    for op in d.openings {
        if !op
            .proof
            .verify(&c.root, &leaf_hash(&op.leaf_data), op.index, leaf_count)
        {
            return rejected(RejectReason::BadProof { index: op.index });
        }
    }

    // 4. Leaf content (proofs already hold, so any leaf error is a content fault).
    let indices: Vec<u64> = d.openings.iter().map(|o| o.index).collect();
    match d
        .sub_task
        .verify_sample(&res, &c.root, &indices, d.openings)
    {
        Ok(()) => {}
        Err(Error::LeafRejected { index, fault }) => {
            return at_fault(FaultReason::WrongLeaf { index, fault })
        }
        Err(e) => return Err(e),
    }

    // 5. The whole result, as far as T can check it without O's secret.
    match (d.sub_task, &res) {
        (SubTask::Search(s), SubResult::Search(r)) => match Search::verify_result(s, &(), r) {
            Ok(()) => {}
            Err(error @ Error::HitRejected { .. }) => {
                return at_fault(FaultReason::FalseHit { error })
            }
            Err(e) => return Err(e),
        },
        (SubTask::Linear(s), SubResult::Linear(r)) => {
            let honest = Linear::compute(s)?;
            if let Some(row) = honest.r.iter().zip(&r.r).position(|(a, b)| a != b) {
                return at_fault(FaultReason::WrongRow { row: row as u64 });
            }
        }
        // Unreachable: check_shape refused other pairs.
        (s, r) => {
            return Err(Error::KindMismatch {
                expected: s.kind(),
                got: r.kind(),
            })
        }
    }
    rejected(RejectReason::CalculatorHonest)
}

/// The verdict on C_i's answer to an on-chain challenge (FairPay
/// `respond`, contracts/sol/FairPayAudit.sol), for T and for O alike:
/// `leaves[k]` is what C_i answered at `positions[k]`. FairPay already
/// proved each leaf is C_i's (its Merkle proof against the committed root),
/// so no signature or proof is checked here: only the content, against the
/// honest recomputation of m_i (linear: r_i = A x_i; a search answer is
/// judged by the contract itself, so a search m_i is an `Err`). One wrong
/// leaf: at fault; every leaf right: rejected (the calculator was honest).
pub fn decide_answer(sub_task: &SubTask, positions: &[u64], leaves: &[Vec<u8>]) -> Result<Verdict> {
    cap("answered leaves", leaves.len())?;
    sub_task.validate()?;
    if positions.len() != leaves.len() {
        return Err(Error::DimensionMismatch {
            what: "answered leaves",
            expected: positions.len() as u64,
            got: leaves.len() as u64,
        });
    }
    let SubTask::Linear(s) = sub_task else {
        return Err(Error::KindMismatch {
            expected: "linear",
            got: sub_task.kind(),
        });
    };
    let leaf_count = sub_task.leaf_count();
    if let Some(&index) = positions.iter().find(|&&p| p >= leaf_count) {
        return Err(Error::IndexOutOfRange { index, leaf_count });
    }
    let honest = Linear::compute(s)?;
    for (&index, data) in positions.iter().zip(leaves) {
        match Linear::check_leaf(s, &honest, index, data) {
            Ok(()) => {}
            Err(Error::LeafRejected { index, fault }) => {
                return at_fault(FaultReason::WrongLeaf { index, fault })
            }
            Err(e) => return Err(e),
        }
    }
    rejected(RejectReason::CalculatorHonest)
}
