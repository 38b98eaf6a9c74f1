//! An Ethereum `Offer` (PROTOCOL.md §5, docs/daemons.md §C).
//!
//! Malformed input is INVALID_ARGUMENT naming the field: message keys (one
//! per worker), a missing deployment / job / group, addresses (20 bytes),
//! wei amounts (decimal < 2^128), group / terms / contract job id (32
//! bytes), workers.len() != n, `outsourcer` != job.outsourcer,
//! commitDeadline >= payoutTime. Then, in order, a failed check is a
//! declined answer: deployment chain id / contract not the configured ones
//! (BAD_CONTRACT_TERMS); job.worker or workers[index] not its address
//! (NOT_MY_KEY); job.arbiter zero (BAD_CONTRACT_TERMS); job.arbiter not
//! one of `trusted_arbiters` (UNTRUSTED_PARTY); sk_{m_i}·G not
//! message_keys[index], or the collusion address not the address of the
//! sum of the message keys (MESSAGE_KEY_MISMATCH); the job, its search
//! terms or its id not what `bapay_fairpay::job_for` rebuilds from the
//! terms and m_i (BAD_CONTRACT_TERMS); reward < min_reward_wei
//! (FEE_TOO_LOW); bond > max_bond_wei (DEPOSIT_TOO_HIGH); work > max_work
//! (TOO_MUCH_WORK); the chain's id not the configured one
//! (BAD_CONTRACT_TERMS); a commit deadline closer than
//! `min_seconds_to_commit_deadline` to the latest block time
//! (NOT_ENOUGH_TIME); t more than `max_seconds_to_payout` away
//! (TIMEOUT_TOO_FAR); `trappedTo(group)` != 0 (BAD_CONTRACT_TERMS).
//! The audit (O's on-chain challenge terms) must be the one `job_for`
//! builds (leaf count and kind of m_i), with a window, deposit and sample
//! count within this calculator's limits (BAD_CONTRACT_TERMS).

use alloy::primitives::{Address, B256};
use bapay_core::keys::{aggregate_pubkey, check_own_message_key, message_secret, PublishedKeys};
use bapay_daemon::{codec, ServiceError};
use bapay_fairpay::{job_for, AuditParams, AuditTerms, GroupTerms, JobParams, SearchParams};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::{offer_request::Terms, DeclineReason};

use crate::record::{EthSub, StoredAudit, StoredJob, StoredSearch, SubSettlement};
use crate::service::Calculator;
use crate::settlement::{CommonOffer, Decision};
use crate::Result;

/// A well-formed Ethereum offer.
struct Parsed {
    chain_id: u64,
    contract: Address,
    job: JobParams,
    collusion: Address,
    workers: Vec<Address>,
    search: Option<SearchParams>,
    audit: AuditParams,
    contract_job_id: B256,
}

fn parse_full(req: &pb::OfferRequest, o: &CommonOffer) -> Result<Parsed> {
    let Some(Terms::Ethereum(e)) = &req.terms else {
        return Err(ServiceError::invalid(
            "terms",
            "missing or not the variant of `chain`",
        ));
    };
    if o.keys.len() != o.n as usize {
        return Err(ServiceError::invalid(
            "message_keys",
            format!("{} keys for n = {}", o.keys.len(), o.n),
        ));
    }
    let d = codec::required("ethereum.deployment", e.deployment.as_ref())?;
    let contract = codec::address("ethereum.deployment.contract", &d.contract)?;
    let job = codec::eth_job(
        "ethereum.job",
        codec::required("ethereum.job", e.job.as_ref())?,
    )?;
    if job.commitDeadline >= job.payoutTime {
        return Err(ServiceError::invalid(
            "ethereum.job.commit_deadline",
            "must be below payout_time",
        ));
    }
    if codec::address("outsourcer", &req.outsourcer)? != job.outsourcer {
        return Err(ServiceError::invalid(
            "outsourcer",
            "not the job's outsourcer",
        ));
    }
    let g = codec::required("ethereum.group", e.group.as_ref())?;
    let collusion = codec::address("ethereum.group.collusion_address", &g.collusion_address)?;
    let workers = g
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| codec::address(&format!("ethereum.group.workers[{i}]"), w))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if workers.len() != o.n as usize {
        return Err(ServiceError::invalid(
            "calculator_count",
            format!("{} but the group lists {} workers", o.n, workers.len()),
        ));
    }
    let search = match &e.search_terms {
        None => None,
        Some(s) => Some(SearchParams {
            jobRef: codec::b256("ethereum.search_terms.job_ref", &s.job_ref)?,
            seed: codec::b256("ethereum.search_terms.seed", &s.seed)?,
            lo: s.lo,
            leafCount: s.leaf_count,
            rounds: s.rounds,
            zeroBits: u16::try_from(s.zero_bits).map_err(|_| {
                ServiceError::invalid("ethereum.search_terms.zero_bits", "above 65535")
            })?,
        }),
    };
    let audit = codec::eth_audit(
        "ethereum.audit",
        codec::required("ethereum.audit", e.audit.as_ref())?,
    )?;
    Ok(Parsed {
        chain_id: d.chain_id,
        contract,
        job,
        collusion,
        workers,
        search,
        audit,
        contract_job_id: codec::b256("ethereum.contract_job_id", &e.contract_job_id)?,
    })
}

/// The Ethereum terms of `req`, checked for shape.
pub fn parse(req: &pb::OfferRequest, o: &CommonOffer) -> Result<SubSettlement> {
    let p = parse_full(req, o)?;
    Ok(SubSettlement::Ethereum(EthSub {
        contract: p.contract,
        job: StoredJob::from_params(&p.job),
        contract_job_id: p.contract_job_id,
        commit_tx: None,
        payout_tx: None,
        audit: Some(StoredAudit::from_params(&p.audit)),
        search: p.search.as_ref().map(StoredSearch::from_params),
        respond_tx: None,
        respond_gas_wei: String::new(),
    }))
}

fn bad(detail: impl Into<String>) -> Result<Decision> {
    Ok(Err((DeclineReason::BadContractTerms, detail.into())))
}

fn limit(field: &str, s: &str) -> Result<u128> {
    s.parse()
        .map_err(|e| ServiceError::internal(&format!("config {field}"), e))
}

/// Why the audit terms are outside this calculator's limits: a challenge
/// must leave it time to answer, pay at least its answer's gas, and open
/// few enough leaves for the answer to fit in a block.
fn audit_refused(cfg: &crate::config::EthereumConfig, a: &AuditParams) -> Result<Option<String>> {
    let min_deposit = limit(
        "ethereum.min_challenge_deposit_wei",
        &cfg.min_challenge_deposit_wei,
    )?;
    Ok(if a.window < cfg.min_challenge_window_seconds {
        Some(format!(
            "audit window {} s < min_challenge_window_seconds = {}",
            a.window, cfg.min_challenge_window_seconds
        ))
    } else if a.deposit < min_deposit {
        Some(format!(
            "challenge deposit {} wei < min_challenge_deposit_wei = {min_deposit}",
            a.deposit
        ))
    } else if a.samples > cfg.max_challenge_samples.min(bapay_fairpay::MAX_SAMPLES) {
        Some(format!(
            "audit samples {} > max_challenge_samples = {}",
            a.samples, cfg.max_challenge_samples
        ))
    } else {
        None
    })
}

/// Decides the offer.
pub async fn decide(c: &Calculator, req: &pb::OfferRequest, o: &CommonOffer) -> Result<Decision> {
    let p = parse_full(req, o)?;
    let cfg = &c.config.ethereum;
    let (contract, eth) = c.ethereum()?;
    if p.chain_id != cfg.deployment.chain_id || p.contract != contract {
        return bad(format!(
            "deployment {}:{} is not the configured {}:{contract}",
            p.chain_id, p.contract, cfg.deployment.chain_id
        ));
    }
    let me = c.key.eth_address();
    let index = o.index as usize;
    if p.job.worker != me || p.workers[index] != me {
        return Ok(Err((
            DeclineReason::NotMyKey,
            format!("job.worker / workers[{index}] is not this calculator ({me})"),
        )));
    }
    if p.job.arbiter == Address::ZERO {
        return bad("job.arbiter is zero");
    }
    if !c.config.trusts_arbiter_address(&p.job.arbiter) {
        return Ok(Err((
            DeclineReason::UntrustedParty,
            format!(
                "arbiter {} is not one of this calculator's trusted_arbiters",
                p.job.arbiter
            ),
        )));
    }
    let key_check = (|| {
        let own = message_secret(&req.sub_task, &o.salt, &o.job_random)?;
        let aggregate = aggregate_pubkey(&o.keys)?;
        let published = PublishedKeys {
            keys: o.keys.clone(),
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
    let group = GroupTerms {
        job_id: o.job_id,
        outsourcer: p.job.outsourcer,
        arbiter: p.job.arbiter,
        commit_deadline: p.job.commitDeadline,
        payout_time: p.job.payoutTime,
        reward: p.job.reward,
        bond: p.job.bond,
        collusion: p.collusion,
        workers: p.workers.clone(),
        audit: AuditTerms {
            samples: p.audit.samples,
            window: p.audit.window,
            deposit: p.audit.deposit,
        },
    };
    match job_for(&group, o.index, &o.sub) {
        Err(e) => return bad(format!("the job cannot be built from m_i: {e}")),
        Ok(want) if want.job != p.job => {
            return bad("the job (group or terms) is not the one the terms and m_i give")
        }
        Ok(want) if want.search != p.search => {
            return bad("search_terms do not match m_i and the job reference")
        }
        Ok(want) if want.id != p.contract_job_id => {
            return bad("contract_job_id is not keccak256(abi.encode(job))")
        }
        Ok(want) if want.audit != p.audit => {
            return bad("audit: leaf_count or search do not match m_i")
        }
        Ok(_) => {}
    }
    if let Some(why) = audit_refused(cfg, &p.audit)? {
        return bad(why);
    }
    let min = limit("ethereum.min_reward_wei", &cfg.min_reward_wei)?;
    let max = limit("ethereum.max_bond_wei", &cfg.max_bond_wei)?;
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
    if let Some(why) = crate::work::too_large(&o.sub, c.config.limits.max_work) {
        return Ok(Err((DeclineReason::TooMuchWork, why)));
    }
    let (chain_id, now) = eth.chain_time().await?;
    if chain_id != cfg.deployment.chain_id {
        return bad(format!(
            "the chain-adapter's chain id {chain_id} is not {}",
            cfg.deployment.chain_id
        ));
    }
    if now.saturating_add(cfg.min_seconds_to_commit_deadline) > p.job.commitDeadline {
        return Ok(Err((
            DeclineReason::NotEnoughTime,
            format!(
                "block time {now} + {} s > commit deadline {}",
                cfg.min_seconds_to_commit_deadline, p.job.commitDeadline
            ),
        )));
    }
    let far = p.job.payoutTime.saturating_sub(now);
    if far > cfg.max_seconds_to_payout {
        return Ok(Err((
            DeclineReason::TimeoutTooFar,
            format!(
                "t is {far} s away, more than max_seconds_to_payout = {}",
                cfg.max_seconds_to_payout
            ),
        )));
    }
    if eth.trapped_to(contract, p.job.group).await? != Address::ZERO {
        return bad("the group is already trapped");
    }
    Ok(Ok(()))
}
