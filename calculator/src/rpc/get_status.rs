//! `GetStatus`: the stored record of the sub-task: state and reason, m_i's
//! hash, the signed commitment, t, the last change, and the chain's part
//! (Bitcoin: Pay_i and, once converted, Pay'_i; Ethereum: the contract
//! job id). Not yet: the `transfers` / `total` money report.

use bapay_core::commitment::sha256;
use bapay_proto::calculator::v1 as pb;

use crate::record;
use crate::service::Calculator;
use crate::settlement;
use crate::Result;

/// Handles GetStatus.
pub fn handle(c: &Calculator, req: pb::GetStatusRequest) -> Result<pb::GetStatusResponse> {
    let (rec, _) = c.authorized(&req.job_id, &req.job_token)?;
    let sub = record::unhex("sub_task", &rec.sub_task_hex)?;
    let mut out = pb::GetStatusResponse {
        job_id: req.job_id,
        index: rec.index,
        state: rec.state.to_proto() as i32,
        state_reason: rec.state_reason.clone(),
        sub_task_hash: sha256(&sub).to_vec(),
        commitment: rec
            .commitment
            .as_ref()
            .map(super::fetch_result::commitment_proto),
        updated_unix_ms: rec.updated_unix_ms,
        ..Default::default()
    };
    settlement::of(&rec).describe(&rec, &mut out);
    Ok(out)
}
