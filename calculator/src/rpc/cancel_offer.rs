//! `CancelOffer`: ACCEPTED / CHARGE_HELD → WITHDRAWN (stored, with O's
//! reason; the reserved coins are free again). FUNDING_SIGNED stays
//! FUNDING_SIGNED (the reason is stored): O could still complete the
//! funding. WITHDRAWN / DECLINED answer their state again. Once the escrow
//! is final (ESCROWED and later) FAILED_PRECONDITION.
//! Ethereum: ACCEPTED → WITHDRAWN, FAILED_PRECONDITION once work started.
//! Not yet: double-spending the signed funding input to leave
//! FUNDING_SIGNED.

use bapay_proto::calculator::v1 as pb;

use crate::error::{CalculatorError, Result};
use crate::record::State;
use crate::service::Calculator;

/// Handles CancelOffer.
pub async fn handle(
    c: &Calculator,
    req: pb::CancelOfferRequest,
) -> Result<pb::CancelOfferResponse> {
    if let Some(answer) = crate::eth::work::cancel(c, &req).await? {
        return Ok(answer);
    }
    let _guard = c.lock.lock().await;
    let (mut rec, version) = c.authorized(&req.job_id, &req.job_token)?;
    match rec.state {
        State::Accepted | State::ChargeHeld => {
            rec.state = State::Withdrawn;
            rec.state_reason = format!("cancelled by O: {}", req.reason);
            c.save(&mut rec, Some(version))?;
        }
        State::FundingSigned => {
            rec.state_reason = format!("cancel requested by O: {}", req.reason);
            c.save(&mut rec, Some(version))?;
        }
        State::Withdrawn | State::Declined => {}
        s => {
            return Err(CalculatorError::FailedPrecondition(format!(
                "sub-task is {s:?}; the escrow is final"
            )))
        }
    }
    Ok(pb::CancelOfferResponse {
        state: rec.state.to_proto() as i32,
    })
}
