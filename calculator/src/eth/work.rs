//! The Ethereum sub-task after the offer: `StartWork` (the open checked on
//! chain), the computation and the bonded `commit`, and the Ethereum forms
//! of FetchResult / GetStatus / CancelOffer.
//!
//! StartWork: `open_tx_hash` must be 32 bytes (INVALID_ARGUMENT; the hash
//! itself is informational: the calculator reads the contract, not the
//! transaction); FairPay `state(contract_job_id)` must be 1 (opened) and
//! `trappedTo(group)` zero, else FAILED_PRECONDITION. ACCEPTED / ESCROWED →
//! COMPUTING (stored), and the computation starts. Repeats return the
//! state.
//!
//! Commit: r_i and its tree are computed; the commitment (chain byte
//! Ethereum, BIP-340 by the calculator's key, see `bapay_core::commitment`)
//! and the signed `commit(job, root)` with value = bond are **stored**, then
//! the transaction is sent; a successful receipt → COMMITTED. A reverted
//! commit (commit deadline passed, job refunded or trapped) → WITHDRAWN with
//! the reason (the bond stays with the calculator).

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use bapay_core::commitment::{sha256, Chain as CommitChain};
use bapay_daemon::eth::commit_calldata;
use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;

use super::record::{self, EthSubTask};
use crate::codec;
use crate::error::{CalculatorError, Result};
use crate::record::{State, StoredCommitment, SubTaskRecord};
use crate::service::Calculator;

/// StartWork for an Ethereum record.
pub async fn start_work(
    c: &Arc<Calculator>,
    req: &pb::StartWorkRequest,
    rec: EthSubTask,
    version: u64,
) -> Result<pb::StartWorkResponse> {
    let answer = |s: State| pb::StartWorkResponse {
        state: s.to_proto() as i32,
        estimated_done_unix_ms: 0,
    };
    match rec.state {
        State::Accepted | State::Escrowed => {}
        State::Withdrawn | State::Declined => {
            return Err(CalculatorError::FailedPrecondition(format!(
                "sub-task is {:?}; StartWork needs ACCEPTED",
                rec.state
            )))
        }
        s => return Ok(answer(s)),
    }
    codec::bytes32("open_tx_hash", &req.open_tx_hash)?;
    let (contract, eth) = c
        .eth_deployment()
        .ok_or_else(|| CalculatorError::FailedPrecondition("Ethereum not configured".into()))?;
    let state = eth.state(contract, rec.contract_job_id).await?;
    if state != B256::with_last_byte(1) {
        return Err(CalculatorError::FailedPrecondition(format!(
            "FairPay state({}) is {state}, not opened",
            rec.contract_job_id
        )));
    }
    if eth.trapped_to(contract, rec.job.group).await? != Address::ZERO {
        return Err(CalculatorError::FailedPrecondition(
            "the job's group is trapped".into(),
        ));
    }
    let state = {
        let _g = c.lock.lock().await;
        let (mut r, v) = record::load(c.store.as_ref(), &rec.job_id)?
            .ok_or_else(|| CalculatorError::NotFound(rec.job_id.clone()))?;
        if v == version && matches!(r.state, State::Accepted | State::Escrowed) {
            r.state = State::Computing;
            r.work_requested = true;
            r.updated_unix_ms = c.now_ms();
            record::save(c.store.as_ref(), &r, Some(v))?;
        }
        r.state
    };
    if state == State::Computing {
        spawn_compute(c.clone(), rec.job_id.clone());
    }
    Ok(answer(state))
}

/// Computes in the background (once per job at a time).
pub fn spawn_compute(c: Arc<Calculator>, job: String) {
    let key = super::record::key(&job);
    {
        let mut running = c.computing.lock().unwrap_or_else(|p| p.into_inner());
        if !running.insert(key.clone()) {
            return;
        }
    }
    tokio::spawn(async move {
        if let Err(e) = compute_and_commit(&c, &job).await {
            tracing::error!(job = %job, error = %e, "Ethereum computation / commit failed");
        }
        c.computing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    });
}

/// COMPUTING: computes r_i (unless stored), signs the commitment and the
/// commit transaction, stores all three, sends the transaction.
pub async fn compute_and_commit(c: &Calculator, job: &str) -> Result<()> {
    let (rec, _) = record::load(c.store.as_ref(), job)?
        .ok_or_else(|| CalculatorError::NotFound(job.to_string()))?;
    if rec.state != State::Computing {
        return Ok(());
    }
    if rec.commit_tx.is_none() {
        let (res, tree, signed) = crate::driver::compute_signed(
            c,
            &rec.sub_task_hex,
            &rec.job_id,
            rec.index,
            CommitChain::Ethereum,
        )
        .await?;
        let (contract, eth) = c
            .eth_deployment()
            .ok_or_else(|| CalculatorError::Internal("Ethereum not configured".into()))?;
        let _g = c.lock.lock().await;
        let (mut r, v) = record::load(c.store.as_ref(), job)?
            .ok_or_else(|| CalculatorError::NotFound(job.to_string()))?;
        if r.state != State::Computing || r.commit_tx.is_some() {
            return Ok(());
        }
        let root = B256::from(tree.root().0);
        let tx = eth
            .sign_next(
                contract,
                r.job.bond_value(),
                commit_calldata(&r.job.params(), root),
            )
            .await?;
        r.result_hex = Some(hex::encode(res.to_bytes()));
        r.commitment = Some(StoredCommitment {
            commitment: signed.commitment,
            signature_hex: hex::encode(signed.signature),
        });
        r.commit_tx = Some(tx);
        r.updated_unix_ms = c.now_ms();
        record::save(c.store.as_ref(), &r, Some(v))?;
        c.trees
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(super::record::key(job), Arc::new(tree));
        tracing::info!(job = %job, "result and commit transaction stored");
        return send_commit(c, job).await;
    }
    let _g = c.lock.lock().await;
    send_commit(c, job).await
}

/// Sends the stored commit (caller holds the state lock) and records the
/// outcome.
async fn send_commit(c: &Calculator, job: &str) -> Result<()> {
    let (mut r, v) = record::load(c.store.as_ref(), job)?
        .ok_or_else(|| CalculatorError::NotFound(job.to_string()))?;
    let (Some(tx), State::Computing) = (r.commit_tx.clone(), r.state) else {
        return Ok(());
    };
    let (_, eth) = c
        .eth_deployment()
        .ok_or_else(|| CalculatorError::Internal("Ethereum not configured".into()))?;
    let receipt = eth.send_signed(&tx).await?;
    if receipt.success {
        r.state = State::Committed;
        tracing::info!(job = %job, tx = %receipt.hash, "commit mined");
    } else {
        r.state = State::Withdrawn;
        r.state_reason = format!("commit {} reverted", receipt.hash);
        tracing::warn!(job = %job, tx = %receipt.hash, "commit reverted");
    }
    r.updated_unix_ms = c.now_ms();
    record::save(c.store.as_ref(), &r, Some(v))?;
    Ok(())
}

/// FetchResult for an Ethereum record: r_i and the commitment once the
/// commit is mined (COMMITTED and later).
pub fn fetch_result(rec: &EthSubTask) -> Result<pb::FetchResultResponse> {
    let ready = !matches!(
        rec.state,
        State::Accepted | State::Escrowed | State::Computing | State::Declined
    );
    let (result, commitment, hash) = match (&rec.result_hex, &rec.commitment, &rec.commit_tx) {
        (Some(r), Some(sc), Some(tx)) if ready => (
            SubTaskRecord::unhex("result", r)?,
            Some(codec::commitment_to_proto(sc)),
            tx.hash.to_vec(),
        ),
        _ => (Vec::new(), None, Vec::new()),
    };
    Ok(pb::FetchResultResponse {
        state: rec.state.to_proto() as i32,
        result,
        commitment,
        commit_tx_hash: hash,
    })
}

/// GetStatus for an Ethereum record.
pub fn get_status(rec: &EthSubTask, job_id: Vec<u8>) -> Result<pb::GetStatusResponse> {
    let sub = SubTaskRecord::unhex("sub_task", &rec.sub_task_hex)?;
    Ok(pb::GetStatusResponse {
        job_id,
        chain: common::Chain::Ethereum as i32,
        index: rec.index,
        state: rec.state.to_proto() as i32,
        state_reason: rec.state_reason.clone(),
        sub_task_hash: sha256(&sub).to_vec(),
        commitment: rec.commitment.as_ref().map(codec::commitment_to_proto),
        pay: None,
        pay_prime: None,
        contract_job_id: rec.contract_job_id.to_vec(),
        payout: Some(common::ChainTime {
            value: Some(common::chain_time::Value::UnixTime(rec.job.payout_time)),
        }),
        transfers: Vec::new(),
        total: None,
        updated_unix_ms: rec.updated_unix_ms,
    })
}

/// CancelOffer for an Ethereum record: ACCEPTED → WITHDRAWN; once the work
/// started (the job is open on chain) FAILED_PRECONDITION.
pub async fn cancel(
    c: &Calculator,
    req: &pb::CancelOfferRequest,
) -> Result<Option<pb::CancelOfferResponse>> {
    let _g = c.lock.lock().await;
    let Some((mut rec, v)) = c.eth_authorized(&req.job_id, &req.job_token)? else {
        return Ok(None);
    };
    match rec.state {
        State::Accepted => {
            rec.state = State::Withdrawn;
            rec.state_reason = format!("cancelled by O: {}", req.reason);
            rec.updated_unix_ms = c.now_ms();
            record::save(c.store.as_ref(), &rec, Some(v))?;
        }
        State::Withdrawn | State::Declined => {}
        s => {
            return Err(CalculatorError::FailedPrecondition(format!(
                "sub-task is {s:?}; the job is open on chain"
            )))
        }
    }
    Ok(Some(pb::CancelOfferResponse {
        state: rec.state.to_proto() as i32,
    }))
}
