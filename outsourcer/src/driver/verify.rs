//! VERIFYING: for each committed slot O draws and stores a challenge c_i,
//! derives the sample (m indices from the committed root and c_i,
//! `bapay_core::sampling`), asks C_i to open it
//! (OpenLeaves), stores the openings (evidence for T), and checks them and
//! the whole result with its kind secret (search: hits; linear:
//! Freivalds). Pass → VERIFIED, fail → FAULTY. Then DISPUTING if any slot
//! has evidence to dispute, else AWAITING_PAYOUT (with the combined output
//! if every slot verified).

use bapay_core::sampling::sample_indices;
use bapay_daemon::{codec, ServiceError};
use bapay_proto::calculator::v1 as calc;
use prost::Message;

use crate::record::{JobRecord, JobState, Slot, SlotState};
use crate::service::{set_slot, Note, Outsourcer};
use crate::settlement;
use crate::Result;

/// One pass of the verification phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    for s in &rec.slots {
        if s.state == SlotState::Committed {
            sample(o, rec, s).await?;
        }
    }
    let rec = o.get(&rec.job_id)?.0;
    if rec.slots.iter().any(|s| s.state == SlotState::Committed) {
        // `tip`, not the reloaded record's: a tip change alone is not stored.
        if bapay_core::timing::too_late_to_verify(
            tip,
            rec.payout,
            settlement::of(&rec).verify_margin(&rec),
        ) {
            // C_i never opened its sample and t is near: FAULTY (on Bitcoin,
            // with the time left to take it to T as unresponsive).
            o.update(&rec.job_id, |r| {
                let mut notes = Vec::new();
                for i in 0..r.slots.len() {
                    if r.slots[i].state == SlotState::Committed {
                        notes.push(set_slot(
                            r,
                            i as u32,
                            SlotState::Faulty,
                            "did not open its sample before t",
                        ));
                    }
                }
                Ok(notes)
            })
            .await?;
        }
        return Ok(());
    }
    let chain = settlement::of(&rec);
    let disputable = rec.slots.iter().any(|s| disputable(s, chain));
    let output = output(&rec)?;
    o.update(&rec.job_id, |r| {
        if disputable {
            r.state = JobState::Disputing;
            return Ok(vec![Note::job("a calculator is at fault; disputing")]);
        }
        r.output = output.clone();
        r.state = JobState::AwaitingPayout;
        Ok(vec![Note::job(if output.is_some() {
            "every result verified; output combined; waiting for t"
        } else {
            "verification over; waiting for t"
        })])
    })
    .await?;
    Ok(())
}

/// The combined output, if every slot's result counts (l of them for an
/// l-of-n job): VERIFIED by O's sample, or answered to T in a dispute T
/// rejected because C_i responded (its sample verified by T).
pub fn output(rec: &JobRecord) -> Result<Option<bapay_core::task::Output>> {
    let counts = |s: &Slot| {
        s.state == SlotState::Verified
            || (s.state == SlotState::DisputeRejected
                && s.dispute.as_ref().is_some_and(|d| d.answered))
    };
    let results = rec
        .slots
        .iter()
        .map(|s| {
            if counts(s) {
                s.result().map(Some)
            } else {
                Ok(None)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    rec.task
        .combine_available(&results)
        .map_err(|e| ServiceError::internal("combine", e))
}

/// A FAULTY slot O can take to T: a wrong result it can prove, or (where
/// the chain's settlement has unresponsive disputes) no result at all.
pub fn disputable(s: &Slot, chain: &dyn settlement::Settlement) -> bool {
    has_evidence(s) || unresponsive(s, chain)
}

/// A FAULTY slot O cannot prove wrong (no signed result, or a sample C_i
/// never opened), whose offer C_i accepted with a signature: T asks C_i
/// itself.
pub fn unresponsive(s: &Slot, chain: &dyn settlement::Settlement) -> bool {
    chain.unresponsive_disputes()
        && s.state == SlotState::Faulty
        && s.dispute.is_none()
        && !has_evidence(s)
        && s.acceptance.is_some()
}

/// A FAULTY slot O can prove: it has C_i's signed result and openings.
pub fn has_evidence(s: &Slot) -> bool {
    s.state == SlotState::Faulty
        && s.dispute.is_none()
        && s.commitment_hex.is_some()
        && s.result_hex.is_some()
        && s.openings_hex.is_some()
}

/// c_i: drawn once, after C_i's commitment is stored, and persisted before
/// it is revealed, so a retry or a restart asks the same sample. C_i cannot
/// grind its root against indices it cannot predict.
async fn challenge(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<[u8; 32]> {
    if let Some(c) = s.challenge()? {
        return Ok(c);
    }
    let mut c = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut c);
    let i = s.index;
    let stored = o
        .update(&rec.job_id, |r| {
            let slot = &mut r.slots[i as usize];
            if slot.challenge.is_some() {
                return Ok(vec![]);
            }
            slot.challenge = Some(hex::encode(c));
            Ok(vec![Note::slot(
                i,
                format!("calculator {i}: sample challenge drawn"),
            )])
        })
        .await?;
    stored.slots[i as usize]
        .challenge()?
        .ok_or_else(|| ServiceError::internal("challenge", "not stored"))
}

async fn sample(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let i = s.index;
    let pc = s.commitment()?;
    let chain = settlement::of(rec).commit_chain();
    let signed = codec::commitment("commitment", Some(&pc), chain)?;
    let c = &signed.commitment;
    let challenge = challenge(o, rec, s).await?;
    let indices = sample_indices(
        &rec.id_bytes()?,
        i,
        &c.root,
        &challenge,
        c.leaf_count,
        rec.m,
    )
    .map_err(|e| ServiceError::internal("sample", e))?;
    let req = calc::OpenLeavesRequest {
        job_id: rec.id_bytes()?.to_vec(),
        job_token: s.token(),
        indices: indices.clone(),
        challenge: challenge.to_vec(),
    };
    let opened = match o.calculator(&s.endpoint)?.open_leaves(req).await {
        Ok(r) => r.into_inner(),
        Err(e) => {
            tracing::warn!(slot = i, error = %e.message(), "OpenLeaves failed; retrying");
            return Ok(());
        }
    };
    let sub = s.sub_task()?;
    let res = s.result()?;
    let verdict = match codec::openings("openings", &opened.openings) {
        Err(e) => Err(e.to_string()),
        Ok(ops) => sub
            .verify_sample(&res, &c.root, &indices, &ops)
            .and_then(|()| sub.verify_result(&rec.secret, &res))
            .map_err(|e| e.to_string()),
    };
    let verdict = match verdict {
        Ok(()) if o.config.misbehave.false_dispute => {
            Err("misbehave.false_dispute: disputing an honest result".to_string())
        }
        v => v,
    };
    let openings_hex = hex::encode(opened.encode_to_vec());
    o.update(&rec.job_id, |r| {
        r.slots[i as usize].openings_hex = Some(openings_hex.clone());
        Ok(vec![match &verdict {
            Ok(()) => set_slot(
                r,
                i,
                SlotState::Verified,
                &format!(
                    "{} sampled leaves and the result check passed",
                    indices.len()
                ),
            ),
            Err(e) => set_slot(r, i, SlotState::Faulty, e),
        }])
    })
    .await?;
    Ok(())
}
