//! The stored job as the API shows it (`bapay.outsourcer.v1.Job`), with the
//! money report: every transfer the job caused so far, derived from the
//! stored transactions, and net totals per party. An escrow output is not a
//! party: a transfer into Pay_i has no `to`, one out of it no `from`.

use bapay_core::escrow::EscrowParams;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use common::transfer::Kind;
use prost::Message;

use crate::codec;
use crate::driver;
use crate::record::{Event, JobRecord, SlotState};

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

/// Terms of the escrow as the proto carries them.
pub fn terms_proto(p: &EscrowParams) -> common::BitcoinEscrowTerms {
    let t = p.terms();
    common::BitcoinEscrowTerms {
        outsourcer: t.outsourcer.serialize().to_vec(),
        arbiter: t.arbiter.serialize().to_vec(),
        calculators: t
            .calculators
            .iter()
            .map(|k| k.serialize().to_vec())
            .collect(),
        collusion_key: t.collusion_key.serialize().to_vec(),
        fee_sat: t.fee.to_sat(),
        deposit_sat: t.deposit.to_sat(),
        timeout_height: t.timeout,
        threshold: None,
    }
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
        amount: Some(codec::amount_sat(sat)),
        calculator_index: index,
        tx: tx.to_string(),
        block: 0,
        r#final: fin,
    }
}

/// Every transfer of the job so far (Bitcoin).
pub fn transfers(rec: &JobRecord) -> Vec<common::Transfer> {
    let mut out = Vec::new();
    let Some(f) = rec.funding.as_ref().filter(|f| f.signed_hex.is_some()) else {
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
        n * rec.fee_sat,
        None,
        &f.txid,
        escrowed,
    ));
    for s in &rec.slots {
        out.push(transfer(
            Kind::EscrowFunding,
            Some(calc_party(s.index)),
            None,
            rec.deposit_sat,
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
    let pay = rec.fee_sat + rec.deposit_sat;
    for s in &rec.slots {
        match s.state {
            SlotState::Paid => {
                if let Some(c) = &s.charge {
                    out.push(transfer(
                        Kind::Charge,
                        None,
                        Some(calc_party(s.index)),
                        c.value_sat,
                        Some(s.index),
                        &c.txid,
                        true,
                    ));
                    out.push(transfer(
                        Kind::ChainFee,
                        None,
                        Some(fees_party()),
                        pay - c.value_sat,
                        Some(s.index),
                        &c.txid,
                        true,
                    ));
                }
            }
            SlotState::Redeemed => {
                if let Some(d) = &s.dispute {
                    let txid = d.redeem_txid.clone().unwrap_or_default();
                    out.push(transfer(
                        Kind::Redeem,
                        None,
                        Some(o_party()),
                        d.redeem_value_sat,
                        Some(s.index),
                        &txid,
                        true,
                    ));
                    out.push(transfer(
                        Kind::ChainFee,
                        None,
                        Some(fees_party()),
                        pay - d.redeem_value_sat,
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

/// Net totals per party: paid in, gross received out of escrows, and the
/// fees taken from what it paid or received.
pub fn totals(rec: &JobRecord) -> Vec<common::PartyTotal> {
    let mut out = Vec::new();
    let Some(f) = rec.funding.as_ref().filter(|f| f.signed_hex.is_some()) else {
        return out;
    };
    let pay = rec.fee_sat + rec.deposit_sat;
    let n = rec.slots.len() as u64;
    let (mut o_recv, mut o_fees) = (0, f.fee_sat);
    let mut chain = f.fee_sat;
    for s in &rec.slots {
        let (mut recv, mut fees) = (0, 0);
        match (s.state, &s.charge, &s.dispute) {
            (SlotState::Paid, Some(c), _) => {
                recv = pay;
                fees = pay - c.value_sat;
            }
            (SlotState::Redeemed, _, Some(d)) => {
                o_recv += pay;
                o_fees += pay - d.redeem_value_sat;
                chain += pay - d.redeem_value_sat;
            }
            _ => {}
        }
        chain += fees;
        out.push(common::PartyTotal {
            party: Some(calc_party(s.index)),
            paid: Some(codec::amount_sat(rec.deposit_sat)),
            received: Some(codec::amount_sat(recv)),
            fees: Some(codec::amount_sat(fees)),
        });
    }
    out.insert(
        0,
        common::PartyTotal {
            party: Some(o_party()),
            paid: Some(codec::amount_sat(n * rec.fee_sat)),
            received: Some(codec::amount_sat(o_recv)),
            fees: Some(codec::amount_sat(o_fees)),
        },
    );
    out.push(common::PartyTotal {
        party: Some(fees_party()),
        paid: Some(codec::amount_sat(0)),
        received: Some(codec::amount_sat(chain)),
        fees: Some(codec::amount_sat(0)),
    });
    out
}

fn slot(rec: &JobRecord, s: &crate::record::Slot) -> pb::CalculatorSlot {
    let commitment = s
        .commitment_hex
        .as_ref()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| common::SignedCommitment::decode(b.as_slice()).ok());
    let pay = rec
        .funding
        .as_ref()
        .filter(|f| f.signed_hex.is_some())
        .map(|f| common::EscrowUtxo {
            txid: f.txid.clone(),
            vout: s.index,
            value_sat: rec.fee_sat + rec.deposit_sat,
        });
    pb::CalculatorSlot {
        index: s.index,
        endpoint: s.endpoint.clone(),
        bitcoin_key: s
            .key
            .as_ref()
            .and_then(|k| hex::decode(k).ok())
            .unwrap_or_default(),
        ethereum_address: Vec::new(),
        state: s.state as i32,
        state_reason: s.reason.clone(),
        sub_task_hash: bapay_core::commitment::sha256(
            &hex::decode(&s.sub_task_hex).unwrap_or_default(),
        )
        .to_vec(),
        commitment,
        pay,
        pay_prime: None,
        ethereum_job: None,
        contract_job_id: Vec::new(),
        dispute_id: s.dispute.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
        updated_unix_ms: s.updated_ms,
    }
}

/// The API view of a stored job.
pub fn job(rec: &JobRecord) -> pb::Job {
    let mut job = bitcoin_job(rec);
    if rec.chain == crate::record::ChainKind::Ethereum {
        crate::eth::view::patch(rec, &mut job);
    }
    job
}

fn bitcoin_job(rec: &JobRecord) -> pb::Job {
    let terms = driver::params(rec).ok().map(|p| terms_proto(&p));
    pb::Job {
        job_id: hex::decode(&rec.job_id).unwrap_or_default(),
        request_id: rec.request_id.clone(),
        chain: common::Chain::Bitcoin as i32,
        state: rec.state as i32,
        state_reason: rec.state_reason.clone(),
        task: Some(codec::task_to_proto(&rec.task)),
        calculator_count: rec.slots.len() as u32,
        fee: Some(codec::amount_sat(rec.fee_sat)),
        deposit: Some(codec::amount_sat(rec.deposit_sat)),
        payout: Some(codec::height_to_proto(rec.payout_height)),
        result_deadline: Some(codec::height_to_proto(rec.result_deadline_height)),
        sampling: Some(pb::Sampling {
            p: rec.p,
            q: rec.q,
            m: rec.m,
            achieved: rec.q.powi(rec.m as i32),
        }),
        arbiter_endpoint: rec.arbiter_url.clone(),
        chain_details: Some(pb::job::ChainDetails::Bitcoin(pb::BitcoinJob {
            terms,
            message_keys: rec
                .message_keys
                .iter()
                .filter_map(|k| hex::decode(k).ok())
                .collect(),
            converted_terms: None,
            result_keys: Vec::new(),
            funding_txid: rec
                .funding
                .as_ref()
                .map(|f| f.txid.clone())
                .unwrap_or_default(),
            fee_rate_sat_per_vb: rec.fee_rate as f64,
            result_deadline_height: rec.result_deadline_height,
        })),
        slots: rec.slots.iter().map(|s| slot(rec, s)).collect(),
        output: rec.output.as_ref().map(codec::output_to_proto),
        transfers: transfers(rec),
        totals: totals(rec),
        tip: rec.tip,
        created_unix_ms: rec.created_ms,
        updated_unix_ms: rec.updated_ms,
    }
}

/// The API view of a stored event.
pub fn event(e: &Event, job: pb::Job) -> pb::JobEvent {
    pb::JobEvent {
        sequence: e.seq,
        at_unix_ms: e.at_ms,
        state: e.state as i32,
        calculator_index: e.slot,
        slot_state: e.slot_state.map(|s| s as i32).unwrap_or(0),
        description: e.description.clone(),
        tx: e.tx.clone(),
        job: Some(job),
    }
}
