//! AWAITING_PAYOUT on Bitcoin: every slot not redeemed is C_i's at t. O
//! does nothing but watch: Charge_i's txid is fixed (witness-independent)
//! and known to O, so the slot is PAID once that transaction is at depth.
//! When every slot is terminal the job is COMPLETED and its report final.
//! Not yet: detecting a trap sweep of Pay_i (the slot would stay here).

use crate::record::{JobRecord, JobState, SlotState};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// One pass of the settlement phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    if tip < rec.payout {
        return Ok(());
    }
    let mut paid = Vec::new();
    for s in &rec.slots {
        if s.state.is_terminal() {
            continue;
        }
        let Some(c) = &s.btc()?.charge else { continue };
        if let Some(st) = o.chain.tx_status(&c.txid).await? {
            if st.confirmations >= o.config.common.depth() {
                paid.push((s.index, c.txid.clone(), c.value_sat));
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
        if r.slots.iter().all(|s| s.state.is_terminal()) {
            r.state = JobState::Completed;
            notes.push(Note::job("every escrow settled; job complete"));
        }
        Ok(notes)
    })
    .await?;
    Ok(())
}
