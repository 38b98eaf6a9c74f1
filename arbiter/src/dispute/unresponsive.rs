//! Unresponsive disputes (Bitcoin; PROTOCOL.md §4 step 5): a calculator
//! that took the job and then delivered nothing must lose its deposit, but
//! only if it really is silent. O's filing proves which m_i and token C_i
//! accepted and where C_i answers (O's signed offer, C_i's signed
//! acceptance: [`super::Unresponsive::check`]); the dispute is stored
//! AWAITING_CALCULATOR, and the driver calls [`tick`]: T asks C_i itself
//! with its own arbiter certificate: FetchResult, then OpenLeaves at T's
//! sample. The sample is fixed per dispute (T's challenge is a tagged hash
//! of its secret key and the dispute id, unknown to C_i) and so is the root
//! it is drawn from (the first commitment C_i gives is stored before the
//! sample is asked; another one later does not count), so C_i can neither
//! refuse samples until a lucky one comes nor re-commit until one misses.
//! - a valid result whose sample verifies: REJECTED (CALCULATOR_RESPONDED),
//!   and the signed result goes back to O with the rejection (`Dispute`'s
//!   answer), so the job still gets its output;
//! - a proven wrong leaf: AT_FAULT at once;
//! - nothing valid until `response_window_ms` after filing: AT_FAULT
//!   (UNRESPONSIVE), after the chain checks again (escrow unspent, not too
//!   late; EXPIRED otherwise). Signing is [`super::DisputeSettlement::on_fault`],
//!   stored before it leaves, as for every dispute.
//!
//! A restart resumes every open dispute from the store.

use std::time::Duration;

use bapay_core::commitment::Chain as CommitChain;
use bapay_core::sampling::sample_indices;
use bapay_core::verdict::{self, RejectReason, Verdict};
use bapay_daemon::{codec, ErrorCode};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::fault::Kind;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;
use bapay_proto::common::v1 as common;
use prost::Message;

use super::bitcoin::Bitcoin;
use super::{fault, reject_code, DisputeSettlement, Evidence, Filing, Unresponsive};
use crate::record::{self, DisputeRecord, State, StoredFault};
use crate::service::Arbiter;
use crate::Result;

/// Per call to C_i.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// One pass over every open unresponsive dispute.
pub async fn tick(a: &Arbiter) -> Result<()> {
    let open: Vec<DisputeRecord> = record::all(a.store.as_ref())?
        .into_iter()
        .filter(|(r, _)| r.state == State::AwaitingCalculator)
        .map(|(r, _)| r)
        .collect();
    for rec in open {
        if let Err(e) = step(a, &rec).await {
            tracing::warn!(dispute = %rec.dispute_id, error = %e, "unresponsive dispute step failed; retrying");
        }
    }
    Ok(())
}

/// The filing `rec` stored, rebuilt (T decides only on what it stored).
fn filing(
    a: &Arbiter,
    rec: &DisputeRecord,
) -> Result<Filing<<Bitcoin as DisputeSettlement>::Detail>> {
    let bytes = hex::decode(&rec.request_hex)
        .map_err(|e| bapay_daemon::ServiceError::internal("stored request", e))?;
    let r = pb::DisputeRequest::decode(bytes.as_slice())
        .map_err(|e| bapay_daemon::ServiceError::internal("stored request", e))?;
    let evidence = Evidence::decode(&r, CommitChain::Bitcoin)?;
    Bitcoin.validate(a, &r, evidence)
}

async fn step(a: &Arbiter, rec: &DisputeRecord) -> Result<()> {
    let f = filing(a, rec)?;
    let Evidence::Unresponsive(u) = &f.evidence else {
        return Ok(());
    };
    let mut answered = None;
    let answer = match fetch(a, &f, u).await {
        Ok((pc, result)) => match pin(a, &rec.dispute_id, &pc).await? {
            Some(why) => Err(why),
            None => {
                let v = open(a, &f, u, &rec.dispute_id, &pc, &result).await;
                answered = Some(result);
                v
            }
        },
        Err(why) => Err(why),
    };
    let deadline = rec
        .created_unix_ms
        .saturating_add(a.config.response_window_ms);
    let _guard = a.lock.lock().await;
    let Some((mut rec, version)) = record::load(a.store.as_ref(), &rec.dispute_id)? else {
        return Ok(());
    };
    if rec.state != State::AwaitingCalculator {
        return Ok(());
    }
    let fault_reason = match answer {
        Ok(Verdict::Rejected {
            reason: RejectReason::CalculatorHonest,
        }) => {
            rec.state = State::Rejected;
            rec.reject_reason = pb::RejectReason::CalculatorResponded as i32;
            rec.detail =
                "the calculator answered T with a signed result whose sample verifies".into();
            // O gets the answer with the rejection (under the pinned
            // commitment, the one T's sample was drawn from).
            rec.answered_result = answered.as_ref().map(hex::encode);
            None
        }
        Ok(Verdict::CalculatorAtFault { reason }) => Some(fault(&reason)),
        Ok(Verdict::Rejected { reason }) if a.now_ms() >= deadline => Some(silent(format!(
            "its answer does not hold: {:?}",
            reject_code(&reason)
        ))),
        Err(why) if a.now_ms() >= deadline => Some(silent(why)),
        Ok(Verdict::Rejected { reason }) => {
            tracing::info!(dispute = %rec.dispute_id, ?reason, "the calculator's answer does not hold yet; asking again");
            return Ok(());
        }
        Err(why) => {
            tracing::info!(dispute = %rec.dispute_id, %why, "no valid answer yet; asking again");
            return Ok(());
        }
    };
    if let Some(stored) = fault_reason {
        // The chain again, now: the escrow unspent and time left.
        match Bitcoin.admit(a, &f).await {
            Ok(_) => {
                rec.fault = Some(stored);
                Bitcoin.on_fault(a, &f, &mut rec).await?;
            }
            Err(e) if e.code == ErrorCode::FailedPrecondition => {
                rec.state = State::Expired;
                rec.detail = format!("no answer, but too late to act: {}", e.message);
            }
            Err(e) => return Err(e),
        }
    }
    rec.updated_unix_ms = a.now_ms();
    record::save(a.store.as_ref(), &rec, Some(version))?;
    tracing::info!(dispute = %rec.dispute_id, state = ?rec.state, "unresponsive dispute decided");
    Ok(())
}

fn silent(detail: String) -> StoredFault {
    StoredFault {
        kind: Kind::Unresponsive as i32,
        leaf_index: 0,
        detail: format!("no valid answer to T within the response window: {detail}"),
    }
}

/// C_i's signed commitment and result, or why there is none.
async fn fetch<D>(
    a: &Arbiter,
    f: &Filing<D>,
    u: &Unresponsive,
) -> std::result::Result<(common::SignedCommitment, Vec<u8>), String> {
    let r = client(a, u)
        .await?
        .fetch_result(calc::FetchResultRequest {
            job_id: f.job_id.to_vec(),
            job_token: u.job_token.clone(),
        })
        .await
        .map_err(|e| format!("FetchResult: {:?}: {}", e.code(), e.message()))?
        .into_inner();
    match r.commitment {
        Some(pc) if !r.result.is_empty() => Ok((pc, r.result)),
        _ => Err("no result yet".into()),
    }
}

/// Stores `pc` as the dispute's commitment if none is (before the sample
/// is asked); why the answer does not count if another one is.
async fn pin(a: &Arbiter, id: &str, pc: &common::SignedCommitment) -> Result<Option<String>> {
    let hex_pc = hex::encode(pc.encode_to_vec());
    let _guard = a.lock.lock().await;
    let Some((mut rec, version)) = record::load(a.store.as_ref(), id)? else {
        return Ok(Some("dispute gone".into()));
    };
    match &rec.pinned_commitment {
        Some(p) if *p == hex_pc => Ok(None),
        Some(_) => Ok(Some(
            "a commitment other than the first one it gave T".into(),
        )),
        None => {
            rec.pinned_commitment = Some(hex_pc);
            record::save(a.store.as_ref(), &rec, Some(version))?;
            Ok(None)
        }
    }
}

async fn client(
    a: &Arbiter,
    u: &Unresponsive,
) -> std::result::Result<CalculatorServiceClient<tonic::transport::Channel>, String> {
    let channel = a
        .tls
        .endpoint(&u.endpoint)
        .map_err(|e| format!("endpoint {}: {e}", u.endpoint))?
        .connect_timeout(CALL_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .connect()
        .await
        .map_err(|e| format!("{} unreachable: {e}", u.endpoint))?;
    Ok(CalculatorServiceClient::new(channel))
}

/// T's challenge for dispute `id`: fixed, and unknown to C_i.
fn challenge(a: &Arbiter, id: &str) -> [u8; 32] {
    let mut b = a.key.keypair().secret_bytes().to_vec();
    b.extend_from_slice(id.as_bytes());
    bapay_core::keys::tagged_hash("BAPay/arbiter-challenge/v1", &b)
}

/// Asks C_i to open T's sample of the pinned commitment; T's verdict on
/// the answer, or why there is no answer to judge.
async fn open<D>(
    a: &Arbiter,
    f: &Filing<D>,
    u: &Unresponsive,
    id: &str,
    pc: &common::SignedCommitment,
    result: &[u8],
) -> std::result::Result<Verdict, String> {
    let signed = codec::commitment("commitment", Some(pc), CommitChain::Bitcoin)
        .map_err(|e| format!("commitment: {}", e.reason))?;
    let challenge = challenge(a, id);
    let indices = sample_indices(
        &f.job_id,
        f.index,
        &signed.commitment.root,
        &challenge,
        signed.commitment.leaf_count,
        a.config.sample_size,
    )
    .map_err(|e| format!("sample: {e}"))?;
    let opened = client(a, u)
        .await?
        .open_leaves(calc::OpenLeavesRequest {
            job_id: f.job_id.to_vec(),
            job_token: u.job_token.clone(),
            indices: indices.clone(),
            challenge: challenge.to_vec(),
        })
        .await
        .map_err(|e| format!("OpenLeaves: {:?}: {}", e.code(), e.message()))?
        .into_inner();
    let openings = codec::openings("openings", &opened.openings)
        .map_err(|e| format!("openings: {}", e.reason))?;
    // The leaves T asked for, not others C_i chose.
    let asked: Vec<u64> = openings.iter().map(|o| o.index).collect();
    if asked != indices {
        return Err("the openings are not the sample T asked for".into());
    }
    verdict::decide(&verdict::Dispute {
        chain: CommitChain::Bitcoin,
        job_id: f.job_id,
        index: f.index,
        calculator: &f.calculator,
        sub_task: &u.sub_task,
        commitment: &signed,
        result,
        openings: &openings,
    })
    .map_err(|e| format!("T could not check the answer: {e}"))
}
