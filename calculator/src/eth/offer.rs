//! `Offer` with `EthereumOffer` (PROTOCOL.md §5, docs/daemons.md §C).
//!
//! Malformed input is INVALID_ARGUMENT naming the field: job id / token /
//! R (32 bytes), n = 0 or index >= n, m_i, message keys (33 bytes, one per
//! worker), a missing deployment / job / group, addresses (20 bytes), wei
//! amounts (decimal < 2^128), group / terms / contract job id (32 bytes),
//! workers.len() != n, `outsourcer` != job.outsourcer, commitDeadline >=
//! payoutTime; but a calculator without Ethereum declines every Ethereum
//! offer UNSUPPORTED first (not stored). Then, in order, a failed check is
//! a declined answer: deployment chain id / contract
//! not the configured ones, or the chain's id not the configured one
//! (BAD_CONTRACT_TERMS); job.worker or workers[index] not its address
//! (NOT_MY_KEY); job.arbiter zero (BAD_CONTRACT_TERMS); sk_{m_i}·G not
//! message_keys[index], or the collusion address not the address of the
//! sum of the message keys (MESSAGE_KEY_MISMATCH); job.group !=
//! keccak(abi.encode(collusion, workers)), job.terms not the search terms
//! hash (search: terms = m_i's seed, lo, hi - lo, rounds, bits and
//! jobRef = `bapay_daemon::eth::job_ref(job_id, index)`) or
//! `opaque_terms("linear", job_ref)`, or the contract job id not
//! keccak(abi.encode(job)) (BAD_CONTRACT_TERMS); reward < min_reward_wei
//! (FEE_TOO_LOW); bond > max_bond_wei (DEPOSIT_TOO_HIGH); work > max_work
//! (TOO_MUCH_WORK); latest block time + min_seconds_to_commit_deadline >
//! commitDeadline (NOT_ENOUGH_TIME); `trappedTo(group)` != 0
//! (BAD_CONTRACT_TERMS). The answer is stored before it is returned, with
//! the same idempotency as the Bitcoin offer.

use alloy::primitives::{Address, B256};
use bapay_core::keys::{aggregate_pubkey, check_own_message_key, message_secret, PublishedKeys};
use bapay_core::task::SubTask;
use bapay_fairpay::job::{group_id, job_id as contract_id, opaque_terms, search_terms};
use bapay_fairpay::job_ref;
use bapay_fairpay::SearchParams;
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::DeclineReason;

use super::record::{self, EthSubTask, StoredJob};
use crate::codec;
use crate::error::{CalculatorError, Result};
use crate::record::State;
use crate::service::Calculator;
use bapay_daemon::codec::{address, b256, wei};

type Decision = std::result::Result<(), (DeclineReason, String)>;

/// A well-formed Ethereum offer.
struct Parsed {
    job_id: [u8; 32],
    job_random: [u8; 32],
    sub: SubTask,
    keys: Vec<bitcoin::secp256k1::PublicKey>,
    chain_id: u64,
    contract: Address,
    job: StoredJob,
    collusion: Address,
    workers: Vec<Address>,
    search: Option<SearchParams>,
    contract_job_id: B256,
}

/// Handles an Ethereum Offer (`offer_hash`: SHA256 of the request, hex).
pub async fn handle(
    c: &Calculator,
    req: &pb::OfferRequest,
    e: &pb::EthereumOffer,
    offer_hash: String,
) -> Result<pb::OfferResponse> {
    if c.eth_deployment().is_none() {
        // Not stored: nothing about the offer was checked.
        return Ok(pb::OfferResponse {
            accepted: false,
            decline_reason: DeclineReason::Unsupported as i32,
            decline_detail: "this calculator serves no Ethereum jobs (no ethereum.contract)".into(),
            funding: None,
            expires_unix_ms: 0,
        });
    }
    let p = parse(req, e)?;
    let job_hex = hex::encode(p.job_id);
    let _guard = c.lock.lock().await;
    if crate::record::load(c.store.as_ref(), &job_hex)?.is_some() {
        return Err(CalculatorError::AlreadyExists(job_hex));
    }
    let version = match record::load(c.store.as_ref(), &job_hex)? {
        Some((rec, _)) if rec.offer_hash == offer_hash => return Ok(response(&rec)),
        Some((rec, v)) if rec.state == State::Declined => Some(v),
        Some(_) => return Err(CalculatorError::AlreadyExists(job_hex)),
        None => None,
    };
    let mut rec = EthSubTask {
        job_id: job_hex.clone(),
        offer_hash,
        job_token: hex::encode(&req.job_token),
        index: req.index,
        sub_task_hex: hex::encode(&req.sub_task),
        job_random: hex::encode(p.job_random),
        contract: p.contract,
        job: p.job.clone(),
        contract_job_id: p.contract_job_id,
        state: State::Declined,
        state_reason: String::new(),
        decline_reason: 0,
        work_requested: false,
        result_hex: None,
        commitment: None,
        commit_tx: None,
        payout_tx: None,
        updated_unix_ms: 0,
    };
    match decide(c, req, &p).await? {
        Err((reason, detail)) => {
            rec.decline_reason = reason as i32;
            rec.state_reason = detail;
        }
        Ok(()) => rec.state = State::Accepted,
    }
    rec.updated_unix_ms = c.now_ms();
    record::save(c.store.as_ref(), &rec, version)?;
    tracing::info!(job = %job_hex, state = ?rec.state, reason = %rec.state_reason, "Ethereum offer answered");
    Ok(response(&rec))
}

fn parse(req: &pb::OfferRequest, e: &pb::EthereumOffer) -> Result<Parsed> {
    let job_id = codec::bytes32("job_id", &req.job_id)?;
    codec::bytes32("job_token", &req.job_token)?;
    let n = req.calculator_count;
    if n == 0 {
        return Err(CalculatorError::invalid("calculator_count", "n = 0"));
    }
    if req.index >= n {
        return Err(CalculatorError::invalid("index", "index >= n"));
    }
    let sub = codec::sub_task("sub_task", &req.sub_task)?;
    let job_random = codec::bytes32("job_random", &req.job_random)?;
    let keys = req
        .message_keys
        .iter()
        .enumerate()
        .map(|(i, k)| codec::pubkey33(&format!("message_keys[{i}]"), k))
        .collect::<Result<Vec<_>>>()?;
    if keys.len() != n as usize {
        return Err(CalculatorError::invalid(
            "message_keys",
            format!("{} keys for n = {n}", keys.len()),
        ));
    }
    let d = e
        .deployment
        .as_ref()
        .ok_or_else(|| CalculatorError::invalid("ethereum.deployment", "missing"))?;
    let contract = address("ethereum.deployment.contract", &d.contract)?;
    let j = e
        .job
        .as_ref()
        .ok_or_else(|| CalculatorError::invalid("ethereum.job", "missing"))?;
    let job = StoredJob {
        outsourcer: address("ethereum.job.outsourcer", &j.outsourcer)?,
        worker: address("ethereum.job.worker", &j.worker)?,
        arbiter: address("ethereum.job.arbiter", &j.arbiter)?,
        commit_deadline: j.commit_deadline,
        payout_time: j.payout_time,
        reward: wei("ethereum.job.reward_wei", &j.reward_wei)?,
        bond: wei("ethereum.job.bond_wei", &j.bond_wei)?,
        group: b256("ethereum.job.group", &j.group)?,
        terms: b256("ethereum.job.terms", &j.terms)?,
    };
    if job.commit_deadline >= job.payout_time {
        return Err(CalculatorError::invalid(
            "ethereum.job.commit_deadline",
            "must be below payout_time",
        ));
    }
    if address("outsourcer", &req.outsourcer)? != job.outsourcer {
        return Err(CalculatorError::invalid(
            "outsourcer",
            "not the job's outsourcer",
        ));
    }
    let g = e
        .group
        .as_ref()
        .ok_or_else(|| CalculatorError::invalid("ethereum.group", "missing"))?;
    let collusion = address("ethereum.group.collusion_address", &g.collusion_address)?;
    let workers = g
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| address(&format!("ethereum.group.workers[{i}]"), w))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if workers.len() != n as usize {
        return Err(CalculatorError::invalid(
            "calculator_count",
            format!("{n} but the group lists {} workers", workers.len()),
        ));
    }
    let search = match &e.search_terms {
        None => None,
        Some(s) => Some(SearchParams {
            jobRef: b256("ethereum.search_terms.job_ref", &s.job_ref)?,
            seed: b256("ethereum.search_terms.seed", &s.seed)?,
            lo: s.lo,
            leafCount: s.leaf_count,
            rounds: s.rounds,
            zeroBits: u16::try_from(s.zero_bits).map_err(|_| {
                CalculatorError::invalid("ethereum.search_terms.zero_bits", "above 256")
            })?,
        }),
    };
    Ok(Parsed {
        job_id,
        job_random,
        sub,
        keys,
        chain_id: d.chain_id,
        contract,
        job,
        collusion,
        workers,
        search,
        contract_job_id: b256("ethereum.contract_job_id", &e.contract_job_id)?,
    })
}

fn bad(detail: impl Into<String>) -> Result<Decision> {
    Ok(Err((DeclineReason::BadContractTerms, detail.into())))
}

async fn decide(c: &Calculator, req: &pb::OfferRequest, p: &Parsed) -> Result<Decision> {
    let cfg = &c.config.ethereum;
    let Some((contract, eth)) = c.eth_deployment() else {
        return Ok(Err((
            DeclineReason::Unsupported,
            "this calculator serves no Ethereum jobs (no ethereum.contract)".into(),
        )));
    };
    if p.chain_id != cfg.chain_id || p.contract != contract {
        return bad(format!(
            "deployment {}:{} is not the configured {}:{contract}",
            p.chain_id, p.contract, cfg.chain_id
        ));
    }
    let me = c.key.eth_address();
    let index = req.index as usize;
    if p.job.worker != me || p.workers[index] != me {
        return Ok(Err((
            DeclineReason::NotMyKey,
            format!("job.worker / workers[{index}] is not this calculator ({me})"),
        )));
    }
    if p.job.arbiter == Address::ZERO {
        return bad("job.arbiter is zero");
    }
    let key_check = (|| {
        let own = message_secret(&req.sub_task, &p.job_random)?;
        let aggregate = aggregate_pubkey(&p.keys)?;
        let published = PublishedKeys {
            keys: p.keys.clone(),
            aggregate,
        };
        check_own_message_key(&c.secp, &own, index, &published)?;
        Ok::<_, bapay_core::Error>(aggregate)
    })();
    match key_check {
        Err(e) => return Ok(Err((DeclineReason::MessageKeyMismatch, e.to_string()))),
        Ok(agg) if bapay_daemon::keys::eth_address(&agg) != p.collusion => {
            return Ok(Err((
                DeclineReason::MessageKeyMismatch,
                "collusion address is not the address of the sum of the message keys".into(),
            )))
        }
        Ok(_) => {}
    }
    if group_id(p.collusion, &p.workers) != p.job.group {
        return bad("job.group is not keccak256(abi.encode(collusion, workers))");
    }
    if let Err(why) = check_terms(p, req.index) {
        return bad(why);
    }
    if contract_id(&p.job.params()) != p.contract_job_id {
        return bad("contract_job_id is not keccak256(abi.encode(job))");
    }
    let min: u128 = parse_limit("ethereum.min_reward_wei", &cfg.min_reward_wei)?;
    let max: u128 = parse_limit("ethereum.max_bond_wei", &cfg.max_bond_wei)?;
    if p.job.reward < min {
        return Ok(Err((
            DeclineReason::FeeTooLow,
            format!("reward {} wei < {min} wei", p.job.reward),
        )));
    }
    if p.job.bond > max {
        return Ok(Err((
            DeclineReason::DepositTooHigh,
            format!("bond {} wei > {max} wei", p.job.bond),
        )));
    }
    let work = codec::work(&p.sub);
    if work > c.config.limits.max_work {
        return Ok(Err((
            DeclineReason::TooMuchWork,
            format!("work {work} > {}", c.config.limits.max_work),
        )));
    }
    let (chain_id, now) = eth.chain_time().await?;
    if chain_id != cfg.chain_id {
        return bad(format!(
            "the chain-adapter's chain id {chain_id} is not {}",
            cfg.chain_id
        ));
    }
    if now.saturating_add(cfg.min_seconds_to_commit_deadline) > p.job.commit_deadline {
        return Ok(Err((
            DeclineReason::NotEnoughTime,
            format!(
                "block time {now} + {} s > commit deadline {}",
                cfg.min_seconds_to_commit_deadline, p.job.commit_deadline
            ),
        )));
    }
    if eth.trapped_to(contract, p.job.group).await? != Address::ZERO {
        return bad("the group is already trapped");
    }
    Ok(Ok(()))
}

/// job.terms binds m_i (search) or O's job reference (other kinds).
fn check_terms(p: &Parsed, index: u32) -> std::result::Result<(), String> {
    let reference = job_ref(&p.job_id, index);
    match (&p.sub, &p.search) {
        (SubTask::Search(s), Some(t)) => {
            let want = SearchParams {
                jobRef: reference,
                seed: B256::from(s.seed.0),
                lo: s.lo,
                leafCount: s.hi.saturating_sub(s.lo),
                rounds: s.rounds,
                zeroBits: t.zeroBits,
            };
            if *t != want || u32::from(t.zeroBits) != s.difficulty_bits {
                return Err("search_terms do not match m_i and the job reference".into());
            }
            match search_terms(t) {
                Ok(h) if h == p.job.terms => Ok(()),
                Ok(_) => Err("job.terms is not the search terms hash".into()),
                Err(e) => Err(format!("search terms: {e}")),
            }
        }
        (SubTask::Search(_), None) => Err("search job without search_terms".into()),
        (SubTask::Linear(_), None) => {
            if opaque_terms("linear", reference) == p.job.terms {
                Ok(())
            } else {
                Err("job.terms is not opaque_terms(\"linear\", job_ref)".into())
            }
        }
        (SubTask::Linear(_), Some(_)) => Err("search_terms on a linear job".into()),
    }
}

fn parse_limit(field: &str, s: &str) -> Result<u128> {
    s.parse()
        .map_err(|e| CalculatorError::Internal(format!("config {field}: {e}")))
}

/// The answer stored in `rec`.
pub fn response(rec: &EthSubTask) -> pb::OfferResponse {
    let declined = rec.state == State::Declined;
    pb::OfferResponse {
        accepted: !declined,
        decline_reason: if declined { rec.decline_reason } else { 0 },
        decline_detail: if declined {
            rec.state_reason.clone()
        } else {
            String::new()
        },
        funding: None,
        expires_unix_ms: 0,
    }
}
