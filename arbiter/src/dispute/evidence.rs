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

/// O's evidence, decoded (one per filing: the size difference of the
/// variants does not matter).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Evidence {
    /// A signed result that is wrong at the opened leaves.
    Wrong(WrongResult),
    /// No result: T asks C_i itself (`super::unresponsive`).
    Unresponsive(Unresponsive),
    /// Ethereum: C_i's answer to O's on-chain challenge, read from the
    /// chain and judged by T (`super::ethereum`).
    Answer(Answer),
}

/// `ChallengeAnswer` evidence, decoded: m_i bound to C_i through the
/// offer it accepted ([`Unresponsive::check`] checks both signatures),
/// and the audit terms of the disputed job.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The offer binding (its `job_token` and deadline are unused).
    pub binding: Unresponsive,
    /// The audit terms the job hashes (never a search job's).
    pub audit: bapay_fairpay::AuditParams,
    /// Where T starts reading the job's logs.
    pub from_block: u64,
}

/// `Unresponsive` evidence, decoded; [`Unresponsive::check`] binds it to
/// the filing.
#[derive(Debug, Clone)]
pub struct Unresponsive {
    /// m_i.
    pub sub_task: SubTask,
    /// Where C_i signed that it answers.
    pub endpoint: String,
    /// The token C_i took with the offer.
    pub job_token: Vec<u8>,
    /// O's offer as sent (with its signature).
    pub offer: bapay_proto::calculator::v1::OfferRequest,
    /// C_i's acceptance signature.
    pub acceptance_signature: Vec<u8>,
    /// The result deadline of the offer (height): no accusation of silence
    /// before it.
    pub result_deadline: u64,
}

/// `WrongResult` evidence, decoded (INVALID_ARGUMENT naming the field).
#[derive(Debug, Clone)]
pub struct WrongResult {
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
            Some(dispute_request::Evidence::Unresponsive(u)) => {
                if chain != CommitChain::Bitcoin {
                    return Err(ServiceError::unimplemented(
                        "unresponsive evidence is Bitcoin only (Ethereum: O challenges on chain, FairPay challenge)",
                    ));
                }
                return Unresponsive::decode(r, u).map(Evidence::Unresponsive);
            }
            Some(dispute_request::Evidence::ChallengeAnswer(c)) => {
                if chain != CommitChain::Ethereum {
                    return Err(ServiceError::invalid(
                        "challenge_answer",
                        "an answer to an on-chain challenge is Ethereum only",
                    ));
                }
                return Answer::decode(r, c).map(Evidence::Answer);
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
        Ok(Evidence::Wrong(WrongResult {
            sub_task,
            commitment,
            result: w.result.clone(),
            openings,
        }))
    }

    /// The wrong-result evidence, if that is what this is.
    pub fn wrong(&self) -> Option<&WrongResult> {
        match self {
            Evidence::Wrong(w) => Some(w),
            Evidence::Unresponsive(_) | Evidence::Answer(_) => None,
        }
    }

    /// The core verdict on this evidence for `f`'s slot and key
    /// (unresponsive evidence is decided by asking C_i, not here).
    pub fn decide<D>(&self, chain: CommitChain, f: &Filing<D>) -> bapay_core::Result<Verdict> {
        match self {
            Evidence::Wrong(w) => w.decide(chain, f),
            Evidence::Unresponsive(_) | Evidence::Answer(_) => {
                Err(bapay_core::Error::InvalidSignature(
                    "decided by asking the calculator, or from the chain".into(),
                ))
            }
        }
    }
}

impl WrongResult {
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

impl Answer {
    fn decode(r: &pb::DisputeRequest, c: &pb::ChallengeAnswer) -> Result<Self> {
        use bapay_proto::calculator::v1::offer_request::Terms;
        let (offer, same) = decode_offer(r, "challenge_answer", &c.calculator_endpoint, &c.offer)?;
        let Some(Terms::Ethereum(e)) = &offer.terms else {
            return Err(ServiceError::invalid(
                "challenge_answer.offer",
                "not an Ethereum offer",
            ));
        };
        let disputed = match &r.settlement {
            Some(dispute_request::Settlement::Ethereum(d)) => d.job.as_ref(),
            _ => None,
        };
        same("job", e.job.is_some() && e.job.as_ref() == disputed)?;
        let audit = codec::eth_audit(
            "challenge_answer.offer.audit",
            codec::required("challenge_answer.offer.audit", e.audit.as_ref())?,
        )?;
        let hashed = e.job.as_ref().map(|j| j.audit.as_slice())
            == Some(bapay_fairpay::audit_hash(&audit).as_slice());
        same("audit (job.audit does not hash it)", hashed)?;
        if audit.search {
            return Err(ServiceError::precondition(
                "a search job's answer was judged by FairPay itself (respondSearch)",
            ));
        }
        Ok(Answer {
            binding: Unresponsive {
                sub_task: codec::sub_task("sub_task", &r.sub_task)?,
                endpoint: c.calculator_endpoint.clone(),
                job_token: offer.job_token.clone(),
                offer,
                acceptance_signature: c.acceptance_signature.clone(),
                result_deadline: 0,
            },
            audit,
            from_block: c.from_block,
        })
    }
}

/// O's offer of a filing's evidence (`what`: the evidence field), decoded
/// and naming this dispute's job, index and m_i; and the check that a part
/// of it is the dispute's (INVALID_ARGUMENT naming the field).
fn decode_offer(
    r: &pb::DisputeRequest,
    what: &'static str,
    endpoint: &str,
    offer: &[u8],
) -> Result<(
    bapay_proto::calculator::v1::OfferRequest,
    impl Fn(&str, bool) -> Result<()>,
)> {
    use prost::Message;
    if endpoint.is_empty() {
        return Err(ServiceError::invalid(
            &format!("{what}.calculator_endpoint"),
            "empty",
        ));
    }
    let offer = bapay_proto::calculator::v1::OfferRequest::decode(offer)
        .map_err(|e| ServiceError::invalid(&format!("{what}.offer"), e))?;
    let same = move |part: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(ServiceError::invalid(
                &format!("{what}.offer"),
                format!("its {part} is not this dispute's"),
            ))
        }
    };
    same("job_id", offer.job_id == r.job_id)?;
    same("index", offer.index == r.calculator_index)?;
    same("sub_task", offer.sub_task == r.sub_task)?;
    Ok((offer, same))
}

impl Unresponsive {
    fn decode(r: &pb::DisputeRequest, u: &pb::Unresponsive) -> Result<Self> {
        let sub_task = codec::sub_task("sub_task", &r.sub_task)?;
        codec::bytes32("unresponsive.job_token", &u.job_token)?;
        let (offer, same) = decode_offer(r, "unresponsive", &u.calculator_endpoint, &u.offer)?;
        same("job_token", offer.job_token == u.job_token)?;
        let (offered_terms, result_deadline) = match &offer.terms {
            Some(bapay_proto::calculator::v1::offer_request::Terms::Bitcoin(b)) => {
                (b.terms.as_ref(), b.result_deadline_height)
            }
            _ => (None, 0),
        };
        let disputed_terms = match &r.settlement {
            Some(dispute_request::Settlement::Bitcoin(b)) => b.terms.as_ref(),
            _ => None,
        };
        same(
            "terms",
            offered_terms.is_some() && offered_terms == disputed_terms,
        )?;
        Ok(Unresponsive {
            sub_task,
            endpoint: u.calculator_endpoint.clone(),
            job_token: u.job_token.clone(),
            offer,
            acceptance_signature: u.acceptance_signature.clone(),
            result_deadline,
        })
    }

    /// O signed the offer, and C_i (`calculator`) signed its acceptance
    /// of it with this endpoint: PERMISSION_DENIED otherwise.
    pub fn check(
        &self,
        outsourcer: &bitcoin::XOnlyPublicKey,
        calculator: &bitcoin::XOnlyPublicKey,
    ) -> Result<()> {
        use bapay_core::auth;
        use prost::Message;
        let unsigned = bapay_proto::calculator::v1::OfferRequest {
            outsourcer_signature: Vec::new(),
            ..self.offer.clone()
        };
        let bytes = unsigned.encode_to_vec();
        auth::verify(
            auth::OFFER_TAG,
            &bytes,
            &self.offer.outsourcer_signature,
            outsourcer,
        )
        .map_err(|e| {
            ServiceError::permission_denied(format!(
                "the offer is not signed by the terms' outsourcer ({e})"
            ))
        })?;
        let digest = auth::digest(auth::OFFER_TAG, &bytes);
        auth::verify(
            auth::ACCEPT_TAG,
            &auth::acceptance_bytes(&digest, &self.endpoint),
            &self.acceptance_signature,
            calculator,
        )
        .map_err(|e| {
            ServiceError::permission_denied(format!(
                "the calculator did not sign an acceptance of this offer at {} ({e})",
                self.endpoint
            ))
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
        RejectReason::NoAnswerOnChain => pb::RejectReason::NoAnswerOnChain,
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
