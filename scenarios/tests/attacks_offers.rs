//! Attacks through the offer (issue 9, attacks 1 and 5, and the timeout
//! bound), on real regtest bitcoind and anvil through the real daemons:
//! - O names an arbiter of its own: once escrowed, it would sign Redeem_i
//!   (Bitcoin) or `judge` (Ethereum) and take every fee and deposit. Every
//!   calculator declines it (UNTRUSTED_PARTY): nothing is locked, nobody's
//!   balance moves.
//! - O asks for the paper's variant (the trap reaches the deposits): with O
//!   holding every message, O plus one sybil could take every deposit.
//!   Declined unless the calculator is configured for it.
//! - O sets t years away: the deposit would be locked that long for the
//!   price of d. Declined (TIMEOUT_TOO_FAR) on both chains.

mod common;

use std::time::Duration;

use anyhow::{ensure, Result};
use bapay_proto::common::v1 as c;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{Net, NetOptions};
use common::eth::{eth_balances, eth_job, ETH};
use common::*;

const WAIT: Duration = Duration::from_secs(120);

/// Runs `req` to its end and checks it failed at the offer, every
/// calculator declining with `reason`, and that no balance moved on
/// either chain.
async fn declined(
    net: &Net,
    req: pb::SubmitJobRequest,
    reason: &str,
    keys: &[Vec<u8>],
    addrs: &[Vec<u8>],
) -> Result<()> {
    let btc_before = balances(net, keys).await?;
    let eth_before = eth_balances(net, addrs).await?;
    let id = net.submit(req).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    let report = bapay_cli::report::render(&job);
    ensure!(state(&job) == pb::JobState::Failed, "{report}");
    ensure!(
        job.state_reason.contains(reason),
        "the attacker's step is refused with {reason}: {}",
        job.state_reason
    );
    ensure!(
        job.slots
            .iter()
            .any(|s| s.state == pb::SlotState::Declined as i32),
        "{report}"
    );
    ensure!(
        balances(net, keys).await? == btc_before,
        "a Bitcoin balance moved"
    );
    ensure!(
        eth_balances(net, addrs).await? == eth_before,
        "an Ethereum balance moved"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn o_cannot_name_an_arbiter_of_its_own() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 2,
        poll_ms: 200,
        ethereum: true,
        rogue_arbiter: true,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let addrs = net.fund_eth(100 * ETH).await?;
    let keys = keys(&net).await?;
    declined(
        &net,
        search_job(&net, "rogue-btc", 2, 30),
        "UntrustedParty",
        &keys,
        &addrs,
    )
    .await?;
    declined(
        &net,
        eth_job(&net, "rogue-eth", 2),
        "UntrustedParty",
        &keys,
        &addrs,
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_on_deposits_and_far_timeouts_are_declined() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 2,
        poll_ms: 200,
        ethereum: true,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let addrs = net.fund_eth(100 * ETH).await?;
    let keys = keys(&net).await?;
    let mut paper = search_job(&net, "paper-variant", 2, 30);
    paper.trap_deposit = true;
    declined(&net, paper, "UntrustedParty", &keys, &addrs).await?;

    // t about a year of blocks away (the default bound is 2016 blocks).
    let far = search_job(&net, "far-btc", 2, 52_000);
    declined(&net, far, "TimeoutTooFar", &keys, &addrs).await?;
    let mut far = eth_job(&net, "far-eth", 2);
    far.timeouts = Some(pb::Timeouts {
        payout: Some(c::ChainTime {
            value: Some(c::chain_time::Value::SecondsFromNow(5 * 365 * 86_400)),
        }),
        result_deadline: None,
        offer_timeout_ms: 0,
    });
    declined(&net, far, "TimeoutTooFar", &keys, &addrs).await?;

    // The same net still runs an honest job: the refusals changed nothing.
    let id = net.submit(search_job(&net, "honest-after", 2, 30)).await?;
    let job = net.advance(&id, Duration::from_secs(240), settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    Ok(())
}
