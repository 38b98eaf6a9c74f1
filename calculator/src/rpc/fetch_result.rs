//! `FetchResult`: the state only before COMMITTED; from then on r_i
//! (canonical bytes, as stored) and the signed commitment (stored before it
//! is ever returned). Ethereum: the same from COMMITTED (commit mined) on,
//! with `commit_tx_hash` ([`crate::eth::work::fetch_result`]).

use bapay_proto::calculator::v1 as pb;

use crate::codec;
use crate::error::Result;
use crate::record::SubTaskRecord;
use crate::service::Calculator;

/// Handles FetchResult.
pub fn handle(c: &Calculator, req: pb::FetchResultRequest) -> Result<pb::FetchResultResponse> {
    if let Some((rec, _)) = c.eth_authorized(&req.job_id, &req.job_token)? {
        return crate::eth::work::fetch_result(&rec);
    }
    let (rec, _) = c.authorized(&req.job_id, &req.job_token)?;
    let (result, commitment) = match (&rec.result_hex, &rec.commitment) {
        (Some(r), Some(sc)) => (
            SubTaskRecord::unhex("result", r)?,
            Some(codec::commitment_to_proto(sc)),
        ),
        _ => (Vec::new(), None),
    };
    Ok(pb::FetchResultResponse {
        state: rec.state.to_proto() as i32,
        result,
        commitment,
        commit_tx_hash: Vec::new(),
    })
}
