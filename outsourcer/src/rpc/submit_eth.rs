//! SubmitJob's Ethereum terms (PROTOCOL.md §5): reward and bond in wei,
//! t and the commit deadline in Unix seconds against the latest block's
//! time, T's address from its GetInfo.

use bapay_proto::arbiter::v1 as arb;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use super::submit_job::Terms;
use crate::error::{OutsourcerError, Result};
use crate::record::EthInfo;
use crate::service::Outsourcer;

fn wei(field: &str, a: Option<&common::Amount>) -> Result<u128> {
    match a.and_then(|a| a.value.as_ref()) {
        Some(common::amount::Value::Wei(w)) => Ok(bapay_daemon::codec::wei(field, w)?),
        Some(common::amount::Value::Sat(_)) => Err(OutsourcerError::invalid(
            field,
            "a sat amount on an Ethereum job",
        )),
        None => Err(OutsourcerError::invalid(field, "missing")),
    }
}

fn unix(field: &str, t: Option<&common::ChainTime>, now: u64) -> Result<Option<u64>> {
    use common::chain_time::Value;
    match t.and_then(|t| t.value.as_ref()) {
        None => Ok(None),
        Some(Value::UnixTime(u)) => Ok(Some(*u)),
        Some(Value::SecondsFromNow(s)) => Ok(Some(now.saturating_add(*s))),
        Some(Value::Height(_) | Value::BlocksFromNow(_)) => Err(OutsourcerError::invalid(
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
) -> Result<Terms> {
    let reward = wei("fee", req.fee.as_ref())?;
    let bond = wei("deposit", req.deposit.as_ref())?;
    if reward == 0 {
        return Err(OutsourcerError::invalid(
            "fee",
            "the reward must be at least 1 wei",
        ));
    }
    if req.fee_rate_sat_per_vb.is_some() {
        return Err(OutsourcerError::invalid(
            "fee_rate_sat_per_vb",
            "Bitcoin only",
        ));
    }
    let (sender, contract) = o.eth()?;
    let info = sender
        .chain_info()
        .await
        .map_err(|e| OutsourcerError::Unavailable(format!("chain-adapter: {e}")))?;
    if info.chain_id != o.config.ethereum.chain_id {
        return Err(OutsourcerError::FailedPrecondition(format!(
            "chain: the adapter's chain id is {}, configured {}",
            info.chain_id, o.config.ethereum.chain_id
        )));
    }
    let now = info.block_timestamp;
    let t = unix("timeouts.payout", timeouts.payout.as_ref(), now)?
        .ok_or_else(|| OutsourcerError::invalid("timeouts.payout", "missing"))?;
    let margin = o.config.ethereum_margin_seconds;
    if t <= now + margin + 60 {
        return Err(OutsourcerError::invalid(
            "timeouts.payout",
            format!("t = {t} must be after the latest block time {now} + margin {margin} + 60 s (deadline in the past or too close)"),
        ));
    }
    let deadline = unix(
        "timeouts.result_deadline",
        timeouts.result_deadline.as_ref(),
        now,
    )?
    .unwrap_or(t - margin);
    if deadline <= now || deadline > t - margin {
        return Err(OutsourcerError::invalid(
            "timeouts.result_deadline",
            format!(
                "{deadline} must be after the latest block time {now} and at most t - margin = {}",
                t - margin
            ),
        ));
    }
    let a = o
        .arbiter()?
        .get_info(arb::GetInfoRequest {})
        .await
        .map_err(|s| OutsourcerError::Unavailable(format!("arbiter: {}", s.message())))?
        .into_inner();
    if a.ethereum_address.len() != 20 || !a.chains.contains(&(common::Chain::Ethereum as i32)) {
        return Err(OutsourcerError::FailedPrecondition(
            "chain: the arbiter does not serve Ethereum".into(),
        ));
    }
    let arbiter = alloy::primitives::Address::from_slice(&a.ethereum_address);
    Ok(Terms {
        fee_sat: 0,
        deposit_sat: 0,
        t,
        deadline,
        rate: 0,
        arbiter_key: hex::encode(&a.bitcoin_key),
        tip: now,
        eth: Some(EthInfo {
            chain_id: info.chain_id,
            contract: contract.to_string(),
            outsourcer: sender.address().to_string(),
            arbiter: arbiter.to_string(),
            collusion_address: String::new(),
            commit_deadline: deadline,
            payout_time: t,
            reward_wei: reward.to_string(),
            bond_wei: bond.to_string(),
        }),
    })
}
