//! What O's money report needs from the chain that O did not send itself:
//! the calculator's `commit`, its answer to a challenge and the `payout`
//! at t, each as the transaction's hash, block and gas. Why: the calculator
//! pays that gas, so without it the report overstated the calculators' net
//! and its payout rows linked nowhere. Read once a slot is settled, from
//! FairPay's logs of the job id (`Committed`, `Responded`, `PaidOut`,
//! `BondReturned`, from the block of O's `open` on) and their receipts.

use alloy::primitives::B256;
use alloy::sol_types::SolEvent;
use bapay_fairpay::FairPay;
use bapay_proto::common::v1 as common;
use common::party::Role;
use common::transfer::Kind;
use serde::{Deserialize, Serialize};

use super::view::{party, transfer};
use crate::record::{EthSlot, JobRecord, Slot};
use crate::service::{Note, Outsourcer};
use crate::Result;

/// One of the calculator's transactions, as read from the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalcTx {
    /// "commit", "respond", "payout" or "bond_returned".
    pub kind: String,
    /// Transaction hash, 0x-hex.
    pub hash: String,
    /// Block number.
    pub block: u64,
    /// Gas the calculator paid, wei.
    pub gas_wei: String,
}

const EVENTS: [(&str, B256); 4] = [
    ("commit", FairPay::Committed::SIGNATURE_HASH),
    ("respond", FairPay::Responded::SIGNATURE_HASH),
    ("payout", FairPay::PaidOut::SIGNATURE_HASH),
    ("bond_returned", FairPay::BondReturned::SIGNATURE_HASH),
];

/// Reads the calculator's transactions of settled slot `s` once
/// (`EthSlot::calc_txs`); an unreachable chain is retried on the next pass.
pub async fn collect(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let se = s.eth()?;
    if se.calc_txs_read {
        return Ok(());
    }
    let (sender, contract) = o.eth()?;
    let id = rec.slot_job(s.index as usize)?.id;
    let mut txs = Vec::new();
    for (kind, sig) in EVENTS {
        let Some(log) = sender
            .first_log(contract, vec![sig, id], se.open_block)
            .await?
        else {
            continue;
        };
        // A log without its receipt yet (a lagging node): read it all again
        // on the next pass rather than leave the gas out for good.
        let Some(r) = sender.receipt(log.transaction_hash).await? else {
            tracing::info!(slot = s.index, kind, "receipt not found yet; retrying");
            return Ok(());
        };
        txs.push(CalcTx {
            kind: kind.into(),
            hash: r.hash.to_string(),
            block: r.block_number,
            gas_wei: r.fee().to_string(),
        });
    }
    let i = s.index;
    let kinds: Vec<String> = txs.iter().map(|t| t.kind.clone()).collect();
    o.update(&rec.job_id, move |r| {
        let e = r.slots[i as usize].eth_mut()?;
        e.calc_txs = txs;
        e.calc_txs_read = true;
        let what = format!(
            "calculator {i}: its transactions read from the chain ({})",
            kinds.join(", ")
        );
        Ok(vec![Note::slot(i, what)])
    })
    .await?;
    Ok(())
}

/// The calculator's `kind` transaction of this slot, if read.
pub fn calc_tx<'a>(se: &'a EthSlot, kind: &str) -> Option<&'a CalcTx> {
    se.calc_txs.iter().find(|t| t.kind == kind)
}

/// The calculator's gas, one ChainFee row per transaction it paid for;
/// returns their sum (its fees in the report).
pub fn calc_fee_rows(se: &EthSlot, i: u32, transfers: &mut Vec<common::Transfer>) -> u128 {
    let mut total = 0u128;
    for t in &se.calc_txs {
        let gas: u128 = t.gas_wei.parse().unwrap_or(0);
        total += gas;
        let from = party(Role::Calculator, Some(i));
        let mut row = transfer(
            Kind::ChainFee,
            from,
            party(Role::ChainFees, None),
            gas,
            i,
            &t.hash,
        );
        row.block = t.block;
        transfers.push(row);
    }
    total
}
