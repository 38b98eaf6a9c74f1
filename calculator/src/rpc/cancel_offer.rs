//! `CancelOffer`: ACCEPTED / CHARGE_HELD → WITHDRAWN (stored, with O's
//! reason; Bitcoin: the reserved coins are free again). FUNDING_SIGNED
//! (Bitcoin) stays FUNDING_SIGNED with the reason stored: O could still
//! complete the funding, and C_i would then have to work, holding Charge_i.
//! WITHDRAWN / DECLINED answer their state again. Once the escrow is on
//! chain (ESCROWED and later) FAILED_PRECONDITION.
//! Not yet: double-spending the signed funding input to leave
//! FUNDING_SIGNED.

use bapay_daemon::ServiceError;
use bapay_proto::calculator::v1 as pb;

use crate::record::State;
use crate::service::Calculator;
use crate::Result;

/// Handles CancelOffer.
pub async fn handle(
    c: &Calculator,
    req: pb::CancelOfferRequest,
) -> Result<pb::CancelOfferResponse> {
    let (rec, _) = c.authorized(&req.job_id, &req.job_token)?;
    let reason: String = req.reason.chars().take(500).collect();
    let rec = c
        .update(&rec.job_id, |r| match r.state {
            State::Accepted | State::ChargeHeld => {
                r.state = State::Withdrawn;
                r.state_reason = format!("cancelled by O: {reason}");
                Ok(true)
            }
            State::FundingSigned => {
                r.state_reason = format!("cancel requested by O: {reason}");
                Ok(true)
            }
            State::Withdrawn | State::Declined => Ok(false),
            s => Err(ServiceError::precondition(format!(
                "sub-task is {s:?}; the escrow is on chain"
            ))),
        })
        .await?;
    Ok(pb::CancelOfferResponse {
        state: rec.state.to_proto() as i32,
    })
}
