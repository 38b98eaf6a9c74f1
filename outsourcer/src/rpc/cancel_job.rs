//! `CancelJob`: allowed while no money is locked (CREATED, OFFERING, and
//! FUNDING before O records that it signs its funding inputs (Bitcoin) or
//! stores its first `open` (Ethereum)); then O tells
//! every offered calculator (CancelOffer, best effort: an unreachable one
//! lets its offer expire). Later: FAILED_PRECONDITION.

use bapay_proto::calculator::v1 as calc;
use bapay_proto::outsourcer::v1 as pb;

use bapay_daemon::ServiceError;

use crate::record::{JobState, SlotState};
use crate::service::{Note, Outsourcer};
use crate::settlement;
use crate::view;
use crate::Result;

/// Handles CancelJob.
pub async fn handle(o: &Outsourcer, req: pb::CancelJobRequest) -> Result<pb::CancelJobResponse> {
    let id = super::job_key(&req.job_id)?;
    let reason = if req.reason.is_empty() {
        "cancelled by the user".to_string()
    } else {
        req.reason.chars().take(500).collect()
    };
    let rec = o
        .update(&id, |rec| {
            if rec.state == JobState::Cancelled {
                return Ok(vec![]);
            }
            let signing = settlement::of(rec).money_locked(rec);
            let open = matches!(
                rec.state,
                JobState::Created | JobState::Offering | JobState::Funding
            );
            if !open || signing {
                return Err(ServiceError::precondition(format!(
                    "job is {:?}{}: money is locked, the escrow runs to t",
                    rec.state,
                    if signing {
                        " and O has signed its funding / opened a FairPay job"
                    } else {
                        ""
                    }
                )));
            }
            rec.state = JobState::Cancelled;
            rec.state_reason = reason.clone();
            Ok(vec![Note::job(format!("cancelled: {reason}"))])
        })
        .await?;
    for s in &rec.slots {
        if matches!(s.state, SlotState::Pending | SlotState::Declined) {
            continue;
        }
        let token = hex::decode(&s.job_token).unwrap_or_default();
        if let Ok(mut c) = o.calculator(&s.endpoint) {
            if let Err(e) = c
                .cancel_offer(calc::CancelOfferRequest {
                    job_id: req.job_id.clone(),
                    job_token: token,
                    reason: reason.clone(),
                })
                .await
            {
                tracing::warn!(slot = s.index, error = %e.message(), "CancelOffer failed; the offer will expire");
            }
        }
    }
    Ok(pb::CancelJobResponse {
        job: Some(view::job(&rec)),
    })
}
