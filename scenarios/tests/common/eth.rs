//! Ethereum job requests and balances the Ethereum scenarios share.

use bapay_proto::common::v1 as c;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{eth, Net};

/// 1 ether in wei.
pub const ETH: u128 = 1_000_000_000_000_000_000;
/// The reward d of each FairPay job.
pub const REWARD: u128 = ETH / 10;
/// The bond g of each FairPay job.
pub const BOND: u128 = ETH / 100;

/// [`super::search_job`] on Ethereum: reward and bond in wei, t 15 minutes
/// away.
pub fn eth_job(net: &Net, id: &str, n: usize) -> pb::SubmitJobRequest {
    let mut r = super::search_job(net, id, n, 0);
    r.chain = c::Chain::Ethereum as i32;
    r.fee = Some(c::Amount {
        value: Some(c::amount::Value::Wei(REWARD.to_string())),
    });
    r.deposit = Some(c::Amount {
        value: Some(c::amount::Value::Wei(BOND.to_string())),
    });
    r.fee_rate_sat_per_vb = None;
    r.timeouts = Some(pb::Timeouts {
        payout: Some(c::ChainTime {
            value: Some(c::chain_time::Value::SecondsFromNow(900)),
        }),
        result_deadline: None,
        offer_timeout_ms: 0,
    });
    r
}

/// Balances of `addrs` on anvil, wei.
pub async fn eth_balances(net: &Net, addrs: &[Vec<u8>]) -> anyhow::Result<Vec<i128>> {
    let mut out = Vec::new();
    for a in addrs {
        out.push(eth::balance(&net.adapter.url(), a).await? as i128);
    }
    Ok(out)
}

/// A party's net wei in the job's money report (received - paid - fees).
pub fn wei_net(
    job: &pb::Job,
    role: bapay_proto::common::v1::party::Role,
    index: Option<u32>,
) -> i128 {
    let w = |a: Option<&c::Amount>| match a.and_then(|a| a.value.as_ref()) {
        Some(c::amount::Value::Wei(w)) => w.parse::<i128>().unwrap_or(0),
        _ => 0,
    };
    job.totals
        .iter()
        .find(|t| {
            t.party
                .as_ref()
                .is_some_and(|p| p.role == role as i32 && p.calculator_index == index)
        })
        .map(|t| w(t.received.as_ref()) - w(t.paid.as_ref()) - w(t.fees.as_ref()))
        .unwrap_or(0)
}
