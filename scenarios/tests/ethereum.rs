//! The Ethereum scenarios of PROTOCOL.md §5, end to end on real anvil with
//! FairPay deployed from the committed artifact and every daemon as its own
//! process: honest, a lazy calculator judged, an outsourcer that
//! disappears after opening the jobs, and restarts.

mod common;

use std::time::Duration;

use anyhow::{ensure, Result};
use bapay_proto::common::v1 as c;
use bapay_proto::common::v1::party::Role;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{eth, Net, NetOptions};
use common::eth::{eth_balances as balances, eth_job, wei_net, BOND, ETH, REWARD};
use common::*;

const WAIT: Duration = Duration::from_secs(240);
async fn net(calculators: usize, lazy: Vec<usize>) -> Result<(Net, Vec<Vec<u8>>)> {
    net_with(NetOptions {
        calculators,
        lazy,
        ..Default::default()
    })
    .await
}

async fn net_with(opts: NetOptions) -> Result<(Net, Vec<Vec<u8>>)> {
    let net = Net::start(NetOptions {
        poll_ms: 200,
        ethereum: true,
        ..opts
    })
    .await?;
    let addrs = net.fund_eth(100 * ETH).await?;
    Ok((net, addrs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_ethereum_job_pays_reward_and_bond_back() -> Result<()> {
    let (net, addrs) = net(2, vec![]).await?;
    let before = balances(&net, &addrs).await?;
    let id = net.submit(eth_job(&net, "eth-honest", 2)).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!((0..2).all(|i| slot(&job, i) == pb::SlotState::Paid));
    let hits = match job.output.as_ref().and_then(|o| o.output.as_ref()) {
        Some(c::task_output::Output::Search(s)) => s.hits.clone(),
        _ => anyhow::bail!("no output"),
    };
    ensure!(hits == expected_hits());
    let after = balances(&net, &addrs).await?;
    // O: exactly n rewards plus its own gas, as its report says.
    ensure!(
        after[0] - before[0] == wei_net(&job, Role::Outsourcer, None),
        "O's balance vs report"
    );
    ensure!(after[0] - before[0] < -(2 * REWARD as i128));
    for i in 0..2 {
        let d = after[2 + i] - before[2 + i];
        ensure!(
            d > 0 && d < REWARD as i128,
            "C{i} earned {d}: the reward minus its gas"
        );
        // To the wei, the calculator's gas (commit, payout) included.
        ensure!(
            d == wei_net(&job, Role::Calculator, Some(i as u32)),
            "C{i}'s balance vs report: {}",
            bapay_cli::report::render(&job)
        );
    }
    // Every row links to the chain: a transaction and its block.
    for t in &job.transfers {
        ensure!(
            !t.tx.is_empty() || t.kind == c::transfer::Kind::ChainFee as i32,
            "a row without its transaction: {t:?}"
        );
        ensure!(t.block > 0, "a row without its block: {t:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_ethereum_calculator_is_caught_and_o_gets_reward_and_bond() -> Result<()> {
    let (net, addrs) = net(2, vec![1]).await?;
    let before = balances(&net, &addrs).await?;
    let id = net.submit(eth_job(&net, "eth-lazy", 2)).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(slot(&job, 0) == pb::SlotState::Paid);
    ensure!(
        slot(&job, 1) == pb::SlotState::Redeemed,
        "{}",
        bapay_cli::report::render(&job)
    );
    let after = balances(&net, &addrs).await?;
    ensure!(
        after[0] - before[0] == wei_net(&job, Role::Outsourcer, None),
        "O's balance vs report"
    );
    // The lazy calculator lost its bond (and paid gas for its commit).
    ensure!(after[3] - before[3] < -(BOND as i128));
    ensure!(
        after[3] - before[3] == wei_net(&job, Role::Calculator, Some(1)),
        "C1's balance vs report: {}",
        bapay_cli::report::render(&job)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trustless_search_dispute_with_the_arbiter_switched_off() -> Result<()> {
    let (mut net, addrs) = net(2, vec![1]).await?;
    let before = balances(&net, &addrs).await?;
    let id = net.submit(eth_job(&net, "eth-trustless", 2)).await?;
    // T answered SubmitJob (its address is in the jobs), then goes away.
    net.advance(&id, WAIT, |j| state(j) >= pb::JobState::Offering)
        .await?;
    net.arbiter.kill();
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        slot(&job, 1) == pb::SlotState::Redeemed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(
        job.transfers
            .iter()
            .any(|t| t.kind == c::transfer::Kind::DisputeWon as i32),
        "won on chain by disputeSearch"
    );
    let after = balances(&net, &addrs).await?;
    ensure!(
        after[0] - before[0] == wei_net(&job, Role::Outsourcer, None),
        "O's balance vs report"
    );
    ensure!(
        after[3] - before[3] < -(BOND as i128),
        "the lazy calculator lost its bond"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_linear_row_is_judged_by_the_arbiter() -> Result<()> {
    let (net, addrs) = net_with(NetOptions {
        calculators: 2,
        wrong_row: vec![0],
        ..Default::default()
    })
    .await?;
    let before = balances(&net, &addrs).await?;
    let mut req = eth_job(&net, "eth-linear", 2);
    req.task = Some(c::TaskSpec {
        params: Some(c::task_spec::Params::Linear(c::LinearParams {
            rows: 32,
            cols: 8,
            matrix_seed: vec![4; 32],
            x: (1..=8).map(|v| v * 1_000_003).collect(),
        })),
    });
    let id = net.submit(req).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        slot(&job, 0) == pb::SlotState::Redeemed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(
        slot(&job, 1) == pb::SlotState::Paid,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(!job.slots[0].dispute_id.is_empty(), "T's dispute id");
    // T's judge transaction itself, with its block.
    ensure!(
        job.transfers
            .iter()
            .any(|t| t.kind == c::transfer::Kind::Judge as i32
                && t.tx.starts_with("0x")
                && t.tx.len() == 66
                && t.block > 0),
        "judged by T: {}",
        bapay_cli::report::render(&job)
    );
    let after = balances(&net, &addrs).await?;
    ensure!(
        after[0] - before[0] == wei_net(&job, Role::Outsourcer, None),
        "O's balance vs report"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_ethereum_dispute_is_rejected_and_the_calculator_paid_at_t() -> Result<()> {
    let (net, addrs) = net_with(NetOptions {
        calculators: 1,
        false_dispute: true,
        ..Default::default()
    })
    .await?;
    let before = balances(&net, &addrs).await?;
    let id = net.submit(eth_job(&net, "eth-false-dispute", 1)).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    // No leaf is wrong, so O could not use disputeSearch; T rejected it.
    ensure!(
        !job.slots[0].dispute_id.is_empty(),
        "a dispute was filed with T"
    );
    ensure!(
        slot(&job, 0) == pb::SlotState::Paid,
        "{}",
        bapay_cli::report::render(&job)
    );
    let after = balances(&net, &addrs).await?;
    let d = after[2] - before[2];
    ensure!(
        d > 0 && d < REWARD as i128,
        "the calculator earned the reward minus gas: {d}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_calculators_are_paid_when_the_outsourcer_disappears() -> Result<()> {
    let (mut net, addrs) = net(2, vec![]).await?;
    let before = balances(&net, &addrs).await?;
    let id = net.submit(eth_job(&net, "eth-o-gone", 2)).await?;
    let job = net
        .advance(&id, WAIT, |j| {
            (0..2).all(|i| slot(j, i) >= pb::SlotState::Committed) || settled(j)
        })
        .await?;
    ensure!(!settled(&job));
    net.outsourcer.kill();
    eth::increase_time(&net.adapter.url(), 1000).await?;
    let start = std::time::Instant::now();
    loop {
        let now = balances(&net, &addrs).await?;
        if (0..2).all(|i| now[2 + i] > before[2 + i]) {
            return Ok(());
        }
        ensure!(
            start.elapsed() < WAIT,
            "calculators not paid out:\n{}",
            net.calculators[0].tail()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_restarts_end_as_the_honest_run() -> Result<()> {
    let (mut net, _) = net(2, vec![]).await?;
    let id = net.submit(eth_job(&net, "eth-restarts", 2)).await?;
    net.advance(&id, WAIT, |j| state(j) >= pb::JobState::Funding)
        .await?;
    net.outsourcer.restart().await?;
    net.advance(&id, WAIT, |j| state(j) >= pb::JobState::Computing)
        .await?;
    net.calculators[0].restart().await?;
    net.advance(&id, WAIT, |j| state(j) >= pb::JobState::AwaitingPayout)
        .await?;
    net.outsourcer.restart().await?;
    net.calculators[1].restart().await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!((0..2).all(|i| slot(&job, i) == pb::SlotState::Paid));
    Ok(())
}
