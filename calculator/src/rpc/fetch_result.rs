//! `FetchResult`: the state only, until the result is committed (Bitcoin:
//! stored; Ethereum: the commit mined); from then on r_i (canonical bytes,
//! as stored) and the signed commitment (stored before it is ever
//! returned), and on Ethereum the commit transaction's hash.

use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;

use crate::record::{self, State, StoredCommitment, SubTaskRecord};
use crate::service::Calculator;
use crate::settlement;
use crate::Result;

/// The proto form of a stored signed commitment.
pub fn commitment_proto(c: &StoredCommitment) -> common::SignedCommitment {
    common::SignedCommitment {
        job_id: c.commitment.job_id.to_vec(),
        calculator_index: c.commitment.index,
        root: c.commitment.root.as_bytes().to_vec(),
        leaf_count: c.commitment.leaf_count,
        sub_task_hash: c.commitment.subtask_hash.to_vec(),
        result_hash: c.commitment.result_hash.to_vec(),
        signature: hex::decode(&c.signature_hex).unwrap_or_default(),
    }
}

/// Is `rec`'s result committed (and so deliverable)?
pub fn delivered(rec: &SubTaskRecord) -> bool {
    rec.result_hex.is_some()
        && rec.commitment.is_some()
        && !matches!(rec.state, State::Computing | State::Withdrawn)
}

/// Handles FetchResult.
pub fn handle(c: &Calculator, req: pb::FetchResultRequest) -> Result<pb::FetchResultResponse> {
    let (rec, _) = c.authorized(&req.job_id, &req.job_token)?;
    let mut out = pb::FetchResultResponse {
        state: rec.state.to_proto() as i32,
        ..Default::default()
    };
    if let (true, Some(r), Some(sc)) = (delivered(&rec), &rec.result_hex, &rec.commitment) {
        out.result = record::unhex("result", r)?;
        out.commitment = Some(commitment_proto(sc));
        out.commit_tx_hash = settlement::of(&rec).commit_tx_hash(&rec);
    }
    Ok(out)
}
