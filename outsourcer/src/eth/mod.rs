//! The Ethereum path of O (PROTOCOL.md §5): one FairPay job per calculator,
//! built deterministically from the stored terms ([`job_params`]); the
//! offer that carries it; `open(job)` with the reward (signed, stored, then
//! sent: [`fund`]); the on-chain root check of each result; disputes
//! through T, who sends `judge` itself ([`follow_dispute`]); and
//! settlement ([`settle`]): `refund` of a job never committed, and the
//! calculator's own `payout` at t seen as the job leaving the contract.
//! A wrong search leaf is disputed without T ([`trustless`]:
//! `disputeSearch`); any other fault goes to T. Not yet: `claimTrapped` /
//! trap detection.

pub mod trustless;
pub mod view;

pub use trustless::dispute_search;

use alloy::primitives::{Address, B256, U256};
use bapay_core::task::SubTask;
use bapay_daemon::eth::{self as deth, SignedTx};
use bapay_fairpay::job::{group_id, job_id, opaque_terms, search_terms};
use bapay_fairpay::{JobParams, SearchParams};
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;

use crate::driver;
use crate::error::{OutsourcerError, Result};
use crate::record::{EthInfo, JobRecord, JobState, Slot, SlotState};
use crate::service::{set_slot, Note, Outsourcer};

fn info(rec: &JobRecord) -> Result<&EthInfo> {
    rec.eth
        .as_ref()
        .ok_or_else(|| OutsourcerError::Internal("Ethereum job without terms".into()))
}

fn addr(what: &str, s: &str) -> Result<Address> {
    s.parse().map_err(|e| OutsourcerError::internal(what, e))
}

fn amount(what: &str, s: &str) -> Result<u128> {
    s.parse().map_err(|e| OutsourcerError::internal(what, e))
}

/// The workers in index order.
fn workers(rec: &JobRecord) -> Result<Vec<Address>> {
    rec.slots
        .iter()
        .map(|s| match &s.eth {
            Some(e) => addr("worker", &e.worker),
            None => Err(OutsourcerError::Internal(format!(
                "calculator {} address unknown",
                s.index
            ))),
        })
        .collect()
}

pub(crate) fn search(rec: &JobRecord, i: usize) -> Result<Option<SearchParams>> {
    let sub = rec.slots[i].sub_task()?;
    Ok(match sub {
        SubTask::Search(s) => Some(SearchParams {
            jobRef: bapay_fairpay::job_ref(&rec.id_bytes()?, i as u32),
            seed: B256::from(s.seed.0),
            lo: s.lo,
            leafCount: s.hi - s.lo,
            rounds: s.rounds,
            zeroBits: s.difficulty_bits as u16,
        }),
        SubTask::Linear(_) => None,
    })
}

/// Slot `i`'s FairPay job.
pub fn job_params(rec: &JobRecord, i: usize) -> Result<JobParams> {
    let e = info(rec)?;
    let workers = workers(rec)?;
    let terms = match search(rec, i)? {
        Some(s) => search_terms(&s).map_err(|e| OutsourcerError::internal("search terms", e))?,
        None => opaque_terms("linear", bapay_fairpay::job_ref(&rec.id_bytes()?, i as u32)),
    };
    Ok(JobParams {
        outsourcer: addr("outsourcer", &e.outsourcer)?,
        worker: workers[i],
        arbiter: addr("arbiter", &e.arbiter)?,
        commitDeadline: e.commit_deadline,
        payoutTime: e.payout_time,
        reward: amount("reward", &e.reward_wei)?,
        bond: amount("bond", &e.bond_wei)?,
        group: group_id(addr("collusion", &e.collusion_address)?, &workers),
        terms,
    })
}

/// The wire form of a job.
pub fn job_pb(job: &JobParams) -> common::EthereumJob {
    bapay_daemon::codec::eth_job_to_proto(job)
}

fn deployment(e: &EthInfo) -> Result<common::EthereumDeployment> {
    Ok(common::EthereumDeployment {
        chain_id: e.chain_id,
        contract: addr("contract", &e.contract)?.to_vec(),
    })
}

/// The Offer of slot `i`.
pub fn offer_request(rec: &JobRecord, i: u32) -> Result<calc::OfferRequest> {
    let e = info(rec)?;
    let job = job_params(rec, i as usize)?;
    let s = &rec.slots[i as usize];
    Ok(calc::OfferRequest {
        job_id: driver::id_bytes(rec),
        job_token: driver::token(rec, i as usize),
        chain: common::Chain::Ethereum as i32,
        calculator_count: rec.slots.len() as u32,
        index: i,
        sub_task: JobRecord::unhex("sub task", &s.sub_task_hex)?,
        job_random: JobRecord::unhex("R", &rec.job_random)?,
        message_keys: rec
            .message_keys
            .iter()
            .filter_map(|k| hex::decode(k).ok())
            .collect(),
        outsourcer: job.outsourcer.to_vec(),
        terms: Some(calc::offer_request::Terms::Ethereum(calc::EthereumOffer {
            deployment: Some(deployment(e)?),
            job: Some(job_pb(&job)),
            group: Some(common::EthereumGroup {
                collusion_address: addr("collusion", &e.collusion_address)?.to_vec(),
                workers: workers(rec)?.iter().map(|w| w.to_vec()).collect(),
            }),
            search_terms: search(rec, i as usize)?.map(|s| common::EthereumSearchTerms {
                job_ref: s.jobRef.to_vec(),
                seed: s.seed.to_vec(),
                lo: s.lo,
                leaf_count: s.leafCount,
                rounds: s.rounds,
                zero_bits: u32::from(s.zeroBits),
            }),
            contract_job_id: job_id(&job).to_vec(),
        })),
    })
}

/// The result's root must be what FairPay holds for the job.
pub async fn check_committed(o: &Outsourcer, rec: &JobRecord, i: u32, root: &[u8]) -> Result<()> {
    let (sender, contract) = o.eth()?;
    let id = job_id(&job_params(rec, i as usize)?);
    let on_chain = sender
        .fairpay_state(contract, id)
        .await
        .map_err(|e| OutsourcerError::Unavailable(format!("chain-adapter: {e}")))?;
    if on_chain.as_slice() != root {
        return Err(OutsourcerError::invalid(
            "commitment.root",
            format!("FairPay holds {on_chain} for the job, the signed result another root"),
        ));
    }
    Ok(())
}

/// Signs `data` to FairPay with `value`, stores it with `store`, sends it
/// (or resends the stored one) and returns the receipt.
pub(crate) async fn send_stored(
    o: &Outsourcer,
    rec: &JobRecord,
    stored: Option<SignedTx>,
    value: U256,
    data: Vec<u8>,
    store: impl FnOnce(&mut JobRecord, SignedTx) -> Vec<Note>,
) -> Result<deth::Receipt> {
    let (sender, contract) = o.eth()?;
    let eth_err = |e: deth::EthError| OutsourcerError::Unavailable(format!("ethereum: {e}"));
    let tx = match stored {
        Some(t) => t,
        None => {
            let t = sender
                .sign_next(contract, value, data)
                .await
                .map_err(eth_err)?;
            let t2 = t.clone();
            o.update(&rec.job_id, move |r| Ok(store(r, t2))).await?;
            t
        }
    };
    sender.send_signed(&tx).await.map_err(eth_err)
}

/// FUNDING: `open(job_i)` with the reward for every slot (stored first);
/// every job opened → COMPUTING.
pub async fn fund(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    let e = info(rec)?;
    let reward = U256::from(amount("reward", &e.reward_wei)?);
    for s in &rec.slots {
        if s.state != SlotState::Accepted {
            continue;
        }
        let i = s.index;
        let job = job_params(rec, i as usize)?;
        let stored = s.eth.as_ref().and_then(|e| e.open_tx.clone());
        let receipt = send_stored(
            o,
            rec,
            stored,
            reward,
            deth::open_calldata(&job),
            move |r, t| {
                if let Some(e) = r.slots[i as usize].eth.as_mut() {
                    e.open_tx = Some(t);
                }
                vec![Note::slot(
                    i,
                    format!("calculator {i}: open(job) signed and stored"),
                )]
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
            if let Some(e) = r.slots[i as usize].eth.as_mut() {
                e.open_gas_wei = gas;
            }
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

/// T's Ethereum settlement of a dispute about slot `i`.
pub fn dispute_settlement(rec: &JobRecord, i: u32) -> Result<arb::dispute_request::Settlement> {
    let e = info(rec)?;
    let key = rec.slots[i as usize].key.clone().unwrap_or_default();
    Ok(arb::dispute_request::Settlement::Ethereum(
        arb::EthereumDispute {
            deployment: Some(deployment(e)?),
            job: Some(job_pb(&job_params(rec, i as usize)?)),
            calculator_key: JobRecord::unhex("calculator key", &key)?,
        },
    ))
}

/// DISPUTED: T sends `judge` itself; O follows the dispute until T reports
/// it JUDGED (→ REDEEMED) or EXPIRED (→ DISPUTE_REJECTED).
pub async fn follow_dispute(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let Some(d) = &s.dispute else { return Ok(()) };
    let got = o
        .arbiter()?
        .get_dispute(arb::GetDisputeRequest {
            dispute_id: d.id.clone(),
        })
        .await;
    let d = match got {
        Ok(r) => r.into_inner().dispute.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(slot = s.index, error = %e.message(), "GetDispute failed; retrying");
            return Ok(());
        }
    };
    let i = s.index;
    let tx = hex::encode(&d.judge_tx_hash);
    match arb::DisputeState::try_from(d.state) {
        Ok(arb::DisputeState::Judged) => {
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(
                    r,
                    i,
                    SlotState::Redeemed,
                    "judged: O got the reward and the bond",
                )
                .tx(tx)])
            })
            .await?;
        }
        Ok(arb::DisputeState::Expired | arb::DisputeState::Rejected) => {
            let why = format!("the arbiter's judge did not go through: {}", d.detail);
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(r, i, SlotState::DisputeRejected, &why)])
            })
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// AWAITING_PAYOUT: a job never committed is refunded once the commit
/// deadline has passed (`refund`, stored first); from t on, a job that left
/// the contract without a judge was paid out to its calculator.
pub async fn settle(o: &Outsourcer, rec: &JobRecord, now: u64) -> Result<()> {
    let e = info(rec)?;
    let (sender, contract) = o.eth()?;
    for s in &rec.slots {
        if s.state.is_terminal() {
            continue;
        }
        let i = s.index;
        let job = job_params(rec, i as usize)?;
        let id = job_id(&job);
        let uncommitted = s.commitment_hex.is_none();
        if uncommitted && now >= e.commit_deadline {
            let stored = s.eth.as_ref().and_then(|e| e.refund_tx.clone());
            let r = send_stored(
                o,
                rec,
                stored,
                U256::ZERO,
                deth::refund_calldata(&job),
                move |r, t| {
                    if let Some(e) = r.slots[i as usize].eth.as_mut() {
                        e.refund_tx = Some(t);
                    }
                    vec![Note::slot(
                        i,
                        format!("calculator {i}: refund(job) signed and stored"),
                    )]
                },
            )
            .await?;
            let gas = r.fee().to_string();
            let hash = r.hash.to_string();
            o.update(&rec.job_id, move |rr| {
                if let Some(e) = rr.slots[i as usize].eth.as_mut() {
                    e.refund_gas_wei = gas;
                }
                Ok(vec![set_slot(
                    rr,
                    i,
                    SlotState::Refunded,
                    "never committed: reward refunded",
                )
                .tx(hash)])
            })
            .await?;
            continue;
        }
        let trapped = sender
            .fairpay_trapped_to(contract, job.group)
            .await
            .map_err(|e| OutsourcerError::Unavailable(format!("chain-adapter: {e}")))?;
        if trapped != Address::ZERO {
            let state = sender
                .fairpay_state(contract, id)
                .await
                .map_err(|e| OutsourcerError::Unavailable(format!("chain-adapter: {e}")))?;
            if state == B256::ZERO {
                let why = format!("collusion: claimed through the trap by {trapped}");
                o.update(&rec.job_id, |r| {
                    Ok(vec![set_slot(r, i, SlotState::Trapped, &why)])
                })
                .await?;
            }
            continue;
        }
        if now >= e.payout_time {
            let state = sender
                .fairpay_state(contract, id)
                .await
                .map_err(|e| OutsourcerError::Unavailable(format!("chain-adapter: {e}")))?;
            if state == B256::ZERO {
                o.update(&rec.job_id, |r| {
                    Ok(vec![set_slot(
                        r,
                        i,
                        SlotState::Paid,
                        "paid out at t: reward and bond to the calculator",
                    )])
                })
                .await?;
            }
        }
    }
    o.update(&rec.job_id, |r| {
        if r.state == JobState::AwaitingPayout && r.slots.iter().all(|s| s.state.is_terminal()) {
            r.state = JobState::Completed;
            return Ok(vec![Note::job("every FairPay job settled; job complete")]);
        }
        Ok(vec![])
    })
    .await?;
    Ok(())
}
