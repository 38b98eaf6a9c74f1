//! CREATED → OFFERING → FUNDING: learn each calculator's key (GetInfo,
//! checked against a pinned key), then offer every slot its sub-task with
//! the escrow terms. All n accept → FUNDING. A decline (or a calculator
//! whose GetInfo O refuses) is replaced from the pool (`super::replace`),
//! or, with no spare left, → FAILED; so does the offer timeout (nothing is
//! locked yet). O keeps the signed offer and C_i's signed
//! acceptance of it (over the offer's digest and C_i's endpoint): the
//! evidence of an unresponsive dispute; an acceptance without a valid
//! signature is a decline.

use bapay_core::auth;
use bapay_proto::calculator::v1 as calc;

use crate::record::{Acceptance, JobRecord, JobState, SlotState};
use crate::service::{set_slot, Note, Outsourcer};
use crate::settlement;
use crate::Result;

/// One pass of the offer phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    if o.now_ms() > rec.offer_deadline_ms {
        return fail(
            o,
            rec,
            "offer timeout: not every calculator answered in time",
        )
        .await;
    }
    if let Some(d) = declined(rec) {
        return super::replace::declined(o, rec, d).await;
    }
    if rec.state == JobState::Created {
        return learn_keys(o, rec).await;
    }
    for s in &rec.slots {
        if matches!(s.state, SlotState::Pending | SlotState::Offered) {
            offer(o, rec, s.index).await?;
        }
    }
    let rec = o.get(&rec.job_id)?.0;
    if let Some(d) = declined(&rec) {
        return super::replace::declined(o, &rec, d).await;
    }
    if rec.slots.iter().all(|s| s.state == SlotState::Accepted) {
        o.update(&rec.job_id, |r| {
            r.state = JobState::Funding;
            Ok(vec![Note::job("every calculator accepted; funding")])
        })
        .await?;
    }
    Ok(())
}

fn declined(rec: &JobRecord) -> Option<u32> {
    rec.slots
        .iter()
        .find(|s| s.state == SlotState::Declined)
        .map(|s| s.index)
}

/// A calculator O refuses from its GetInfo: its slot is DECLINED (and
/// replaced from the pool, if the job has spares).
async fn refuse(o: &Outsourcer, rec: &JobRecord, i: u32, why: &str) -> Result<()> {
    o.update(&rec.job_id, |r| {
        Ok(vec![set_slot(r, i, SlotState::Declined, why)])
    })
    .await?;
    Ok(())
}

async fn learn_keys(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    let s_chain = settlement::of(rec);
    let mut found = Vec::new();
    for s in &rec.slots {
        let info = o
            .calculator(&s.endpoint)?
            .get_info(calc::GetInfoRequest {})
            .await;
        match info {
            Err(e) => {
                tracing::warn!(slot = s.index, error = %e.message(), "calculator unreachable; retrying");
                return Ok(());
            }
            Ok(i) => {
                let i = i.into_inner();
                let k = hex::encode(&i.bitcoin_key);
                if let Err(why) = s_chain.learn(&mut s.clone(), &i) {
                    return refuse(o, rec, s.index, &why).await;
                }
                if s.key.as_ref().is_some_and(|pin| *pin != k) {
                    let why = format!(
                        "calculator {} reports another key than the pinned one",
                        s.index
                    );
                    return refuse(o, rec, s.index, &why).await;
                }
                found.push((k, i));
            }
        }
    }
    o.update(&rec.job_id, |r| {
        for (s, (k, info)) in r.slots.iter_mut().zip(found) {
            s.key = Some(k);
            s_chain
                .learn(s, &info)
                .map_err(|e| bapay_daemon::ServiceError::internal("learn", e))?;
        }
        r.state = JobState::Offering;
        Ok(vec![Note::job("calculator keys known; offering")])
    })
    .await?;
    Ok(())
}

async fn offer(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<()> {
    let s = &rec.slots[i as usize];
    if s.state == SlotState::Pending {
        o.update(&rec.job_id, |r| {
            Ok(vec![set_slot(r, i, SlotState::Offered, "")])
        })
        .await?;
    }
    let chain = settlement::of(rec);
    let mut req = chain.offer_request(rec, i)?;
    // Signed by O's key, which the terms name (deterministic: a retry sends
    // the same bytes, so the calculator answers it as a repeat).
    req.outsourcer_key = o.key.x_only_public_key().serialize().to_vec();
    let digest = auth::digest(auth::OFFER_TAG, &prost::Message::encode_to_vec(&req));
    req.outsourcer_signature = auth::sign(
        auth::OFFER_TAG,
        &prost::Message::encode_to_vec(&req),
        o.key.keypair(),
    )
    .serialize()
    .to_vec();
    let offer_hex = hex::encode(prost::Message::encode_to_vec(&req));
    let resp = match o.calculator(&s.endpoint)?.offer(req).await {
        Ok(r) => r.into_inner(),
        Err(e)
            if e.code() == tonic::Code::Unavailable
                || e.code() == tonic::Code::DeadlineExceeded =>
        {
            tracing::warn!(slot = i, error = %e.message(), "calculator unreachable; retrying");
            return Ok(());
        }
        Err(e) => {
            let why = format!("offer refused: {:?}: {}", e.code(), e.message());
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(r, i, SlotState::Declined, &why)])
            })
            .await?;
            return Ok(());
        }
    };
    o.update(&rec.job_id, |r| {
        if !resp.accepted {
            let why = format!(
                "{:?}: {}",
                calc::DeclineReason::try_from(resp.decline_reason)
                    .unwrap_or(calc::DeclineReason::Unspecified),
                resp.decline_detail
            );
            return Ok(vec![set_slot(r, i, SlotState::Declined, &why)]);
        }
        if let Err(why) = chain.accepted(r, i, &resp) {
            return Ok(vec![set_slot(r, i, SlotState::Declined, &why)]);
        }
        // Without C_i's signed acceptance O could not prove to T which m_i
        // C_i took, or where it answers: refuse the slot.
        let signed = r.slots[i as usize].calculator_key().and_then(|k| {
            auth::verify(
                auth::ACCEPT_TAG,
                &auth::acceptance_bytes(&digest, &resp.endpoint),
                &resp.acceptance_signature,
                &k,
            )
            .map_err(|e| bapay_daemon::ServiceError::invalid("acceptance_signature", e))
        });
        if let Err(e) = signed {
            let why = format!("no valid signed acceptance: {}", e.message);
            return Ok(vec![set_slot(r, i, SlotState::Declined, &why)]);
        }
        r.slots[i as usize].acceptance = Some(Acceptance {
            offer_hex: offer_hex.clone(),
            endpoint: resp.endpoint.clone(),
            signature_hex: hex::encode(&resp.acceptance_signature),
        });
        Ok(vec![set_slot(r, i, SlotState::Accepted, "")])
    })
    .await?;
    Ok(())
}

/// → FAILED (nothing locked) and CancelOffer to every offered calculator.
pub async fn fail(o: &Outsourcer, rec: &JobRecord, why: &str) -> Result<()> {
    let rec = o
        .update(&rec.job_id, |r| {
            r.state = JobState::Failed;
            r.state_reason = why.to_string();
            Ok(vec![Note::job(format!("failed: {why}"))])
        })
        .await?;
    for s in &rec.slots {
        if matches!(s.state, SlotState::Pending | SlotState::Declined) {
            continue;
        }
        if let Ok(mut c) = o.calculator(&s.endpoint) {
            if let Err(e) = c
                .cancel_offer(calc::CancelOfferRequest {
                    job_id: rec.id_bytes()?.to_vec(),
                    job_token: s.token(),
                    reason: why.to_string(),
                })
                .await
            {
                tracing::warn!(slot = s.index, error = %e.message(), "CancelOffer failed; the offer will expire");
            }
        }
    }
    Ok(())
}
