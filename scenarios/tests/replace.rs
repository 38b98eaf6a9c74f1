//! A declined pool calculator is replaced from the pool (issue 10 item 6),
//! on real regtest bitcoind and anvil through the real daemons. C_0 trusts
//! no arbiter the job names, so it declines every offer; O replaces it
//! with C_2, the pool's spare, deals the job again and re-offers C_1, and
//! the job completes on each chain. C_0's balances do not move; C_2 is
//! paid slot 0's fee, exactly as the report says.

mod common;

use std::time::Duration;

use anyhow::{ensure, Result};
use bapay_proto::common::v1::party::Role;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{Net, NetOptions};
use common::eth::{eth_balances, eth_job, ETH, REWARD};
use common::*;

const WAIT: Duration = Duration::from_secs(240);
/// A key C_0 trusts instead of T: the generator's x coordinate.
const NOT_T: &str = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

fn from_pool(mut req: pb::SubmitJobRequest) -> pb::SubmitJobRequest {
    req.calculators = Some(pb::submit_job_request::Calculators::PoolCount(2));
    req
}

fn replaced(net: &Net, job: &pb::Job) -> Result<()> {
    let report = bapay_cli::report::render(job);
    ensure!(state(job) == pb::JobState::Completed, "{report}");
    ensure!(
        job.slots[0].endpoint == net.calculators[2].url()
            && job.slots[1].endpoint == net.calculators[1].url(),
        "slot 0 is the spare C_2, slot 1 still C_1: {report}"
    );
    ensure!(
        (0..2).all(|i| slot(job, i) == pb::SlotState::Paid),
        "{report}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_pool_calculator_is_replaced_on_both_chains() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 3,
        poll_ms: 200,
        ethereum: true,
        calculator_env: vec![(0, "BAPAY_CALCULATOR__TRUSTED_ARBITERS".into(), NOT_T.into())],
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let addrs = net.fund_eth(100 * ETH).await?;
    let keys = keys(&net).await?;

    // Bitcoin.
    let before = balances(&net, &keys).await?;
    let id = net
        .submit(from_pool(search_job(&net, "replace-btc", 2, 30)))
        .await?;
    let job = net.advance(&id, WAIT, settled).await?;
    replaced(&net, &job)?;
    let after = balances(&net, &keys).await?;
    ensure!(after[1] == before[1], "C_0 declined: its balance moved");
    for (slot, c) in [(0u32, 2usize), (1, 1)] {
        let reported = net_of(&job, Role::Calculator, Some(slot));
        ensure!(
            after[c + 1] - before[c + 1] == reported && reported > 0,
            "C_{c} (slot {slot}) got {} sat, the report says {reported}",
            after[c + 1] - before[c + 1]
        );
    }
    ensure!(
        after[0] - before[0] == net_of(&job, Role::Outsourcer, None),
        "O's balance vs its report"
    );

    // Ethereum (addrs: O, T, C_0, C_1, C_2).
    let before = eth_balances(&net, &addrs).await?;
    let id = net
        .submit(from_pool(eth_job(&net, "replace-eth", 2)))
        .await?;
    let job = net.advance(&id, WAIT, settled).await?;
    replaced(&net, &job)?;
    let after = eth_balances(&net, &addrs).await?;
    ensure!(after[2] == before[2], "C_0 declined: its balance moved");
    for c in [1usize, 2] {
        let d = after[2 + c] - before[2 + c];
        ensure!(
            d > 0 && d < REWARD as i128,
            "C_{c} earned {d}: the reward minus its gas"
        );
    }
    Ok(())
}
