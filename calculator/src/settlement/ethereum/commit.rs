//! Delivering an Ethereum result: the bonded `commit(job, root)`. The
//! result, the signed commitment and the signed transaction (with its
//! nonce) are **stored** together, then the transaction is sent; a
//! successful receipt → COMMITTED, a reverted one (commit deadline passed,
//! job refunded, group trapped) → WITHDRAWN with the reason (the bond stays
//! with the calculator). A crash between the two resends the same bytes.

use std::sync::Arc;

use alloy::primitives::B256;
use bapay_core::commitment::SignedCommitment;
use bapay_core::merkle::MerkleTree;
use bapay_core::task::SubResult;
use bapay_daemon::eth::commit_calldata;
use bapay_daemon::ServiceError;

use crate::record::{self, State, StoredCommitment};
use crate::service::Calculator;
use crate::Result;

/// Stores r_i, the commitment and the signed commit, then sends it.
pub async fn deliver(
    c: &Calculator,
    job: &str,
    result: &SubResult,
    tree: Arc<MerkleTree>,
    signed: SignedCommitment,
) -> Result<()> {
    let (contract, eth) = c.ethereum()?;
    {
        let _g = c.lock.lock().await;
        let (mut r, v) = record::load(c.store.as_ref(), job)?
            .ok_or_else(|| ServiceError::not_found(job.to_string()))?;
        if r.state != State::Computing || r.eth()?.commit_tx.is_some() {
            return Ok(());
        }
        let root = B256::from(tree.root().0);
        let e = r.eth()?;
        let tx = eth
            .sign_next(
                contract,
                e.job.bond_value(),
                commit_calldata(&e.job.params(), root),
            )
            .await?;
        r.result_hex = Some(hex::encode(result.to_bytes()));
        r.commitment = Some(StoredCommitment {
            commitment: signed.commitment,
            signature_hex: hex::encode(signed.signature),
        });
        r.eth_mut()?.commit_tx = Some(tx);
        c.save(&mut r, Some(v))?;
        crate::work::cache_tree(c, job, tree);
        tracing::info!(job = %job, "result and commit transaction stored");
    }
    send(c, job).await
}

/// Sends the stored commit (same bytes and nonce) and records the outcome.
pub async fn send(c: &Calculator, job: &str) -> Result<()> {
    let (_, eth) = c.ethereum()?;
    let _g = c.lock.lock().await;
    let (mut r, v) = record::load(c.store.as_ref(), job)?
        .ok_or_else(|| ServiceError::not_found(job.to_string()))?;
    let (Some(tx), State::Computing) = (r.eth()?.commit_tx.clone(), r.state) else {
        return Ok(());
    };
    let receipt = eth.send_signed(&tx).await?;
    if receipt.success {
        r.state = State::Committed;
        tracing::info!(job = %job, tx = %receipt.hash, "commit mined");
    } else {
        r.state = State::Withdrawn;
        r.state_reason = format!("commit {} reverted", receipt.hash);
        tracing::warn!(job = %job, tx = %receipt.hash, "commit reverted");
    }
    c.save(&mut r, Some(v))?;
    Ok(())
}
