//! AWAITING_PAYOUT on Bitcoin. Before t O converts Pay_i -> Pay'_i
//! ([`super::convert`]); at any time it watches each escrow. Every slot
//! not redeemed is C_i's at t: Charge_i's (or, once converted, Charge'_i's)
//! txid is fixed (witness-independent) and known to O, so the slot is PAID
//! once that transaction is at depth. An escrow taken by any other
//! transaction is looked up (GetSpender): if the spender went through a
//! trap leaf, colluders learned P_M (or P_R) and one of them swept d (their
//! deposits are in Dep_i, which only they can reclaim): the slot is
//! TRAPPED, with the sweep, the trap key and whose leaf signed it. When
//! every slot is terminal the job is COMPLETED and its report final.

use bapay_core::escrow::{EscrowOutput, EscrowParams, LeafKind};
use bapay_daemon::ServiceError;
use bitcoin::OutPoint;

use super::convert;
use crate::record::{JobRecord, JobState, Slot, SlotState, StoredSweep};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

/// What one pass saw of a slot.
enum Seen {
    Paid { txid: String, value: u64 },
    Swept(StoredSweep),
}

/// One pass of the settlement phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    watch(o, rec).await?;
    if tip < rec.payout {
        convert::step(o, &o.get(&rec.job_id)?.0, tip).await?;
    }
    Ok(())
}

/// Every escrow seen on chain: PAID, TRAPPED, and COMPLETED once all are.
async fn watch(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    let mut seen = Vec::new();
    for s in &rec.slots {
        if s.state.is_terminal() {
            continue;
        }
        if let Some(v) = look(o, rec, s).await? {
            seen.push((s.index, v));
        }
    }
    if seen.is_empty() && rec.slots.iter().any(|s| !s.state.is_terminal()) {
        return Ok(());
    }
    o.update(&rec.job_id, |r| {
        let mut notes = Vec::new();
        for (i, v) in &seen {
            notes.push(match v {
                Seen::Paid { txid, value } => {
                    let b = r.slots[*i as usize].btc_mut()?;
                    let prime = b
                        .conversion
                        .as_ref()
                        .is_some_and(|c| c.charge.txid == *txid);
                    b.paid_through_conversion = prime;
                    let which = if prime { "Charge'_i" } else { "Charge_i" };
                    set_slot(
                        r,
                        *i,
                        SlotState::Paid,
                        &format!("{which} confirmed: {value} sat to the calculator"),
                    )
                    .tx(txid.clone())
                }
                Seen::Swept(sw) => {
                    r.slots[*i as usize].btc_mut()?.sweep = Some(sw.clone());
                    let by = sw
                        .by
                        .map(|j| format!("calculator {j}'s trap leaf"))
                        .unwrap_or_else(|| "a trap leaf".into());
                    set_slot(
                        r,
                        *i,
                        SlotState::Trapped,
                        &format!(
                            "swept through {by} ({} trap: colluders pooled what makes it): \
                             {} sat went to the colluder",
                            sw.key, sw.value_sat
                        ),
                    )
                    .tx(sw.txid.clone())
                }
            });
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

/// The escrow slot `s` now has its fee in: Pay'_i once the conversion is
/// mined, else Pay_i. With the terms of that output, the charge that pays
/// it, and the trap key's name.
async fn current(
    o: &Outsourcer,
    rec: &JobRecord,
    s: &Slot,
) -> Result<Option<(EscrowParams, OutPoint, u64, String, u64, &'static str)>> {
    let b = s.btc()?;
    let Some(charge) = &b.charge else {
        return Ok(None);
    };
    if let Some(c) = b.conversion.as_ref().filter(|c| c.signed_hex.is_some()) {
        if o.chain
            .tx_status(&c.txid)
            .await?
            .is_some_and(|st| st.confirmations > 0)
        {
            let op = OutPoint {
                txid: c
                    .txid
                    .parse()
                    .map_err(|e| ServiceError::internal("conversion txid", e))?,
                vout: 0,
            };
            let params = convert::converted_params(rec)?;
            return Ok(Some((
                params,
                op,
                c.value_sat,
                c.charge.txid.clone(),
                c.charge.value_sat,
                "P_R",
            )));
        }
    }
    let pay = rec.slot_escrow(s.index)?.pay;
    Ok(Some((
        rec.escrow_params()?,
        pay.outpoint,
        pay.value.to_sat(),
        charge.txid.clone(),
        charge.value_sat,
        "P_M",
    )))
}

async fn look(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<Option<Seen>> {
    let Some((params, op, value, charge_txid, charge_value, key)) = current(o, rec, s).await?
    else {
        return Ok(None);
    };
    let depth = o.config.common.depth();
    match o.chain.tx_status(&charge_txid).await? {
        Some(st) if st.confirmations >= depth => {
            return Ok(Some(Seen::Paid {
                txid: charge_txid,
                value: charge_value,
            }))
        }
        Some(_) => return Ok(None),
        None => {}
    }
    let Some(spender) = o.chain.find_spender(&op).await? else {
        return Ok(None);
    };
    if spender.confirmations < depth {
        return Ok(None);
    }
    let output = EscrowOutput::new(&params, s.index as usize)
        .map_err(|e| ServiceError::internal("escrow", e))?;
    let witness = &spender.tx.input[spender.input_index].witness;
    let by = match output.spent_leaf(witness) {
        Some(LeafKind::Trap(j) | LeafKind::ThresholdTrap(j)) => Some(j as u32),
        // The charge leaf: Charge_i (seen above) or the conversion, which
        // `current` follows once it is mined; the dispute leaf: Redeem_i,
        // followed by the dispute phase.
        Some(_) => return Ok(None),
        None => None,
    };
    Ok(Some(Seen::Swept(StoredSweep {
        txid: spender.tx.compute_txid().to_string(),
        by,
        key: key.into(),
        value_sat: value,
    })))
}
