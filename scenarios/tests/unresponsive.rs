//! Issue 10 on Bitcoin, on real regtest bitcoind and the real daemons: a
//! calculator that takes the job and then stays silent loses its deposit
//! through T, and one falsely accused of silence is paid.
//! - killed for good after signing the funding: O files `Unresponsive`
//!   evidence (its signed offer, C_1's signed acceptance), T asks C_1 at
//!   the endpoint C_1 signed, hears nothing within its window, signs
//!   Redeem_1;
//! - commits, then opens nothing (to O or to T): O gives up on the sample 4
//!   blocks before t and files the same way; T's own OpenLeaves fails too;
//! - O accuses an honest calculator (it never collected the result): T
//!   asks, the calculator answers with its signed result and T's fresh
//!   sample, T rejects and hands O the signed result (the job still gets
//!   its output), the calculator is paid at t.

mod common;

use std::time::Duration;

use anyhow::{ensure, Result};
use bapay_proto::common::v1::party::Role;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{Net, NetOptions};
use common::*;

const WAIT: Duration = Duration::from_secs(240);

/// A funded net with T's response window set to `window_ms`, and its
/// balances before the job.
async fn net(opts: NetOptions, window_ms: u64) -> Result<(Net, Vec<Vec<u8>>, Vec<i64>)> {
    let net = Net::start(NetOptions {
        poll_ms: 200,
        arbiter_env: vec![(
            "BAPAY_ARBITER__RESPONSE_WINDOW_MS".into(),
            window_ms.to_string(),
        )],
        ..opts
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    Ok((net, keys, before))
}

/// C_0 paid, C_1 redeemed: it lost g, and O's balance moved as its report.
async fn c1_lost_its_deposit(
    net: &Net,
    job: &pb::Job,
    keys: &[Vec<u8>],
    before: &[i64],
) -> Result<()> {
    let report = bapay_cli::report::render(job);
    ensure!(state(job) == pb::JobState::Completed, "{report}");
    ensure!(slot(job, 0) == pb::SlotState::Paid, "{report}");
    ensure!(slot(job, 1) == pb::SlotState::Redeemed, "{report}");
    let after = balances(net, keys).await?;
    ensure!(
        after[2] - before[2] == -(DEPOSIT as i64),
        "C_1 lost g: {report}"
    );
    let o_delta = after[0] - before[0];
    ensure!(o_delta == net_of(job, Role::Outsourcer, None), "{report}");
    ensure!(
        o_delta > -(FEE as i64) + DEPOSIT as i64 - 10_000,
        "O delta {o_delta}: {report}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_calculator_loses_its_deposit_through_t() -> Result<()> {
    let opts = NetOptions {
        calculators: 2,
        ..Default::default()
    };
    let (mut net, keys, before) = net(opts, 2000).await?;
    let id = net.submit(search_job(&net, "silent", 2, 30)).await?;
    // No block is mined here, so the funding cannot confirm and C_1 cannot
    // have started: it is killed with its signature on the funding given.
    until_funding_signed(&net, &id, 1..2, WAIT).await?;
    net.calculators[1].kill();
    let job = net.advance(&id, WAIT, settled).await?;
    c1_lost_its_deposit(&net, &job, &keys, &before).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calculator_that_never_opens_its_sample_loses_its_deposit() -> Result<()> {
    let opts = NetOptions {
        calculators: 2,
        calculator_env: vec![(
            1,
            "BAPAY_CALCULATOR__MISBEHAVE__NEVER_OPEN".into(),
            "true".into(),
        )],
        ..Default::default()
    };
    let (net, keys, before) = net(opts, 2000).await?;
    let id = net.submit(search_job(&net, "never-open", 2, 30)).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    c1_lost_its_deposit(&net, &job, &keys, &before).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_accusation_of_silence_is_rejected_and_the_calculator_paid() -> Result<()> {
    let opts = NetOptions {
        calculators: 1,
        outsourcer_env: vec![(
            "BAPAY_OUTSOURCER__MISBEHAVE__FALSE_UNRESPONSIVE".into(),
            "true".into(),
        )],
        ..Default::default()
    };
    let (net, keys, before) = net(opts, 20_000).await?;
    let id = net.submit(search_job(&net, "false-silence", 1, 30)).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    let report = bapay_cli::report::render(&job);
    ensure!(state(&job) == pb::JobState::Completed, "{report}");
    ensure!(slot(&job, 0) == pb::SlotState::Paid, "{report}");
    ensure!(
        !job.slots[0].dispute_id.is_empty(),
        "a dispute was filed: {report}"
    );
    // T handed O the signed result C_0 gave it: the job has its output.
    let hits = match job.output.as_ref().and_then(|o| o.output.as_ref()) {
        Some(bapay_proto::common::v1::task_output::Output::Search(s)) => s.hits.clone(),
        _ => anyhow::bail!("no output from the answer T handed over: {report}"),
    };
    ensure!(hits == expected_hits(), "wrong output: {report}");
    let after = balances(&net, &keys).await?;
    ensure!(after[1] - before[1] == net_of(&job, Role::Calculator, Some(0)));
    ensure!(after[1] > before[1], "the calculator was paid: {report}");
    Ok(())
}
