//! DISPUTING: for each FAULTY slot with evidence, O first tries the chain's
//! own dispute (Ethereum: `disputeSearch` for a wrong search leaf, no
//! arbiter needed), else files a `WrongResult` dispute with T, presenting
//! only the opened leaves that fail (or, when the fault is in the whole
//! result, the first sampled leaf: T then checks the result itself). T's
//! answer: at fault → DISPUTED (the chain settles it: Bitcoin, O completes
//! and broadcasts Redeem_i; Ethereum, T's `judge`), JUDGED → REDEEMED,
//! REJECTED / EXPIRED → DISPUTE_REJECTED (C_i is paid at t; when T
//! rejects unresponsive evidence because C_i answered it, O checks and
//! keeps the signed result T hands back, so the output still combines). A failure on
//! one slot never stops the others. When no dispute is open any more →
//! AWAITING_PAYOUT. A slot with no result at all (Bitcoin) goes to T as
//! `Unresponsive` evidence: T asks C_i itself and answers
//! AWAITING_CALCULATOR until its response window closes; O files the same
//! request again on each pass until T decides. On Ethereum the same slot
//! is challenged on chain instead (FairPay `challenge`, no arbiter:
//! settlement/ethereum/challenge.rs).

use bapay_core::auth;
use bapay_daemon::codec;
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::common::v1 as common;
use prost::Message;

use super::verify::{disputable, has_evidence};
use crate::record::{JobRecord, JobState, Slot, SlotState, StoredDispute};
use crate::service::{set_slot, Note, Outsourcer};
use crate::settlement;
use crate::Result;

/// One pass of the dispute phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    let chain = settlement::of(rec);
    for s in &rec.slots {
        let done = if disputable(s, chain) {
            file(o, rec, s).await
        } else if s.state == SlotState::Disputed {
            chain.follow_dispute(o, rec, s).await
        } else {
            Ok(())
        };
        if let Err(e) = done {
            tracing::warn!(slot = s.index, error = %e, "dispute step failed; retrying");
        }
    }
    let rec = o.get(&rec.job_id)?.0;
    let open = rec
        .slots
        .iter()
        .any(|s| disputable(s, chain) || s.state == SlotState::Disputed);
    if !open {
        let output = super::verify::output(&rec)?;
        o.update(&rec.job_id, |r| {
            r.state = JobState::AwaitingPayout;
            let done = if output.is_some() {
                "disputes decided; every result counts, output combined; waiting for t"
            } else {
                "disputes decided; waiting for t"
            };
            r.output = output;
            Ok(vec![Note::job(done)])
        })
        .await?;
    }
    Ok(())
}

/// The openings that prove the fault (see the module docs).
fn evidence(s: &Slot, root: &bapay_core::merkle::Hash32) -> Result<Vec<common::Opening>> {
    let opened = s.openings()?;
    let sub = s.sub_task()?;
    let res = s.result()?;
    let mut bad = Vec::new();
    for p in &opened.openings {
        let Ok(core) = codec::openings("opening", std::slice::from_ref(p)) else {
            continue;
        };
        if sub.verify_sample(&res, root, &[p.index], &core).is_err() {
            bad.push(p.clone());
        }
    }
    if bad.is_empty() {
        bad.extend(opened.openings.first().cloned());
    }
    Ok(bad)
}

/// The evidence for T: the failing openings of a signed result, or, with
/// no result, O's signed offer and C_i's signed acceptance (T then asks
/// C_i itself).
fn evidence_of(
    s: &Slot,
    chain: &dyn settlement::Settlement,
) -> Result<arb::dispute_request::Evidence> {
    if !has_evidence(s) {
        let a = s.acceptance.as_ref().ok_or_else(|| {
            bapay_daemon::ServiceError::internal("dispute", "no signed acceptance")
        })?;
        let (offer, acceptance_signature) = a.bytes()?;
        return Ok(arb::dispute_request::Evidence::Unresponsive(
            arb::Unresponsive {
                calculator_endpoint: a.endpoint.clone(),
                job_token: s.token(),
                offer,
                acceptance_signature,
                ..Default::default()
            },
        ));
    }
    let pc = s.commitment()?;
    let root = codec::commitment("commitment", Some(&pc), chain.commit_chain())?
        .commitment
        .root;
    Ok(arb::dispute_request::Evidence::WrongResult(
        arb::WrongResult {
            commitment: Some(pc),
            result: s.result_bytes()?,
            openings: evidence(s, &root)?,
        },
    ))
}

async fn file(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let chain = settlement::of(rec);
    if has_evidence(s) && chain.dispute_on_chain(o, rec, s).await? {
        return Ok(());
    }
    if !has_evidence(s) && chain.challenge_on_chain(o, rec, s).await? {
        return Ok(());
    }
    with_arbiter(o, rec, s, evidence_of(s, chain)?).await
}

/// Files `evidence` against slot `s` with T and records T's answer (see
/// the module docs); an unreachable T is retried on the next pass (the
/// same signed request, so the same dispute).
pub async fn with_arbiter(
    o: &Outsourcer,
    rec: &JobRecord,
    s: &Slot,
    evidence: arb::dispute_request::Evidence,
) -> Result<()> {
    let chain = settlement::of(rec);
    let i = s.index;
    let mut req = arb::DisputeRequest {
        job_id: rec.id_bytes()?.to_vec(),
        chain: chain.chain() as i32,
        calculator_index: i,
        sub_task: s.sub_task_bytes()?,
        settlement: Some(chain.dispute_settlement(o, rec, i)?),
        evidence: Some(evidence),
        outsourcer_key: o.key.x_only_public_key().serialize().to_vec(),
        outsourcer_signature: Vec::new(),
    };
    // T acts only on a request the terms' outsourcer signed (deterministic
    // signature: a retry files the same dispute id).
    req.outsourcer_signature = auth::sign(auth::DISPUTE_TAG, &req.encode_to_vec(), o.key.keypair())
        .serialize()
        .to_vec();
    let (d, answer) = match o.arbiter()?.dispute(req).await {
        Ok(r) => {
            let r = r.into_inner();
            (r.dispute.unwrap_or_default(), r.answer)
        }
        Err(e)
            if matches!(
                e.code(),
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
            ) =>
        {
            tracing::warn!(slot = i, error = %e.message(), "arbiter unreachable; retrying");
            return Ok(());
        }
        Err(e) => {
            let why = format!(
                "arbiter refused the dispute: {:?}: {}",
                e.code(),
                e.message()
            );
            o.update(&rec.job_id, |r| {
                r.slots[i as usize].dispute = Some(StoredDispute {
                    id: String::new(),
                    reason: why.clone(),
                    answered: false,
                });
                Ok(vec![set_slot(r, i, SlotState::DisputeRejected, &why)])
            })
            .await?;
            return Ok(());
        }
    };
    let state = arb::DisputeState::try_from(d.state).unwrap_or(arb::DisputeState::Unspecified);
    let fault = match state {
        arb::DisputeState::AtFault | arb::DisputeState::JudgeSent => {
            Some(chain.at_fault(o, rec, i, &d)?)
        }
        _ => None,
    };
    // C_i answered T: its result, if it holds under O's own check of the
    // commitment (job, slot, m_i, r_i, C_i's signature), counts.
    let answered = answer
        .filter(|_| d.reject_reason == arb::RejectReason::CalculatorResponded as i32)
        .and_then(|a| {
            let pc = a.commitment?;
            match super::work::check(rec, i, &a.result, &pc) {
                Ok(()) => Some((hex::encode(&a.result), hex::encode(pc.encode_to_vec()))),
                Err(e) => {
                    tracing::warn!(slot = i, error = %e, "the answer T handed over does not hold; not used");
                    None
                }
            }
        });
    o.update(&rec.job_id, |r| {
        let stored = StoredDispute {
            id: d.dispute_id.clone(),
            reason: s.reason.clone(),
            answered: answered.is_some(),
        };
        let note = match (state, fault) {
            (_, Some(f)) => {
                let slot = &mut r.slots[i as usize];
                slot.dispute = Some(stored);
                if let Some(part) = f.part {
                    slot.settlement = part;
                }
                set_slot(r, i, SlotState::Disputed, &f.reason).tx(f.tx)
            }
            (arb::DisputeState::Judged, None) => {
                r.slots[i as usize].dispute = Some(stored);
                chain.judged(&mut r.slots[i as usize], &d);
                set_slot(
                    r,
                    i,
                    SlotState::Redeemed,
                    "judged: O got the reward and the bond",
                )
            }
            (arb::DisputeState::Rejected | arb::DisputeState::Expired, None) => {
                let slot = &mut r.slots[i as usize];
                slot.dispute = Some(stored);
                if let Some((result_hex, commitment_hex)) = &answered {
                    slot.result_hex = Some(result_hex.clone());
                    slot.commitment_hex = Some(commitment_hex.clone());
                }
                let why = format!(
                    "arbiter rejected the dispute: {:?} {}{}",
                    arb::RejectReason::try_from(d.reject_reason)
                        .unwrap_or(arb::RejectReason::Unspecified),
                    d.detail,
                    if answered.is_some() {
                        "; O took the result C_i gave T"
                    } else {
                        ""
                    }
                );
                set_slot(r, i, SlotState::DisputeRejected, &why)
            }
            _ => return Ok(vec![]),
        };
        Ok(vec![note])
    })
    .await?;
    Ok(())
}
