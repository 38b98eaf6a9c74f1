//! `StartWork` (Bitcoin). The funding txid must be the one stored at
//! SignFunding (INVALID_ARGUMENT otherwise). The request is stored; if the
//! funding transaction is confirmed at `finality_depth` the sub-task moves
//! to COMPUTING and the computation starts (the driver does it later
//! otherwise, and the answer is ESCROWED, "waiting for depth"). Idempotent:
//! from COMPUTING on it returns the state. FAILED_PRECONDITION before
//! FUNDING_SIGNED or after a withdrawal.
//! Ethereum (`open_tx_hash`): [`crate::eth::work::start_work`].
//! Not yet: `estimated_done_unix_ms` (always 0).

use std::sync::Arc;

use bapay_proto::calculator::v1 as pb;

use crate::driver;
use crate::error::{CalculatorError, Result};
use crate::record::State;
use crate::service::Calculator;

/// Handles StartWork.
pub async fn handle(
    c: &Arc<Calculator>,
    req: pb::StartWorkRequest,
) -> Result<pb::StartWorkResponse> {
    if let Some((rec, v)) = c.eth_authorized(&req.job_id, &req.job_token)? {
        return crate::eth::work::start_work(c, &req, rec, v).await;
    }
    let rec = {
        let _guard = c.lock.lock().await;
        let (mut rec, version) = c.authorized(&req.job_id, &req.job_token)?;
        match rec.state {
            State::FundingSigned | State::Escrowed => {}
            State::Computing
            | State::Committed
            | State::Converted
            | State::Claiming
            | State::Paid
            | State::Lost
            | State::Trapped => return Ok(answer(rec.state)),
            s => {
                return Err(CalculatorError::FailedPrecondition(format!(
                    "sub-task is {s:?}; StartWork needs FUNDING_SIGNED"
                )))
            }
        }
        if rec.funding_txid.as_deref() != Some(req.funding_txid.as_str()) {
            return Err(CalculatorError::invalid(
                "funding_txid",
                "not the funding transaction this calculator signed",
            ));
        }
        if !rec.work_requested {
            rec.work_requested = true;
            c.save(&mut rec, Some(version))?;
        }
        rec
    };
    if driver::escrow_at_depth(c, &rec).await? {
        let state = driver::begin_computing(c, &rec.job_id).await?;
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
