//! The API view of an Ethereum job: wei amounts, Unix times, the FairPay
//! job of every slot, and the money report from the stored transactions
//! (O's own gas from its receipts; the calculators' commit, answer and
//! payout, with their gas, as read from the chain once settled: facts.rs).

use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use common::party::Role;
use common::transfer::Kind;

use super::facts;
use super::terms::job_pb;
use crate::record::{JobRecord, SlotState};

pub(super) fn wei(v: u128) -> common::Amount {
    common::Amount {
        value: Some(common::amount::Value::Wei(v.to_string())),
    }
}

fn unix(t: u64) -> common::ChainTime {
    common::ChainTime {
        value: Some(common::chain_time::Value::UnixTime(t)),
    }
}

pub(super) fn party(role: Role, i: Option<u32>) -> Option<common::Party> {
    Some(common::Party {
        role: role as i32,
        calculator_index: i,
    })
}

pub(super) fn transfer(
    kind: Kind,
    from: Option<common::Party>,
    to: Option<common::Party>,
    v: u128,
    i: u32,
    tx: &str,
) -> common::Transfer {
    common::Transfer {
        kind: kind as i32,
        from,
        to,
        amount: Some(wei(v)),
        calculator_index: Some(i),
        tx: tx.to_string(),
        block: 0,
        r#final: true,
    }
}

/// O's gas for one of its transactions.
fn o_gas_paid(gas: u128, i: u32, tx: &str) -> common::Transfer {
    transfer(
        Kind::ChainFee,
        party(Role::Outsourcer, None),
        party(Role::ChainFees, None),
        gas,
        i,
        tx,
    )
}

/// Rewrites the chain-specific parts of `job` for an Ethereum record.
/// The transfers of an on-chain challenge of slot `i`: O's deposit and
/// gas; the deposit to the calculator when it answered; O's claim of an
/// unanswered one. Returns ((O paid, O gas, C received), (O received, O
/// claim gas)).
fn challenge_flows(
    s: &crate::record::Slot,
    se: &crate::record::EthSlot,
    i: u32,
    (reward, bond, deposit): (u128, u128, u128),
    transfers: &mut Vec<common::Transfer>,
) -> ((u128, u128, u128), (u128, u128)) {
    let Some(t) = se
        .challenge_tx
        .as_ref()
        .filter(|_| !se.challenge_gas_wei.is_empty())
    else {
        return ((0, 0, 0), (0, 0));
    };
    let tx = t.hash.to_string();
    let gas: u128 = se.challenge_gas_wei.parse().unwrap_or(0);
    let at = |mut row: common::Transfer| {
        row.block = se.challenge_block;
        row
    };
    transfers.push(at(o_gas_paid(gas, i, &tx)));
    // A reverted challenge (noted, never retried) cost gas and moved no deposit.
    if se.challenge_reverted {
        return ((0, gas, 0), (0, 0));
    }
    transfers.push(at(transfer(
        Kind::Challenge,
        party(Role::Outsourcer, None),
        None,
        deposit,
        i,
        &tx,
    )));
    // Answered: closed without O's claim (then paid, or judged by T from
    // the answer), or O's claim reverted because the answer came first.
    let pending = s.state == SlotState::Disputed
        && s.dispute
            .as_ref()
            .is_some_and(super::challenge::is_challenge);
    let answered = s.state == SlotState::DisputeRejected || (se.claim_tx.is_none() && !pending);
    if answered {
        transfers.push(transfer(
            Kind::ChallengeAnswered,
            None,
            party(Role::Calculator, Some(i)),
            deposit,
            i,
            "",
        ));
        return ((deposit, gas, deposit), (0, 0));
    }
    let Some(c) = se
        .claim_tx
        .as_ref()
        .filter(|_| !se.claim_gas_wei.is_empty())
    else {
        return ((deposit, gas, 0), (0, 0));
    };
    let ctx = c.hash.to_string();
    let cgas: u128 = se.claim_gas_wei.parse().unwrap_or(0);
    let got = match s.state {
        SlotState::Redeemed => reward + bond + deposit,
        _ => deposit,
    };
    transfers.push(transfer(
        Kind::UnansweredClaim,
        None,
        party(Role::Outsourcer, None),
        got,
        i,
        &ctx,
    ));
    transfers.push(o_gas_paid(cgas, i, &ctx));
    ((deposit, gas, 0), (got, cgas))
}

pub fn patch(rec: &JobRecord, job: &mut pb::Job) {
    let Ok(e) = rec.eth() else { return };
    let reward: u128 = e.reward_wei.parse().unwrap_or(0);
    let bond: u128 = e.bond_wei.parse().unwrap_or(0);
    job.chain = common::Chain::Ethereum as i32;
    job.fee = Some(wei(reward));
    job.deposit = Some(wei(bond));
    job.payout = Some(unix(rec.payout));
    job.result_deadline = Some(unix(rec.result_deadline));
    job.chain_details = Some(pb::job::ChainDetails::Ethereum(pb::EthereumJobInfo {
        deployment: Some(common::EthereumDeployment {
            chain_id: e.chain_id,
            contract: e
                .contract
                .parse::<alloy::primitives::Address>()
                .map(|a| a.to_vec())
                .unwrap_or_default(),
        }),
        group: Some(common::EthereumGroup {
            collusion_address: e
                .collusion_address
                .parse::<alloy::primitives::Address>()
                .map(|a| a.to_vec())
                .unwrap_or_default(),
            workers: rec
                .workers()
                .unwrap_or_default()
                .iter()
                .map(|a| a.to_vec())
                .collect(),
        }),
        message_keys: rec.message_key_bytes(),
    }));
    let (mut transfers, mut o_paid, mut o_recv, mut o_gas) = (Vec::new(), 0u128, 0u128, 0u128);
    let mut totals = Vec::new();
    for (k, s) in rec.slots.iter().enumerate() {
        let i = k as u32;
        if let Some(p) = job.slots.get_mut(k) {
            if let Ok(se) = s.eth() {
                p.ethereum_address = se
                    .worker
                    .parse::<alloy::primitives::Address>()
                    .map(|a| a.to_vec())
                    .unwrap_or_default();
            }
            if let Ok(j) = rec.slot_job(k) {
                p.contract_job_id = j.id.to_vec();
            }
            p.ethereum_job = job_pb(rec, k).ok();
        }
        let Ok(se) = s.eth() else { continue };
        let (mut c_paid, mut c_recv) = (0u128, 0u128);
        if let Some(t) = se.open_tx.as_ref().filter(|_| !se.open_gas_wei.is_empty()) {
            let tx = t.hash.to_string();
            let gas: u128 = se.open_gas_wei.parse().unwrap_or(0);
            for mut row in [
                transfer(
                    Kind::Open,
                    party(Role::Outsourcer, None),
                    None,
                    reward,
                    i,
                    &tx,
                ),
                o_gas_paid(gas, i, &tx),
            ] {
                row.block = se.open_block;
                transfers.push(row);
            }
            o_paid += reward;
            o_gas += gas;
        }
        // A challenge that went through proves the bond was posted, even
        // if O never saw the commit transaction.
        let challenged = !se.challenge_gas_wei.is_empty() && !se.challenge_reverted;
        let commit = facts::calc_tx(se, "commit");
        if !se.commit_tx.is_empty() || challenged || commit.is_some() {
            let tx = match (commit, se.commit_tx.as_str()) {
                (Some(c), _) => c.hash.clone(),
                (None, "") => String::new(),
                (None, h) => format!("0x{h}"),
            };
            let mut t = transfer(
                Kind::Bond,
                party(Role::Calculator, Some(i)),
                None,
                bond,
                i,
                &tx,
            );
            t.block = commit.map_or(0, |c| c.block);
            transfers.push(t);
            c_paid += bond;
        }
        let deposit = rec.slot_job(k).map(|j| j.audit.deposit).unwrap_or(0);
        let (challenged, claimed) =
            challenge_flows(s, se, i, (reward, bond, deposit), &mut transfers);
        o_paid += challenged.0;
        o_gas += challenged.1 + claimed.1;
        o_recv += claimed.0;
        c_recv += challenged.2;
        match s.state {
            SlotState::Redeemed if se.claim_tx.is_some() => {}
            SlotState::Paid => {
                let p = facts::calc_tx(se, "payout");
                let mut t = transfer(
                    Kind::Payout,
                    None,
                    party(Role::Calculator, Some(i)),
                    reward + bond,
                    i,
                    p.map_or("", |p| p.hash.as_str()),
                );
                t.block = p.map_or(0, |p| p.block);
                transfers.push(t);
                c_recv += reward + bond;
            }
            SlotState::Redeemed if se.dispute_tx.is_some() => {
                let tx = se
                    .dispute_tx
                    .as_ref()
                    .map(|t| t.hash.to_string())
                    .unwrap_or_default();
                let gas: u128 = se.dispute_gas_wei.parse().unwrap_or(0);
                transfers.push(transfer(
                    Kind::DisputeWon,
                    None,
                    party(Role::Outsourcer, None),
                    reward + bond,
                    i,
                    &tx,
                ));
                transfers.push(o_gas_paid(gas, i, &tx));
                o_recv += reward + bond;
                o_gas += gas;
            }
            SlotState::Redeemed => {
                // T's judge transaction (records from before it was kept:
                // T's dispute id).
                let tx = match se.judge_tx.as_str() {
                    "" => s.dispute.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
                    h => h.to_string(),
                };
                // judge needs a committed job: the bond is always there.
                let won = reward + bond;
                let mut row = transfer(
                    Kind::Judge,
                    None,
                    party(Role::Outsourcer, None),
                    won,
                    i,
                    &tx,
                );
                row.block = se.judge_block;
                transfers.push(row);
                o_recv += won;
            }
            SlotState::Trapped => {
                // The trap takes the reward; a posted bond goes back to its
                // worker at t (payout).
                transfers.push(transfer(
                    Kind::TrapClaim,
                    None,
                    party(Role::Colluder, None),
                    reward,
                    i,
                    "",
                ));
                if !se.commit_tx.is_empty() {
                    transfers.push(transfer(
                        Kind::Payout,
                        None,
                        party(Role::Calculator, Some(i)),
                        bond,
                        i,
                        "",
                    ));
                    c_recv += bond;
                }
            }
            SlotState::Refunded => {
                let tx = se
                    .refund_tx
                    .as_ref()
                    .map(|t| t.hash.to_string())
                    .unwrap_or_default();
                let gas: u128 = se.refund_gas_wei.parse().unwrap_or(0);
                transfers.push(transfer(
                    Kind::Refund,
                    None,
                    party(Role::Outsourcer, None),
                    reward,
                    i,
                    &tx,
                ));
                transfers.push(o_gas_paid(gas, i, &tx));
                o_recv += reward;
                o_gas += gas;
            }
            _ => {}
        }
        let c_fees = facts::calc_fee_rows(se, i, &mut transfers);
        totals.push(common::PartyTotal {
            party: party(Role::Calculator, Some(i)),
            paid: Some(wei(c_paid)),
            received: Some(wei(c_recv)),
            fees: Some(wei(c_fees)),
        });
    }
    totals.insert(
        0,
        common::PartyTotal {
            party: party(Role::Outsourcer, None),
            paid: Some(wei(o_paid)),
            received: Some(wei(o_recv)),
            fees: Some(wei(o_gas)),
        },
    );
    job.transfers = transfers;
    job.totals = totals;
}
