//! `OpenLeaves`: opens leaves of the committed tree with
//! `SubTask::open`. 1..=10,000 indices, each < leaf_count (INVALID_ARGUMENT
//! otherwise); FAILED_PRECONDITION before the result is committed. The tree
//! is cached in memory and rebuilt from the stored m_i after a restart
//! (recomputing r_i, which must give the stored result). Both chains.

use std::sync::Arc;

use bapay_core::task::{SubResult, SubTask};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;

use crate::error::{CalculatorError, Result};
use crate::record::SubTaskRecord;
use crate::service::Calculator;

/// Most indices per call.
pub const MAX_INDICES: usize = 10_000;

/// Handles OpenLeaves.
pub async fn handle(c: &Calculator, req: pb::OpenLeavesRequest) -> Result<pb::OpenLeavesResponse> {
    // (tree cache key, m_i hex, r_i hex, commitment, state) of either chain.
    let (tree_key, sub_task_hex, result_hex, commitment, state) =
        match c.eth_authorized(&req.job_id, &req.job_token)? {
            Some((e, _)) => (
                crate::eth::record::key(&e.job_id),
                e.sub_task_hex,
                e.result_hex,
                e.commitment,
                e.state,
            ),
            None => {
                let (r, _) = c.authorized(&req.job_id, &req.job_token)?;
                (
                    r.job_id,
                    r.sub_task_hex,
                    r.result_hex,
                    r.commitment,
                    r.state,
                )
            }
        };
    let (Some(result_hex), Some(sc)) = (&result_hex, &commitment) else {
        return Err(CalculatorError::FailedPrecondition(format!(
            "sub-task is {state:?}; no committed result yet"
        )));
    };
    if req.indices.is_empty() || req.indices.len() > MAX_INDICES {
        return Err(CalculatorError::invalid(
            "indices",
            format!("{} indices, want 1..={MAX_INDICES}", req.indices.len()),
        ));
    }
    let leaf_count = sc.commitment.leaf_count;
    if let Some(bad) = req.indices.iter().find(|&&i| i >= leaf_count) {
        return Err(CalculatorError::invalid(
            "indices",
            format!("{bad} >= leaf_count {leaf_count}"),
        ));
    }
    let internal = |e: bapay_core::Error| CalculatorError::Internal(e.to_string());
    let sub =
        SubTask::from_bytes(&SubTaskRecord::unhex("sub_task", &sub_task_hex)?).map_err(internal)?;
    let res =
        SubResult::from_bytes(&SubTaskRecord::unhex("result", result_hex)?).map_err(internal)?;
    let cached = c
        .trees
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&tree_key)
        .cloned();
    let tree = match cached {
        Some(t) => t,
        None => {
            let sub2 = sub.clone();
            let misbehave = c.config.misbehave.clone();
            let (again, tree) =
                tokio::task::spawn_blocking(move || crate::cheat::commit(&sub2, &misbehave))
                    .await
                    .map_err(|e| CalculatorError::Internal(format!("rebuild task: {e}")))?
                    .map_err(internal)?;
            if again != res || tree.root() != sc.commitment.root {
                return Err(CalculatorError::Internal(
                    "recomputed result differs from the stored one".into(),
                ));
            }
            let tree = Arc::new(tree);
            c.trees
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(tree_key.clone(), tree.clone());
            tree
        }
    };
    let openings = crate::cheat::open(&sub, &res, &tree, &req.indices, &c.config.misbehave)
        .map_err(internal)?;
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
