//! A declined pool calculator is replaced from the pool, while nothing is
//! locked (CREATED / OFFERING), instead of failing the job.
//!
//! Every offer names all n calculators and all n message keys, and the
//! decliner has seen its m_i, s_i and R. So the job is dealt again
//! (`crate::deal`): O withdraws every other open offer (CancelOffer, with
//! the slot's old token), then, in one stored step, puts the first spare
//! pool endpoint in the declined slot, deals fresh sub-tasks, salts,
//! tokens and R, recomputes the message keys and the collusion key, clears
//! what each slot's calculator had answered, and returns the job to
//! CREATED, so every key is learned and every slot is offered anew. A
//! calculator takes the new offer over its WITHDRAWN record of the same
//! job when it comes from the same outsourcer key (`calculator::rpc::offer`).
//!
//! The terms (d, g, t, the result deadline, T) and the offer deadline stay
//! as they were: a replacement is one more round inside the user's offer
//! timeout. A job with an explicit calculator list has no spares and FAILs
//! on a decline, as before; so does a pool job whose spares are used up.
//! If a calculator cannot be reached to withdraw its offer, O retries on
//! the next pass (until the offer timeout): it never re-deals while an old
//! offer may still be open, so no calculator holds two live offers of one
//! job.

use bapay_proto::calculator::v1 as calc;

use crate::deal::deal;
use crate::driver::offer;
use crate::record::{JobRecord, JobState, SlotState};
use crate::service::{Note, Outsourcer};
use crate::settlement;
use crate::Result;

/// Slot `i` declined: replace it from the pool, or fail the job.
pub async fn declined(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<()> {
    let d = &rec.slots[i as usize];
    let why = format!("calculator {i} declined: {}", d.reason);
    if rec.spares.is_empty() {
        return offer::fail(o, rec, &why).await;
    }
    if !withdraw_others(o, rec, i).await? {
        return Ok(());
    }
    let dealt = deal(&rec.task, rec.slots.len())?;
    let chain = settlement::of(rec);
    o.update(&rec.job_id, |r| {
        let still = matches!(r.state, JobState::Created | JobState::Offering)
            && r.slots[i as usize].state == SlotState::Declined
            && !r.spares.is_empty();
        if !still {
            return Ok(vec![]);
        }
        let old = r.slots[i as usize].endpoint.clone();
        let spare = r.spares.remove(0);
        r.job_random = dealt.job_random_hex();
        r.message_keys = dealt.message_keys_hex();
        r.secret = dealt.secret.clone();
        chain.set_collusion(&mut r.settlement, &dealt.keys);
        for (k, s) in r.slots.iter_mut().enumerate() {
            s.sub_task_hex = hex::encode(dealt.subs[k].to_bytes());
            s.salt = hex::encode(dealt.salts[k]);
            s.job_token = hex::encode(dealt.tokens[k]);
            s.state = SlotState::Pending;
            s.reason = String::new();
            s.acceptance = None;
            s.settlement = chain.new_slot();
        }
        let slot = &mut r.slots[i as usize];
        slot.endpoint = spare.clone();
        // A pool endpoint comes with no pinned key: GetInfo tells it.
        slot.key = None;
        r.state = JobState::Created;
        Ok(vec![Note::slot(
            i,
            format!(
                "{why}; {old} replaced by {spare} from the pool ({} spare(s) left); \
                 every slot re-dealt and offered again",
                r.spares.len()
            ),
        )])
    })
    .await?;
    Ok(())
}

/// CancelOffer to every other slot whose calculator may hold an open
/// offer. False if one could not be reached (retry later).
async fn withdraw_others(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<bool> {
    let id = rec.id_bytes()?.to_vec();
    for s in rec.slots.iter().filter(|s| s.index != i) {
        if !matches!(s.state, SlotState::Offered | SlotState::Accepted) {
            continue;
        }
        let answer = o
            .calculator(&s.endpoint)?
            .cancel_offer(calc::CancelOfferRequest {
                job_id: id.clone(),
                job_token: s.token(),
                reason: format!("calculator {i} declined; the job is dealt again"),
            })
            .await;
        match answer {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.code(),
                    tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
                ) =>
            {
                tracing::warn!(slot = s.index, error = %e.message(), "cannot withdraw the offer yet; retrying");
                return Ok(false);
            }
            // NOT_FOUND: the offer never arrived; anything else is the
            // calculator's refusal, and it will decline the new offer.
            Err(e) => {
                tracing::info!(slot = s.index, code = ?e.code(), error = %e.message(), "CancelOffer refused");
            }
        }
    }
    Ok(true)
}
