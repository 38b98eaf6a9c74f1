//! O's evidence, decoded once for both chains, and the mapping of the core
//! verdict ([`bapay_core::verdict`]) to the proto's reasons.

use bapay_core::commitment::{Chain as CommitChain, SignedCommitment};
use bapay_core::sampling::MAX_SAMPLE_SIZE;
use bapay_core::task::{LeafFault, Opening, SubTask};
use bapay_core::verdict::{self, FaultReason, RejectReason, Verdict};
use bapay_daemon::{codec, ServiceError};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::dispute_request;
use bapay_proto::arbiter::v1::fault::Kind;

use super::Filing;
use crate::record::StoredFault;
use crate::Result;

/// `WrongResult` evidence, decoded (INVALID_ARGUMENT naming the field).
#[derive(Debug, Clone)]
pub struct Evidence {
    /// m_i.
    pub sub_task: SubTask,
    /// C_i's signed commitment.
    pub commitment: SignedCommitment,
    /// r_i as signed (canonical bytes).
    pub result: Vec<u8>,
    /// The opened leaves O presents (1..=10,000).
    pub openings: Vec<Opening>,
}

impl Evidence {
    /// Decodes the evidence of `r` for a dispute on `chain`.
    pub fn decode(r: &pb::DisputeRequest, chain: CommitChain) -> Result<Self> {
        let w = match &r.evidence {
            Some(dispute_request::Evidence::WrongResult(w)) => w,
            Some(dispute_request::Evidence::Unresponsive(_)) => {
                return Err(ServiceError::unimplemented(
                    "unresponsive evidence is not implemented yet",
                ))
            }
            None => return Err(ServiceError::invalid("evidence", "no evidence")),
        };
        let sub_task = codec::sub_task("sub_task", &r.sub_task)?;
        let commitment =
            codec::commitment("wrong_result.commitment", w.commitment.as_ref(), chain)?;
        if w.openings.is_empty() {
            return Err(ServiceError::invalid("wrong_result.openings", "no opening"));
        }
        if w.openings.len() > MAX_SAMPLE_SIZE as usize {
            return Err(ServiceError::invalid(
                "wrong_result.openings",
                format!("{} openings, at most {MAX_SAMPLE_SIZE}", w.openings.len()),
            ));
        }
        let openings = codec::openings("wrong_result.openings", &w.openings)?;
        Ok(Evidence {
            sub_task,
            commitment,
            result: w.result.clone(),
            openings,
        })
    }

    /// The core verdict on this evidence for `f`'s slot and key.
    pub fn decide<D>(&self, chain: CommitChain, f: &Filing<D>) -> bapay_core::Result<Verdict> {
        verdict::decide(&verdict::Dispute {
            chain,
            job_id: f.job_id,
            index: f.index,
            calculator: &f.calculator,
            sub_task: &self.sub_task,
            commitment: &self.commitment,
            result: &self.result,
            openings: &self.openings,
        })
    }
}

/// The proto reason of a core rejection.
pub fn reject_code(r: &RejectReason) -> pb::RejectReason {
    match r {
        RejectReason::BadCommitmentSignature => pb::RejectReason::BadCommitmentSignature,
        RejectReason::CommitmentMismatch { .. } => pb::RejectReason::CommitmentMismatch,
        RejectReason::BadProof { .. } => pb::RejectReason::BadProof,
        RejectReason::CalculatorHonest => pb::RejectReason::LeavesCorrect,
    }
}

/// The stored form of a proven fault.
pub fn fault(r: &FaultReason) -> StoredFault {
    let (kind, leaf_index, detail) = match r {
        FaultReason::WrongLeafCount {
            committed,
            expected,
        } => (
            Kind::BadResult,
            0,
            format!("committed {committed} leaves, the sub-task has {expected}"),
        ),
        FaultReason::BadResult { error } => (Kind::BadResult, 0, error.to_string()),
        FaultReason::WrongLeaf { index, fault } => {
            let kind = match fault {
                LeafFault::BadProof | LeafFault::Malformed { .. } => Kind::Malformed,
                LeafFault::WrongIndex { .. } => Kind::WrongIndex,
                LeafFault::WrongInput { .. } => Kind::WrongInput,
                LeafFault::WrongOutput => Kind::WrongOutput,
                LeafFault::HitNotClaimed => Kind::HitNotClaimed,
                LeafFault::FalseHitClaimed => Kind::FalseHitClaimed,
                LeafFault::ResultMismatch => Kind::ResultMismatch,
                LeafFault::NonCanonical => Kind::NonCanonical,
            };
            (kind, *index, fault.to_string())
        }
        FaultReason::FalseHit { error } => (Kind::FalseHitClaimed, 0, error.to_string()),
        FaultReason::WrongRow { row } => (
            Kind::WrongOutput,
            *row,
            format!("row {row} of the result differs from A x_i"),
        ),
    };
    StoredFault {
        kind: kind as i32,
        leaf_index,
        detail,
    }
}
