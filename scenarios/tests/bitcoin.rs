//! The Bitcoin scenarios of PROTOCOL.md §4, end to end on real regtest
//! bitcoind with every daemon as its own process (`bapay_scenarios::Net`):
//! honest, a lazy calculator caught, a false dispute, an outsourcer that
//! disappears, restarts in each phase, collusion, and bad input.

mod common;

use std::time::Duration;

use anyhow::{ensure, Result};
use bapay_proto::common::v1::party::Role;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{Net, NetOptions};
use common::*;

const WAIT: Duration = Duration::from_secs(240);

async fn net(calculators: usize, lazy: Vec<usize>, false_dispute: bool) -> Result<Net> {
    let net = Net::start(NetOptions {
        calculators,
        lazy,
        false_dispute,
        poll_ms: 200,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    Ok(net)
}

fn output_hits(job: &pb::Job) -> Option<Vec<u64>> {
    match job.output.as_ref()?.output.as_ref()? {
        bapay_proto::common::v1::task_output::Output::Search(s) => Some(s.hits.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_job_pays_every_calculator_and_costs_o_exactly_fees() -> Result<()> {
    let net = net(3, vec![], false).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(search_job(&net, "honest", 3, 30)).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(output_hits(&job) == Some(expected_hits()), "wrong output");
    let after = balances(&net, &keys).await?;
    let o_net = net_of(&job, Role::Outsourcer, None);
    // O pays exactly n·d plus the funding fee, as its report says.
    ensure!(
        after[0] - before[0] == o_net,
        "O: {} vs report {o_net}",
        after[0] - before[0]
    );
    let funding_fee = o_net.abs() - 3 * FEE as i64;
    ensure!(
        funding_fee > 0 && funding_fee < 5_000,
        "funding fee {funding_fee}"
    );
    for i in 0..3 {
        ensure!(slot(&job, i) == pb::SlotState::Paid);
        // Converted to Pay'_i (trap key P_R) and paid through Charge'_i.
        let s = &job.slots[i];
        ensure!(
            s.pay_prime.is_some() && s.state_reason.starts_with("Charge'_i confirmed"),
            "C{i} not paid through Charge'_i: {}",
            s.state_reason
        );
        ensure!(
            job.transfers.iter().any(|t| t.kind
                == bapay_proto::common::v1::transfer::Kind::Conversion as i32
                && t.calculator_index == Some(i as u32)),
            "no conversion row for C{i}"
        );
        let c_net = net_of(&job, Role::Calculator, Some(i as u32));
        ensure!(after[i + 1] - before[i + 1] == c_net, "C{i}");
        // d minus the conversion and Charge'_i fees.
        ensure!(
            c_net > FEE as i64 - 2_000 && c_net < FEE as i64,
            "C{i} net {c_net}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_calculator_is_caught_and_o_gets_fee_and_deposit() -> Result<()> {
    let net = net(2, vec![1], false).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(search_job(&net, "lazy", 2, 30)).await?;
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
    ensure!(job.output.is_none(), "no output from a faulty result");
    let after = balances(&net, &keys).await?;
    // The cheat lost its deposit; O got d + g back (minus the Redeem_i fee).
    ensure!(after[2] - before[2] == -(DEPOSIT as i64));
    let o_delta = after[0] - before[0];
    ensure!(o_delta == net_of(&job, Role::Outsourcer, None));
    ensure!(
        o_delta > -(FEE as i64) + DEPOSIT as i64 - 10_000,
        "O delta {o_delta}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_dispute_is_rejected_and_the_calculator_is_paid_at_t() -> Result<()> {
    let net = net(1, vec![], true).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(search_job(&net, "false-dispute", 1, 30)).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(
        slot(&job, 0) == pb::SlotState::Paid,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(!job.slots[0].dispute_id.is_empty(), "a dispute was filed");
    let after = balances(&net, &keys).await?;
    ensure!(after[1] - before[1] == net_of(&job, Role::Calculator, Some(0)));
    ensure!(after[1] > before[1]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calculators_are_paid_at_t_when_the_outsourcer_disappears() -> Result<()> {
    let mut net = net(2, vec![], false).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(search_job(&net, "o-gone", 2, 25)).await?;
    let job = net
        .advance(&id, WAIT, |j| {
            state(j) == pb::JobState::Computing || settled(j)
        })
        .await?;
    let t = match job.payout.and_then(|p| p.value) {
        Some(bapay_proto::common::v1::chain_time::Value::Height(h)) => h,
        _ => anyhow::bail!("no t"),
    };
    net.outsourcer.kill();
    let tip = net.tip().await?;
    net.mine((t - tip) as u32).await?;
    // The calculators broadcast their Charge_i at t by themselves.
    let start = std::time::Instant::now();
    loop {
        net.mine(1).await?;
        let now = balances(&net, &keys).await?;
        if (1..3).all(|i| now[i] > before[i]) {
            for i in 1..3 {
                ensure!(
                    now[i] - before[i] > FEE as i64 - 2_000,
                    "C{} got {}",
                    i - 1,
                    now[i] - before[i]
                );
            }
            return Ok(());
        }
        ensure!(
            start.elapsed() < WAIT,
            "calculators not paid:\n{}",
            net.calculators[0].tail()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_in_every_phase_end_as_the_honest_run() -> Result<()> {
    let mut net = net(2, vec![], false).await?;
    let id = net.submit(search_job(&net, "restarts", 2, 30)).await?;
    // O crashes with its funding signed but not yet mined.
    let job = net
        .advance(&id, WAIT, |j| {
            j.slots
                .iter()
                .all(|s| s.state == pb::SlotState::FundingSigned as i32)
                || settled(j)
        })
        .await?;
    ensure!(!settled(&job));
    net.outsourcer.restart().await?;
    // A calculator crashes while computing / committed.
    net.advance(&id, WAIT, |j| state(j) >= pb::JobState::Computing)
        .await?;
    net.calculators[1].restart().await?;
    // O crashes again while it waits for t.
    net.advance(&id, WAIT, |j| state(j) >= pb::JobState::AwaitingPayout)
        .await?;
    net.outsourcer.restart().await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(output_hits(&job) == Some(expected_hits()));
    ensure!((0..2).all(|i| slot(&job, i) == pb::SlotState::Paid));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsourcer_restarted_mid_dispute_still_redeems() -> Result<()> {
    let mut net = net(1, vec![0], false).await?;
    let id = net
        .submit(search_job(&net, "dispute-restart", 1, 30))
        .await?;
    // Redeem_i is signed and stored but not mined: O crashes.
    net.advance(&id, WAIT, |j| {
        j.slots[0].state == pb::SlotState::Disputed as i32 || settled(j)
    })
    .await?;
    net.outsourcer.restart().await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        slot(&job, 0) == pb::SlotState::Redeemed,
        "{}",
        bapay_cli::report::render(&job)
    );
    Ok(())
}
