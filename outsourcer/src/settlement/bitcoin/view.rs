//! The Bitcoin parts of the API view: sat amounts, heights, the escrow
//! terms, Pay_i of each slot, and the money report: every transfer the job
//! caused so far, derived from the stored transactions, and net totals per
//! party. An escrow output is not a party: a transfer into Pay_i has no
//! `to`, one out of it no `from`.

use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use common::transfer::Kind;

use crate::record::{BtcJob, JobRecord, SlotState};

fn party(role: common::party::Role, index: Option<u32>) -> common::Party {
    common::Party {
        role: role as i32,
        calculator_index: index,
    }
}

fn o_party() -> common::Party {
    party(common::party::Role::Outsourcer, None)
}

fn calc_party(i: u32) -> common::Party {
    party(common::party::Role::Calculator, Some(i))
}

fn fees_party() -> common::Party {
    party(common::party::Role::ChainFees, None)
}

#[allow(clippy::too_many_arguments)]
fn transfer(
    kind: Kind,
    from: Option<common::Party>,
    to: Option<common::Party>,
    sat: u64,
    index: Option<u32>,
    tx: &str,
    fin: bool,
) -> common::Transfer {
    common::Transfer {
        kind: kind as i32,
        from,
        to,
        amount: Some(amount_sat(sat)),
        calculator_index: index,
        tx: tx.to_string(),
        block: 0,
        r#final: fin,
    }
}

/// A Bitcoin amount.
pub fn amount_sat(v: u64) -> common::Amount {
    common::Amount {
        value: Some(common::amount::Value::Sat(v)),
    }
}

/// A height as a chain time.
pub fn height(h: u64) -> common::ChainTime {
    common::ChainTime {
        value: Some(common::chain_time::Value::Height(h)),
    }
}

/// Every transfer of the job so far.
pub fn transfers(rec: &JobRecord, b: &BtcJob) -> Vec<common::Transfer> {
    let mut out = Vec::new();
    let Some(f) = b.funding.as_ref().filter(|f| f.signed_hex.is_some()) else {
        return out;
    };
    let escrowed = rec.slots.iter().any(|s| {
        !matches!(
            s.state,
            SlotState::ChargePresigned | SlotState::FundingSigned | SlotState::Declined
        )
    });
    let n = rec.slots.len() as u64;
    out.push(transfer(
        Kind::EscrowFunding,
        Some(o_party()),
        None,
        n * b.fee_sat,
        None,
        &f.txid,
        escrowed,
    ));
    for s in &rec.slots {
        out.push(transfer(
            Kind::EscrowFunding,
            Some(calc_party(s.index)),
            None,
            b.deposit_sat,
            Some(s.index),
            &f.txid,
            escrowed,
        ));
    }
    out.push(transfer(
        Kind::ChainFee,
        Some(o_party()),
        Some(fees_party()),
        f.fee_sat,
        None,
        &f.txid,
        escrowed,
    ));
    let pay = b.slot_sat();
    for s in &rec.slots {
        let Ok(sb) = s.btc() else { continue };
        let i = Some(s.index);
        let converted = sb
            .conversion
            .as_ref()
            .filter(|c| c.signed_hex.is_some() && converted_on_chain(s.state, sb));
        let mut left = pay;
        if let Some(c) = converted {
            let pay_i = rec
                .slot_escrow(s.index)
                .map(|e| e.pay.value.to_sat())
                .unwrap_or(0);
            let fee = pay_i.saturating_sub(c.value_sat);
            out.push(transfer(
                Kind::Conversion,
                None,
                None,
                c.value_sat,
                i,
                &c.txid,
                true,
            ));
            out.push(transfer(
                Kind::ChainFee,
                None,
                Some(fees_party()),
                fee,
                i,
                &c.txid,
                true,
            ));
            left -= fee;
        }
        match s.state {
            SlotState::Paid => {
                let c = match (converted, &sb.charge) {
                    (Some(conv), _) => Some(&conv.charge),
                    (None, c) => c.as_ref(),
                };
                if let Some(c) = c {
                    let to = Some(calc_party(s.index));
                    out.push(transfer(
                        Kind::Charge,
                        None,
                        to,
                        c.value_sat,
                        i,
                        &c.txid,
                        true,
                    ));
                    let fee = left.saturating_sub(c.value_sat);
                    out.push(transfer(
                        Kind::ChainFee,
                        None,
                        Some(fees_party()),
                        fee,
                        i,
                        &c.txid,
                        true,
                    ));
                }
            }
            SlotState::Trapped => {
                if let Some(sw) = &sb.sweep {
                    let to = sw.by.map(calc_party);
                    out.push(transfer(
                        Kind::Sweep,
                        None,
                        to,
                        sw.value_sat,
                        i,
                        &sw.txid,
                        true,
                    ));
                }
            }
            SlotState::Redeemed => {
                if let Some(d) = &sb.redeem {
                    let txid = d.txid.clone();
                    out.push(transfer(
                        Kind::Redeem,
                        None,
                        Some(o_party()),
                        d.value_sat,
                        Some(s.index),
                        &txid,
                        true,
                    ));
                    out.push(transfer(
                        Kind::ChainFee,
                        None,
                        Some(fees_party()),
                        pay - d.value_sat,
                        Some(s.index),
                        &txid,
                        true,
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether slot `s`'s conversion is known to be mined: it was paid
/// through Charge'_i, or swept from Pay'_i.
fn converted_on_chain(state: SlotState, sb: &crate::record::BtcSlot) -> bool {
    match state {
        SlotState::Paid => sb.paid_through_conversion,
        SlotState::Trapped => sb.sweep.as_ref().is_some_and(|w| w.key == "P_R"),
        _ => false,
    }
}

/// What C_i received from its escrow (Charge_i or Charge'_i), if paid.
fn charged(s: &crate::record::Slot) -> Option<u64> {
    let sb = s.btc().ok()?;
    if sb.paid_through_conversion {
        return sb.conversion.as_ref().map(|c| c.charge.value_sat);
    }
    sb.charge.as_ref().map(|c| c.value_sat)
}

/// Net totals per party: paid in, gross received out of escrows, and the
/// fees taken from what it paid or received.
pub fn totals(rec: &JobRecord, b: &BtcJob) -> Vec<common::PartyTotal> {
    let mut out = Vec::new();
    let Some(f) = b.funding.as_ref().filter(|f| f.signed_hex.is_some()) else {
        return out;
    };
    let pay = b.slot_sat();
    let n = rec.slots.len() as u64;
    let (mut o_recv, mut o_fees) = (0, f.fee_sat);
    let mut chain = f.fee_sat;
    let mut swept = vec![0u64; rec.slots.len()];
    for sw in rec
        .slots
        .iter()
        .filter_map(|s| s.btc().ok()?.sweep.as_ref())
    {
        if let Some(j) = sw.by.and_then(|j| swept.get_mut(j as usize)) {
            *j += sw.value_sat;
        }
    }
    for s in &rec.slots {
        let (mut recv, mut fees) = (swept[s.index as usize], 0);
        let Ok(sb) = s.btc() else { continue };
        match (s.state, charged(s), &sb.redeem) {
            (SlotState::Paid, Some(c), _) => {
                recv += pay;
                fees = pay.saturating_sub(c);
            }
            (SlotState::Redeemed, _, Some(d)) => {
                o_recv += pay;
                o_fees += pay - d.value_sat;
                chain += pay - d.value_sat;
            }
            _ => {}
        }
        chain += fees;
        out.push(common::PartyTotal {
            party: Some(calc_party(s.index)),
            paid: Some(amount_sat(b.deposit_sat)),
            received: Some(amount_sat(recv)),
            fees: Some(amount_sat(fees)),
        });
    }
    out.insert(
        0,
        common::PartyTotal {
            party: Some(o_party()),
            paid: Some(amount_sat(n * b.fee_sat)),
            received: Some(amount_sat(o_recv)),
            fees: Some(amount_sat(o_fees)),
        },
    );
    out.push(common::PartyTotal {
        party: Some(fees_party()),
        paid: Some(amount_sat(0)),
        received: Some(amount_sat(chain)),
        fees: Some(amount_sat(0)),
    });
    out
}

/// Rewrites the chain-specific parts of `job` for a Bitcoin record.
pub fn patch(rec: &JobRecord, job: &mut pb::Job) {
    let Ok(b) = rec.btc() else { return };
    job.chain = common::Chain::Bitcoin as i32;
    job.fee = Some(amount_sat(b.fee_sat));
    job.deposit = Some(amount_sat(b.deposit_sat));
    job.payout = Some(height(rec.payout));
    job.result_deadline = Some(height(rec.result_deadline));
    let funding_txid = b
        .funding
        .as_ref()
        .map(|f| f.txid.clone())
        .unwrap_or_default();
    job.chain_details = Some(pb::job::ChainDetails::Bitcoin(pb::BitcoinJob {
        terms: rec
            .escrow_params()
            .ok()
            .map(|p| bapay_daemon::codec::terms_to_proto(&p)),
        message_keys: rec.message_key_bytes(),
        converted_terms: super::convert::converted_params(rec)
            .ok()
            .map(|p| bapay_daemon::codec::terms_to_proto(&p)),
        result_keys: b
            .conversion
            .iter()
            .flat_map(|k| k.keys.iter().filter_map(|h| hex::decode(h).ok()))
            .collect(),
        funding_txid,
        fee_rate_sat_per_vb: b.fee_rate as f64,
        result_deadline_height: rec.result_deadline,
        honest_vbytes_per_calculator: vbytes(rec, None),
        paper_vbytes_per_calculator: vbytes(rec, Some(true)),
    }));
    let signed = b.funding.as_ref().is_some_and(|f| f.signed_hex.is_some());
    let utxo = |u: &bapay_core::escrow::EscrowUtxo| common::EscrowUtxo {
        txid: u.outpoint.txid.to_string(),
        vout: u.outpoint.vout,
        value_sat: u.value.to_sat(),
    };
    for (p, s) in job.slots.iter_mut().zip(&rec.slots) {
        let Some(e) = signed.then(|| rec.slot_escrow(s.index).ok()).flatten() else {
            continue;
        };
        p.pay = Some(utxo(&e.pay));
        p.deposit = e.deposit.as_ref().map(utxo);
        p.pay_prime = s
            .btc()
            .ok()
            .and_then(|b| b.conversion.as_ref())
            .filter(|c| c.signed_hex.is_some())
            .map(|c| common::EscrowUtxo {
                txid: c.txid.clone(),
                vout: 0,
                value_sat: c.value_sat,
            });
    }
    job.transfers = transfers(rec, b);
    job.totals = totals(rec, b);
}

/// Slot 0's honest settlement in vbytes under the job's terms, or with
/// `trap_deposit` forced (0 before every calculator key is known).
fn vbytes(rec: &JobRecord, trap_deposit: Option<bool>) -> u64 {
    let Ok(params) = rec.escrow_params() else {
        return 0;
    };
    let mut t = params.terms().clone();
    if let Some(v) = trap_deposit {
        t.trap_deposit = v;
    }
    bapay_core::escrow::EscrowParams::new(t)
        .and_then(|p| bapay_core::escrow::honest_vbytes(&p, 0))
        .map(|v| v.total())
        .unwrap_or(0)
}
