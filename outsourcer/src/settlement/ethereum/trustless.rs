//! The trustless dispute of a search job (PROTOCOL.md §5, FairPay
//! `disputeSearch`): when one of C_i's opened leaves is wrong, O needs no
//! arbiter: it shows the contract the leaf and its Merkle proof, and the
//! contract recomputes f itself. The signed transaction is stored before it
//! is sent; a leaf the contract finds correct reverts at the `Call` check
//! before anything is spent.

use alloy::primitives::{B256, U256};
use alloy::sol_types::SolCall;
use bapay_core::commitment::Chain as CommitChain;
use bapay_core::task::SubTask;
use bapay_fairpay::FairPay;

use bapay_daemon::{codec, ErrorCode};

use crate::record::{JobRecord, Slot, SlotState, StoredDispute};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// The first opened leaf of `s` that is wrong, with its proof.
fn wrong_leaf(s: &Slot) -> Result<Option<bapay_proto::common::v1::Opening>> {
    let sub = s.sub_task()?;
    if !matches!(sub, SubTask::Search(_)) {
        return Ok(None);
    }
    let res = s.result()?;
    let opened = s.openings()?;
    let pc = s.commitment()?;
    let root = codec::commitment("commitment", Some(&pc), CommitChain::Ethereum)?
        .commitment
        .root;
    for p in &opened.openings {
        let Ok(one) = codec::openings("opening", std::slice::from_ref(p)) else {
            continue;
        };
        if p.leaf_data.len() == 48 && sub.verify_sample(&res, &root, &[p.index], &one).is_err() {
            // Only a leaf whose proof holds is evidence the contract accepts.
            if one[0].proof.verify(
                &root,
                &bapay_core::merkle::leaf_hash(&p.leaf_data),
                p.index,
                sub.leaf_count(),
            ) {
                return Ok(Some(p.clone()));
            }
        }
    }
    Ok(None)
}

/// Files the trustless dispute of slot `s` if it has a wrong search leaf;
/// returns whether it did (false: go to the arbiter).
pub async fn dispute_search(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<bool> {
    let Some(leaf) = wrong_leaf(s)? else {
        return Ok(false);
    };
    let i = s.index;
    let slot = rec.slot_job(i as usize)?;
    let (job, Some(terms)) = (slot.job, slot.search) else {
        return Ok(false);
    };
    let Some(parsed) = bapay_fairpay::proof::search_leaf_from_data(&leaf.leaf_data) else {
        return Ok(false);
    };
    let call = FairPay::disputeSearchCall {
        job: job.clone(),
        s: terms,
        position: leaf.index,
        leaf: parsed,
        proof: leaf.proof.iter().map(|p| B256::from_slice(p)).collect(),
    };
    let stored = s.eth()?.dispute_tx.clone();
    let sent = super::open::send_stored(
        o,
        rec,
        stored,
        U256::ZERO,
        call.abi_encode(),
        move |r, t| {
            r.slots[i as usize].eth_mut()?.dispute_tx = Some(t);
            Ok(vec![Note::slot(
                i,
                format!(
                    "calculator {i}: disputeSearch(leaf {}) signed and stored",
                    leaf.index
                ),
            )])
        },
    )
    .await;
    let receipt = match sent {
        Ok(r) => r,
        Err(e) if e.code == ErrorCode::FailedPrecondition || e.message.contains("revert") => {
            tracing::warn!(slot = i, error = %e, "disputeSearch refused; asking the arbiter");
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let gas = receipt.fee().to_string();
    let hash = receipt.hash.to_string();
    o.update(&rec.job_id, move |r| {
        let slot = &mut r.slots[i as usize];
        slot.eth_mut()?.dispute_gas_wei = gas;
        slot.dispute = Some(StoredDispute {
            id: format!("disputeSearch {hash}"),
            reason: slot.reason.clone(),
            answered: false,
        });
        Ok(vec![if receipt.success {
            set_slot(
                r,
                i,
                SlotState::Redeemed,
                "disputeSearch won on chain: O got the reward and the bond",
            )
            .tx(hash)
        } else {
            set_slot(r, i, SlotState::DisputeRejected, "disputeSearch reverted").tx(hash)
        }])
    })
    .await?;
    Ok(true)
}
