//! `OpenLeaves`: opens leaves of the committed tree (O's sample, or the
//! arbiter's) with `SubTask::open` (a `[misbehave]` calculator opens what
//! it committed to). 1..=10,000 indices, each < leaf_count
//! (INVALID_ARGUMENT otherwise); FAILED_PRECONDITION before the result is
//! committed. The tree is cached and rebuilt from the stored m_i after a
//! restart (`crate::work::tree_of`). Both chains.

use bapay_daemon::ServiceError;
use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;

use crate::service::Calculator;
use crate::Result;

/// Most indices per call.
pub const MAX_INDICES: usize = 10_000;

/// Handles OpenLeaves.
pub async fn handle(c: &Calculator, req: pb::OpenLeavesRequest) -> Result<pb::OpenLeavesResponse> {
    let (rec, _) = c.authorized(&req.job_id, &req.job_token)?;
    if c.config.misbehave.never_open {
        return Err(ServiceError::unavailable("misbehave.never_open"));
    }
    let (Some(res), Some(sc)) = (rec.result()?, &rec.commitment) else {
        return Err(ServiceError::precondition(format!(
            "sub-task is {:?}; no committed result yet",
            rec.state
        )));
    };
    if req.indices.is_empty() || req.indices.len() > MAX_INDICES {
        return Err(ServiceError::invalid(
            "indices",
            format!("{} indices, want 1..={MAX_INDICES}", req.indices.len()),
        ));
    }
    let leaf_count = sc.commitment.leaf_count;
    if let Some(bad) = req.indices.iter().find(|&&i| i >= leaf_count) {
        return Err(ServiceError::invalid(
            "indices",
            format!("{bad} >= leaf_count {leaf_count}"),
        ));
    }
    let tree = crate::work::tree_of(c, &rec).await?;
    let sub = rec.sub_task()?;
    let slot = rec.job_id_bytes()?;
    let openings = crate::cheat::open(
        &sub,
        &res,
        &tree,
        &req.indices,
        &c.config.misbehave,
        (&slot, rec.index),
    )
    .map_err(|e| ServiceError::internal("open", e))?;
    Ok(pb::OpenLeavesResponse {
        openings: openings
            .into_iter()
            .map(|o| common::Opening {
                index: o.index,
                leaf_data: o.leaf_data,
                proof: o
                    .proof
                    .siblings
                    .iter()
                    .map(|h| h.as_bytes().to_vec())
                    .collect(),
            })
            .collect(),
    })
}
