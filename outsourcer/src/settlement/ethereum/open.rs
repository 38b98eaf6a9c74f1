//! Opening an Ethereum job: `open(job_i)` with the reward for every slot,
//! signed and **stored** (with its nonce) before it is sent, resent as the
//! same bytes after a restart; every job opened → COMPUTING. Never into a
//! group already trapped (the reward would go to the trapper). Also the
//! check that a fetched result's root is the one FairPay holds (what
//! `judge` and `disputeSearch` check against), and the stored-then-sent
//! helper every O transaction uses.

use alloy::primitives::U256;
use bapay_daemon::eth::{self as deth, SignedTx};
use bapay_daemon::ServiceError;

use crate::record::{JobRecord, JobState, SlotState};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// Signs `data` to FairPay with `value`, stores it with `store`, sends it
/// (or resends the stored one) and returns the receipt.
pub(crate) async fn send_stored(
    o: &Outsourcer,
    rec: &JobRecord,
    stored: Option<SignedTx>,
    value: U256,
    data: Vec<u8>,
    store: impl FnOnce(&mut JobRecord, SignedTx) -> Result<Vec<Note>> + Send,
) -> Result<deth::Receipt> {
    let (sender, contract) = o.eth()?;
    let tx = match stored {
        Some(t) => t,
        None => {
            let t = sender.sign_next(contract, value, data).await?;
            let t2 = t.clone();
            o.update(&rec.job_id, move |r| store(r, t2)).await?;
            t
        }
    };
    Ok(sender.send_signed(&tx).await?)
}

/// One pass of the FUNDING phase.
pub async fn fund(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    let reward = U256::from(rec.eth()?.reward()?);
    for s in &rec.slots {
        if s.state != SlotState::Accepted {
            continue;
        }
        let i = s.index;
        let job = rec.slot_job(i as usize)?.job;
        let stored = s.eth()?.open_tx.clone();
        if stored.is_none() && trapped(o, &job).await? {
            return stop_opening(o, rec).await;
        }
        let receipt = send_stored(
            o,
            rec,
            stored,
            reward,
            deth::open_calldata(&job),
            move |r, t| {
                r.slots[i as usize].eth_mut()?.open_tx = Some(t);
                Ok(vec![Note::slot(
                    i,
                    format!("calculator {i}: open(job) signed and stored"),
                )])
            },
        )
        .await?;
        let gas = receipt.fee().to_string();
        let hash = receipt.hash.to_string();
        o.update(&rec.job_id, move |r| {
            if !receipt.success {
                r.state = JobState::Failed;
                r.state_reason = format!("open(job {i}) reverted");
                return Ok(vec![Note::job(r.state_reason.clone()).tx(hash)]);
            }
            r.slots[i as usize].eth_mut()?.open_gas_wei = gas;
            r.slots[i as usize].eth_mut()?.open_block = receipt.block_number;
            Ok(vec![set_slot(
                r,
                i,
                SlotState::Escrowed,
                "FairPay job opened",
            )
            .tx(hash)])
        })
        .await?;
    }
    let rec = o.get(&rec.job_id)?.0;
    if rec.state == JobState::Funding && rec.slots.iter().all(|s| s.state == SlotState::Escrowed) {
        o.update(&rec.job_id, |r| {
            r.state = JobState::Computing;
            Ok(vec![Note::job("every FairPay job opened; computing")])
        })
        .await?;
    }
    Ok(())
}

async fn trapped(o: &Outsourcer, job: &bapay_fairpay::JobParams) -> Result<bool> {
    let (sender, contract) = o.eth()?;
    Ok(sender.trapped_to(contract, job.group).await? != alloy::primitives::Address::ZERO)
}

/// The group was trapped before every job was opened (calculators pooled
/// their offers at once): an `open` now would hand the reward straight to
/// the trapper. Nothing more is opened: with nothing opened the job FAILs;
/// otherwise the unopened slots are DECLINED and the opened ones settle
/// (TRAPPED).
async fn stop_opening(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    let why = "the collusion group was trapped before its jobs were opened";
    o.update(&rec.job_id, |r| {
        let opened = r
            .slots
            .iter()
            .any(|s| s.eth().is_ok_and(|e| e.open_tx.is_some()));
        let mut notes = Vec::new();
        for i in 0..r.slots.len() {
            let unopened = r.slots[i].eth().is_ok_and(|e| e.open_tx.is_none());
            if unopened {
                notes.push(set_slot(r, i as u32, SlotState::Declined, why));
            }
        }
        if opened {
            r.state = JobState::AwaitingPayout;
            notes.push(Note::job(format!("{why}: not opening the rest")));
        } else {
            r.state = JobState::Failed;
            r.state_reason = why.to_string();
            notes.push(Note::job(format!("failed: {why}; nothing opened")));
        }
        Ok(notes)
    })
    .await?;
    Ok(())
}

/// The result's root must be what FairPay holds for the job.
pub async fn check_committed(o: &Outsourcer, rec: &JobRecord, i: u32, root: &[u8]) -> Result<()> {
    let (sender, contract) = o.eth()?;
    let id = rec.slot_job(i as usize)?.id;
    let on_chain = sender.state(contract, id).await?;
    if on_chain.as_slice() != root {
        return Err(ServiceError::invalid(
            "commitment.root",
            format!("FairPay holds {on_chain} for the job, the signed result another root"),
        ));
    }
    Ok(())
}
