//! An Ethereum job's terms (SubmitJob, PROTOCOL.md §5) and the offer that
//! carries them: reward and bond in wei, t and the commit deadline in Unix
//! seconds against the latest block's time, T's address from its GetInfo.
//! The FairPay job of each slot is `bapay_fairpay::job_for` of these terms
//! (`JobRecord::slot_job`), the rule the calculator checks the offer with.

use bapay_daemon::ServiceError;
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use crate::record::{EthJob, JobRecord, JobSettlement};
use crate::service::Outsourcer;
use crate::settlement::Terms;
use crate::Result;

fn wei(field: &str, a: Option<&common::Amount>) -> Result<u128> {
    match a.and_then(|a| a.value.as_ref()) {
        Some(common::amount::Value::Wei(w)) => Ok(bapay_daemon::codec::wei(field, w)?),
        Some(common::amount::Value::Sat(_)) => Err(ServiceError::invalid(
            field,
            "a sat amount on an Ethereum job",
        )),
        None => Err(ServiceError::invalid(field, "missing")),
    }
}

fn unix(field: &str, t: Option<&common::ChainTime>, now: u64) -> Result<Option<u64>> {
    use common::chain_time::Value;
    match t.and_then(|t| t.value.as_ref()) {
        None => Ok(None),
        Some(Value::UnixTime(u)) => Ok(Some(*u)),
        Some(Value::SecondsFromNow(s)) => Ok(Some(now.saturating_add(*s))),
        Some(Value::Height(_) | Value::BlocksFromNow(_)) => Err(ServiceError::invalid(
            field,
            "a block height on an Ethereum job (use unix_time or seconds_from_now)",
        )),
    }
}

/// The Ethereum terms of a job.
pub async fn terms(
    o: &Outsourcer,
    req: &pb::SubmitJobRequest,
    timeouts: &pb::Timeouts,
    _n: usize,
) -> Result<Terms> {
    let reward = wei("fee", req.fee.as_ref())?;
    let bond = wei("deposit", req.deposit.as_ref())?;
    if reward == 0 {
        return Err(ServiceError::invalid(
            "fee",
            "the reward must be at least 1 wei",
        ));
    }
    if req.fee_rate_sat_per_vb.is_some() {
        return Err(ServiceError::invalid("fee_rate_sat_per_vb", "Bitcoin only"));
    }
    if req.trap_deposit {
        return Err(ServiceError::invalid(
            "trap_deposit",
            "Bitcoin only (FairPay's trap never reaches a bond)",
        ));
    }
    let (sender, contract) = o.eth()?;
    let (chain_id, now) = sender.chain_time().await?;
    if chain_id != o.config.ethereum.chain_id {
        return Err(ServiceError::precondition(format!(
            "chain: the adapter's chain id is {chain_id}, configured {}",
            o.config.ethereum.chain_id
        )));
    }
    let t = unix("timeouts.payout", timeouts.payout.as_ref(), now)?
        .ok_or_else(|| ServiceError::invalid("timeouts.payout", "missing"))?;
    let deadline = unix(
        "timeouts.result_deadline",
        timeouts.result_deadline.as_ref(),
        now,
    )?;
    let w = bapay_core::timing::window(
        now,
        t,
        deadline,
        o.config.ethereum_margin_seconds,
        60,
        u64::MAX,
    )
    .map_err(|e| ServiceError::invalid("timeouts", e))?;
    let a = o
        .arbiter()?
        .get_info(arb::GetInfoRequest {})
        .await
        .map_err(|s| ServiceError::unavailable(format!("arbiter: {}", s.message())))?
        .into_inner();
    if a.ethereum_address.len() != 20 || !a.chains.contains(&(common::Chain::Ethereum as i32)) {
        return Err(ServiceError::precondition(
            "chain: the arbiter does not serve Ethereum",
        ));
    }
    let arbiter = alloy::primitives::Address::from_slice(&a.ethereum_address);
    let window = o.config.ethereum_challenge_window_seconds;
    if window == 0 {
        return Err(ServiceError::precondition(
            "config ethereum_challenge_window_seconds must be at least 1",
        ));
    }
    // A slot found silent at the result deadline must still be challengeable:
    // FairPay takes a challenge only while now + 2 windows <= t.
    if w.payout.saturating_sub(w.result_deadline) < window.saturating_mul(2) {
        return Err(ServiceError::invalid(
            "timeouts.result_deadline",
            format!(
                "must be at least 2 x ethereum_challenge_window_seconds = {} s before t \
                 (time for an on-chain challenge of a silent calculator)",
                window.saturating_mul(2)
            ),
        ));
    }
    let deposit: u128 = o
        .config
        .ethereum_challenge_deposit_wei
        .parse()
        .map_err(|e| {
            ServiceError::precondition(format!("config ethereum_challenge_deposit_wei: {e}"))
        })?;
    Ok(Terms {
        payout: w.payout,
        deadline: w.result_deadline,
        tip: now,
        part: JobSettlement::Ethereum(EthJob {
            chain_id,
            contract: contract.to_string(),
            outsourcer: sender.address().to_string(),
            arbiter: arbiter.to_string(),
            arbiter_key: hex::encode(&a.bitcoin_key),
            collusion_address: String::new(),
            reward_wei: reward.to_string(),
            bond_wei: bond.to_string(),
            challenge_window_s: window,
            challenge_deposit_wei: deposit.to_string(),
        }),
    })
}

fn deployment(rec: &JobRecord) -> Result<common::EthereumDeployment> {
    let e = rec.eth()?;
    Ok(common::EthereumDeployment {
        chain_id: e.chain_id,
        contract: e.contract()?.to_vec(),
    })
}

/// The wire form of slot `i`'s FairPay job.
pub fn job_pb(rec: &JobRecord, i: usize) -> Result<common::EthereumJob> {
    Ok(bapay_daemon::codec::eth_job_to_proto(&rec.slot_job(i)?.job))
}

/// The Offer of slot `i`.
pub fn offer_request(rec: &JobRecord, i: u32) -> Result<calc::OfferRequest> {
    let e = rec.eth()?;
    let slot = rec.slot_job(i as usize)?;
    let s = &rec.slots[i as usize];
    Ok(calc::OfferRequest {
        job_id: rec.id_bytes()?.to_vec(),
        job_token: s.token(),
        chain: common::Chain::Ethereum as i32,
        calculator_count: rec.slots.len() as u32,
        index: i,
        sub_task: s.sub_task_bytes()?,
        sub_task_salt: s.salt()?.to_vec(),
        outsourcer_key: Vec::new(),
        outsourcer_signature: Vec::new(),
        job_random: rec.job_random()?,
        message_keys: rec.message_key_bytes(),
        outsourcer: slot.job.outsourcer.to_vec(),
        terms: Some(calc::offer_request::Terms::Ethereum(calc::EthereumOffer {
            deployment: Some(deployment(rec)?),
            job: Some(bapay_daemon::codec::eth_job_to_proto(&slot.job)),
            group: Some(common::EthereumGroup {
                collusion_address: e.collusion()?.to_vec(),
                workers: rec.workers()?.iter().map(|w| w.to_vec()).collect(),
            }),
            search_terms: slot.search.as_ref().map(|s| common::EthereumSearchTerms {
                job_ref: s.jobRef.to_vec(),
                seed: s.seed.to_vec(),
                lo: s.lo,
                leaf_count: s.leafCount,
                rounds: s.rounds,
                zero_bits: u32::from(s.zeroBits),
            }),
            contract_job_id: slot.id.to_vec(),
            audit: Some(bapay_daemon::codec::eth_audit_to_proto(&slot.audit)),
        })),
    })
}

/// T's Ethereum settlement of a dispute about slot `i`.
pub fn dispute_settlement(rec: &JobRecord, i: u32) -> Result<arb::dispute_request::Settlement> {
    let key = rec.slots[i as usize].key.clone().unwrap_or_default();
    Ok(arb::dispute_request::Settlement::Ethereum(
        arb::EthereumDispute {
            deployment: Some(deployment(rec)?),
            job: Some(job_pb(rec, i as usize)?),
            calculator_key: crate::record::unhex("calculator key", &key)?,
        },
    ))
}
