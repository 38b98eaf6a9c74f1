//! The computation of a sub-task, the same on both chains: r_i and its
//! Merkle tree are computed off the async threads (honestly, or as
//! `[misbehave]` says), the commitment is signed with the job's chain byte,
//! and the chain's settlement delivers it (stores it; on Ethereum also
//! commits the root on chain). One computation per job at a time; the
//! trees of committed results are cached for OpenLeaves and rebuilt from
//! the stored m_i after a restart.

use std::sync::Arc;

use bapay_core::commitment::{Commitment, SignedCommitment};
use bapay_core::merkle::MerkleTree;
use bapay_core::task::{SubResult, SubTask};
use bapay_daemon::ServiceError;

use crate::record::{self, State, SubTaskRecord};
use crate::service::Calculator;
use crate::settlement;
use crate::Result;

/// Why a sub-task is declined for its size, if it is: more work than
/// `max_work`, or a result that may not fit in one message
/// (`bapay_core::task::MAX_RESULT_BYTES`: an undeliverable result would
/// cost the deposit in an unresponsive dispute).
pub fn too_large(sub: &SubTask, max_work: u64) -> Option<String> {
    let w = work(sub);
    if w > max_work {
        return Some(format!("work {w} > {max_work}"));
    }
    let (len, max) = (sub.max_result_len(), bapay_core::task::MAX_RESULT_BYTES);
    (len > max).then(|| format!("the result may take {len} bytes > {max} (one message)"))
}

/// Work of a sub-task as GetInfo's `max_work` counts it: search
/// (hi - lo) * rounds, linear rows * cols (saturating).
pub fn work(sub: &SubTask) -> u64 {
    match sub {
        SubTask::Search(s) => {
            s.hi.saturating_sub(s.lo)
                .saturating_mul(u64::from(s.rounds))
        }
        SubTask::Linear(l) => u64::from(l.rows).saturating_mul(u64::from(l.cols)),
    }
}

/// The result and tree of `sub` as this calculator commits to them.
async fn commit(
    c: &Calculator,
    sub: SubTask,
    slot: ([u8; 32], u32),
) -> Result<(SubResult, MerkleTree)> {
    let misbehave = c.config.misbehave.clone();
    tokio::task::spawn_blocking(move || crate::cheat::commit(&sub, &misbehave, (&slot.0, slot.1)))
        .await
        .map_err(|e| ServiceError::internal("compute task", e))?
        .map_err(|e| ServiceError::internal("compute", e))
}

/// Computes `rec`'s m_i and signs the commitment to the result.
pub async fn compute_signed(
    c: &Calculator,
    rec: &SubTaskRecord,
) -> Result<(SubResult, MerkleTree, SignedCommitment)> {
    let sub = rec.sub_task()?;
    let (res, tree) = commit(c, sub.clone(), (rec.job_id_bytes()?, rec.index)).await?;
    let commitment = Commitment::new(
        settlement::of(rec).commit_chain(),
        rec.job_id_bytes()?,
        rec.index,
        &sub,
        &res,
        tree.root(),
        tree.leaf_count(),
    );
    let signed = SignedCommitment::sign(commitment, c.key.keypair());
    Ok((res, tree, signed))
}

/// FUNDING_SIGNED / ESCROWED (Ethereum: ACCEPTED) → COMPUTING (stored),
/// then computes in the background. Returns the state after the call.
pub async fn begin_computing(c: &Arc<Calculator>, job: &str) -> Result<State> {
    let r = c
        .update(job, |r| {
            let starts = matches!(
                r.state,
                State::Accepted | State::FundingSigned | State::Escrowed
            );
            if starts {
                r.state = State::Computing;
                r.work_requested = true;
            }
            Ok(starts)
        })
        .await?;
    if r.state == State::Computing {
        spawn_compute(c.clone(), job.to_string());
    }
    Ok(r.state)
}

/// Computes `job` in the background, once at a time.
pub fn spawn_compute(c: Arc<Calculator>, job: String) {
    {
        let mut running = c.computing.lock().unwrap_or_else(|p| p.into_inner());
        if !running.insert(job.clone()) {
            return;
        }
    }
    tokio::spawn(async move {
        if let Err(e) = compute(&c, &job).await {
            tracing::error!(job = %job, error = %e, "computation failed");
        }
        c.computing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&job);
    });
}

/// COMPUTING with no stored result: computes, signs, delivers.
pub async fn compute(c: &Calculator, job: &str) -> Result<()> {
    let (rec, _) = record::load(c.store.as_ref(), job)?
        .ok_or_else(|| ServiceError::not_found(job.to_string()))?;
    if rec.state != State::Computing || rec.result_hex.is_some() {
        return Ok(());
    }
    let (res, tree, signed) = compute_signed(c, &rec).await?;
    settlement::of(&rec)
        .deliver(c, job, &res, Arc::new(tree), signed)
        .await
}

/// Caches the tree of a committed result.
pub fn cache_tree(c: &Calculator, job: &str, tree: Arc<MerkleTree>) {
    c.trees
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(job.to_string(), tree);
}

/// The tree of `rec`'s committed result: cached, or rebuilt from m_i (the
/// rebuild must give the stored result and root).
pub async fn tree_of(c: &Calculator, rec: &SubTaskRecord) -> Result<Arc<MerkleTree>> {
    let cached = c
        .trees
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&rec.job_id)
        .cloned();
    if let Some(t) = cached {
        return Ok(t);
    }
    let (Some(res), Some(sc)) = (rec.result()?, &rec.commitment) else {
        return Err(ServiceError::precondition(format!(
            "sub-task is {:?}; no committed result yet",
            rec.state
        )));
    };
    let (again, tree) = commit(c, rec.sub_task()?, (rec.job_id_bytes()?, rec.index)).await?;
    if again != res || tree.root() != sc.commitment.root {
        return Err(ServiceError::internal(
            "rebuild",
            "recomputed result differs from the stored one",
        ));
    }
    let tree = Arc::new(tree);
    cache_tree(c, &rec.job_id, tree.clone());
    Ok(tree)
}

#[cfg(test)]
mod size_tests {
    use bapay_core::merkle::Hash32;
    use bapay_core::task::linear::LinearSubTask;
    use bapay_core::task::SubTask;

    #[test]
    fn a_result_too_large_for_one_message_is_declined() {
        let rows = |rows| {
            SubTask::Linear(LinearSubTask {
                rows,
                cols: 1,
                matrix_seed: Hash32::from([1; 32]),
                share: vec![],
                threshold: None,
            })
        };
        assert!(super::too_large(&rows(1000), 1 << 30).is_none());
        let why = super::too_large(&rows(1 << 20), 1 << 30).expect("declined");
        assert!(why.contains("one message"), "{why}");
        assert!(super::too_large(&rows(1000), 10).is_some_and(|w| w.starts_with("work")));
    }
}
