//! O's on-chain challenge of a silent calculator (FairPay
//! `challenge` / `claimUnanswered`, sol/FairPayAudit.sol): the Ethereum
//! answer to a slot whose root is committed but whose result or sample
//! never reached O. No arbiter is involved.
//!
//! - [`file`]: the job is committed on chain → O signs and **stores**
//!   `challenge(job, audit, c)` with the audit's deposit, then sends it;
//!   the slot is DISPUTED ("challenge <tx>"). Never committed (still
//!   OPEN after the commit deadline) → nothing to challenge: the slot stays
//!   FAULTY and is refunded in AWAITING_PAYOUT. Found too late (O was
//!   down: now + 2 windows > t) → noted, the calculator is paid at t.
//! - [`follow`]: pending and the deadline reached → O signs and stores
//!   `claimUnanswered`, sends it → REDEEMED (reward + bond + deposit to O;
//!   in a trapped group only the deposit comes back → TRAPPED). Closed by
//!   the calculator's answer: a search answer was checked leaf by leaf by
//!   the contract → DISPUTE_REJECTED, it keeps its pay at t and the
//!   deposit paid its gas; any other kind's answer O judges itself and
//!   takes to T if a leaf is wrong (answer.rs). A reverted challenge or
//!   claim is noted and not retried (each retry would cost O gas).

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolCall;
use bapay_fairpay::{ChallengeState, FairPay};

use super::open::send_stored;
use crate::record::{JobRecord, Slot, SlotState, StoredDispute};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// The dispute id prefix of an on-chain challenge.
pub const ID_PREFIX: &str = "challenge ";

/// Is this dispute O's on-chain challenge (not T's)?
pub fn is_challenge(d: &StoredDispute) -> bool {
    d.id.starts_with(ID_PREFIX)
}

/// Challenges slot `s` on chain if its job is committed; whether the slot
/// is now taken care of (challenged, or left to the refund).
pub async fn file(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<bool> {
    let (sender, contract) = o.eth()?;
    let i = s.index;
    let slot = rec.slot_job(i as usize)?;
    let state = sender.state(contract, slot.id).await?;
    if !bapay_fairpay::is_root(state) {
        // Never committed (or already settled): nothing to challenge; the
        // refund in AWAITING_PAYOUT takes the reward back.
        o.update(&rec.job_id, |r| {
            r.slots[i as usize].dispute = Some(StoredDispute {
                id: String::new(),
                reason: "not committed on chain: nothing to challenge".into(),
                answered: false,
            });
            Ok(vec![Note::slot(
                i,
                format!(
                    "calculator {i}: never committed on chain; refunded at the commit deadline"
                ),
            )])
        })
        .await?;
        return Ok(true);
    }
    let (_, now) = sender.chain_time().await?;
    let stored = s.eth()?.challenge_tx.clone();
    if stored.is_none()
        && now.saturating_add(slot.audit.window.saturating_mul(2)) > slot.job.payoutTime
    {
        // FairPay would refuse it (TooLate): O found the slot silent too
        // late (it was down). The calculator is paid at t.
        let why = format!(
            "too late to challenge on chain (block time {now} + 2 x {} s > t {})",
            slot.audit.window, slot.job.payoutTime
        );
        o.update(&rec.job_id, |r| {
            r.slots[i as usize].dispute = Some(StoredDispute {
                id: String::new(),
                reason: why.clone(),
                answered: false,
            });
            Ok(vec![Note::slot(i, format!("calculator {i}: {why}"))])
        })
        .await?;
        return Ok(true);
    }
    let mut c = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut c);
    let call = FairPay::challengeCall {
        job: slot.job.clone(),
        a: slot.audit.clone(),
        c: B256::from(c),
    };
    let receipt = send_stored(
        o,
        rec,
        stored,
        U256::from(slot.audit.deposit),
        call.abi_encode(),
        move |r, t| {
            r.slots[i as usize].eth_mut()?.challenge_tx = Some(t);
            Ok(vec![Note::slot(
                i,
                format!("calculator {i}: challenge(job) signed and stored"),
            )])
        },
    )
    .await?;
    let gas = receipt.fee().to_string();
    let hash = receipt.hash.to_string();
    let window = slot.audit.window;
    o.update(&rec.job_id, move |r| {
        let slot = &mut r.slots[i as usize];
        slot.eth_mut()?.challenge_gas_wei = gas;
        slot.eth_mut()?.challenge_block = receipt.block_number;
        if !receipt.success {
            // Not retried: a revert would cost O gas on every pass. The
            // slot stays FAULTY, noted, and is paid at t.
            slot.eth_mut()?.challenge_reverted = true;
            slot.dispute = Some(StoredDispute {
                id: String::new(),
                reason: format!("the on-chain challenge {hash} reverted"),
                answered: false,
            });
            return Ok(vec![Note::slot(
                i,
                format!("calculator {i}: the on-chain challenge reverted; not retried"),
            )
            .tx(hash)]);
        }
        slot.dispute = Some(StoredDispute {
            id: format!("{ID_PREFIX}{hash}"),
            reason: slot.reason.clone(),
            answered: false,
        });
        let why = format!("challenged on chain: the calculator must answer within {window} s");
        Ok(vec![set_slot(r, i, SlotState::Disputed, &why).tx(hash)])
    })
    .await?;
    Ok(true)
}

/// A DISPUTED slot under an on-chain challenge, until it is decided.
pub async fn follow(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let (sender, contract) = o.eth()?;
    let i = s.index;
    let slot = rec.slot_job(i as usize)?;
    let v = sender.challenges(contract, slot.id).await?;
    let (_, now) = sender.chain_time().await?;
    let e = s.eth()?;
    match bapay_fairpay::challenge_state(v) {
        ChallengeState::Pending { deadline, .. } if now >= deadline || e.claim_tx.is_some() => {
            claim(o, rec, s).await
        }
        ChallengeState::Pending { .. } => Ok(()),
        ChallengeState::Closed if e.claim_tx.is_some() => claim(o, rec, s).await,
        ChallengeState::Closed if !slot.audit.search => super::answer::judge(o, rec, s).await,
        ChallengeState::Closed => {
            let why = "answered the on-chain challenge in time (FairPay checked each answered leaf): keeps its pay at t; O's deposit paid its gas";
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(r, i, SlotState::DisputeRejected, why)])
            })
            .await
            .map(|_| ())
        }
        // The stored challenge was never mined (e.g. the adapter was down):
        // resend the same bytes.
        ChallengeState::None => file(o, rec, s).await.map(|_| ()),
    }
}

async fn claim(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let (sender, contract) = o.eth()?;
    let i = s.index;
    let slot = rec.slot_job(i as usize)?;
    let call = FairPay::claimUnansweredCall {
        job: slot.job.clone(),
        a: slot.audit.clone(),
    };
    let receipt = send_stored(
        o,
        rec,
        s.eth()?.claim_tx.clone(),
        U256::ZERO,
        call.abi_encode(),
        move |r, t| {
            r.slots[i as usize].eth_mut()?.claim_tx = Some(t);
            Ok(vec![Note::slot(
                i,
                format!("calculator {i}: claimUnanswered(job) signed and stored"),
            )])
        },
    )
    .await?;
    let trapped = sender.trapped_to(contract, slot.job.group).await? != Address::ZERO;
    let gas = receipt.fee().to_string();
    let hash = receipt.hash.to_string();
    o.update(&rec.job_id, move |r| {
        r.slots[i as usize].eth_mut()?.claim_gas_wei = gas;
        Ok(vec![match (receipt.success, trapped) {
            (true, false) => set_slot(
                r,
                i,
                SlotState::Redeemed,
                "challenge unanswered: O took the reward, the bond and its deposit",
            ),
            (true, true) => set_slot(
                r,
                i,
                SlotState::Trapped,
                "challenge unanswered in a trapped group: O took its deposit back; the reward is the trapper's",
            ),
            // The calculator answered just before (NotChallenged), or the
            // claim cannot go through: not retried (it would cost gas on
            // every pass); the calculator keeps its pay.
            (false, _) => set_slot(
                r,
                i,
                SlotState::DisputeRejected,
                "claimUnanswered reverted: the calculator keeps its pay at t",
            ),
        }
        .tx(hash)])
    })
    .await?;
    Ok(())
}
