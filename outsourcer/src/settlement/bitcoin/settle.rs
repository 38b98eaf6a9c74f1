//! AWAITING_PAYOUT on Bitcoin: every slot not redeemed is C_i's at t. O
//! does nothing but watch: Charge_i's txid is fixed (witness-independent)
//! and known to O, so the slot is PAID once that transaction is at depth.
//! If Pay_i is gone and Charge_i is not on chain, a trap sweep took d
//! (colluders who learned P_M; their deposits are in Dep_i, which only
//! they can reclaim): the slot is TRAPPED. When every slot is terminal the
//! job is COMPLETED and its report final.

use crate::record::{JobRecord, JobState, SlotState};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// One pass of the settlement phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    if tip < rec.payout {
        return Ok(());
    }
    let mut paid = Vec::new();
    let mut trapped = Vec::new();
    for s in &rec.slots {
        if s.state.is_terminal() {
            continue;
        }
        let Some(c) = &s.btc()?.charge else { continue };
        match o.chain.tx_status(&c.txid).await? {
            Some(st) if st.confirmations >= o.config.common.depth() => {
                paid.push((s.index, c.txid.clone(), c.value_sat));
            }
            Some(_) => {}
            None => {
                if pay_gone(o, rec, s.index).await? && o.chain.tx_status(&c.txid).await?.is_none() {
                    trapped.push(s.index);
                }
            }
        }
    }
    o.update(&rec.job_id, |r| {
        let mut notes = Vec::new();
        for (i, txid, v) in &paid {
            notes.push(
                set_slot(
                    r,
                    *i,
                    SlotState::Paid,
                    &format!("Charge_i confirmed: {v} sat to the calculator"),
                )
                .tx(txid.clone()),
            );
        }
        for i in &trapped {
            notes.push(set_slot(
                r,
                *i,
                SlotState::Trapped,
                "Pay_i was swept through a trap leaf (collusion): the fee went to a colluder",
            ));
        }
        if r.slots.iter().all(|s| s.state.is_terminal()) {
            r.state = JobState::Completed;
            notes.push(Note::job("every escrow settled; job complete"));
        }
        Ok(notes)
    })
    .await?;
    Ok(())
}

/// Is Pay_i no longer in the confirmed UTXO set?
async fn pay_gone(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<bool> {
    let params = rec.escrow_params()?;
    let pay = rec.slot_escrow(i)?.pay;
    let script = bapay_core::escrow::EscrowOutput::new(&params, i as usize)
        .map_err(|e| bapay_daemon::ServiceError::internal("escrow", e))?
        .script_pubkey();
    let unspent = o.chain.list_unspent(script.as_bytes()).await?;
    Ok(!unspent.iter().any(|u| u.outpoint() == Some(pay.outpoint)))
}
