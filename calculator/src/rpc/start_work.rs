//! `StartWork`: releases m_i for work once the escrow is final. The
//! chain's settlement checks the request (Bitcoin: the funding txid is the
//! one signed at SignFunding, state FUNDING_SIGNED or later; Ethereum:
//! `open_tx_hash` is 32 bytes, FairPay `state(id)` = opened, the group not
//! trapped). The request is stored; if the escrow is final the sub-task
//! moves to COMPUTING and the computation starts (the driver does it later
//! otherwise, and the answer is ESCROWED, "waiting for depth"). Idempotent:
//! from COMPUTING on it returns the state. FAILED_PRECONDITION after a
//! withdrawal or a decline.

use std::sync::Arc;

use bapay_daemon::ServiceError;
use bapay_proto::calculator::v1 as pb;

use crate::record::State;
use crate::service::Calculator;
use crate::settlement;
use crate::Result;

/// Handles StartWork.
pub async fn handle(
    c: &Arc<Calculator>,
    req: pb::StartWorkRequest,
) -> Result<pb::StartWorkResponse> {
    let (rec, _) = c.authorized(&req.job_id, &req.job_token)?;
    match rec.state {
        State::Computing
        | State::Committed
        | State::Converted
        | State::Claiming
        | State::Paid
        | State::Lost
        | State::Trapped => return Ok(answer(rec.state)),
        State::Declined | State::Withdrawn => {
            return Err(ServiceError::precondition(format!(
                "sub-task is {:?}; StartWork needs an escrowed offer",
                rec.state
            )))
        }
        State::Accepted | State::ChargeHeld | State::FundingSigned | State::Escrowed => {}
    }
    let s = settlement::of(&rec);
    s.check_start(c, &rec, &req).await?;
    let rec = c
        .update(&rec.job_id, |r| {
            let first = !r.work_requested && r.state == rec.state;
            if first {
                r.work_requested = true;
            }
            Ok(first)
        })
        .await?;
    if rec.work_requested && s.escrow_final(c, &rec).await? {
        let state = crate::work::begin_computing(c, &rec.job_id).await?;
        return Ok(answer(state));
    }
    Ok(answer(State::Escrowed))
}

fn answer(state: State) -> pb::StartWorkResponse {
    pb::StartWorkResponse {
        state: state.to_proto() as i32,
        estimated_done_unix_ms: 0,
    }
}
