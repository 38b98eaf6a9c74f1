//! Issue 10, item 5, on real regtest bitcoind and the real daemons: a fee
//! spike after signing. Every Charge'_i was presigned at 2 sat/vB; before
//! t, bitcoind is restarted with `-minrelaytxfee` at 20 sat/vB, so at t it
//! refuses each claim alone ("min relay fee not met"). Each calculator
//! bumps its own claim by CPFP (a child on its payout output, stored first)
//! and relays both through the chain-adapter's SubmitPackage: every slot
//! ends PAID, and each calculator's balance moved by its report's net less
//! its child's fee, to the sat.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_proto::common::v1::party::Role;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::attack::calculator_record;
use bapay_scenarios::{Net, NetOptions};
use common::*;

const WAIT: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_stuck_by_a_fee_spike_are_bumped_by_cpfp_and_paid() -> Result<()> {
    let mut net = Net::start(NetOptions {
        calculators: 2,
        poll_ms: 200,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(search_job(&net, "fee-spike", 2, 30)).await?;
    let converted = |j: &pb::Job| {
        state(j) == pb::JobState::AwaitingPayout
            && (0..2).all(|i| slot(j, i) == pb::SlotState::Converted)
    };
    let job = net.advance(&id, WAIT, converted).await?;
    // The conversions confirm at the old fee level; then fees spike.
    net.mine(1).await?;
    ensure!(
        net.tip().await? + 5 < job_t(&job),
        "the spike comes before t"
    );
    net.bitcoind()
        .context("harness bitcoind")?
        .restart_with(&["-minrelaytxfee=0.0002"])
        .await?;

    let job = net.advance(&id, WAIT, settled).await?;
    let report = bapay_cli::report::render(&job);
    ensure!(state(&job) == pb::JobState::Completed, "{report}");
    let after = balances(&net, &keys).await?;
    for i in 0..2 {
        ensure!(slot(&job, i) == pb::SlotState::Paid, "{report}");
        let rec = calculator_record(&net, i, &hex::encode(&id))?;
        let why = rec["state_reason"].as_str().unwrap_or("");
        ensure!(
            why.contains("bumped by CPFP child"),
            "calculator {i}: {why}"
        );
        let child_fee = rec["settlement"]["bump"]["fee_sat"]
            .as_i64()
            .with_context(|| format!("calculator {i} stored no bump: {rec}"))?;
        ensure!(child_fee > 0, "{rec}");
        let delta = after[i + 1] - before[i + 1];
        let owed = net_of(&job, Role::Calculator, Some(i as u32));
        ensure!(
            delta == owed - child_fee,
            "calculator {i}: moved {delta}, report {owed}, child fee {child_fee}: {report}"
        );
    }
    Ok(())
}

/// t of a Bitcoin job.
fn job_t(job: &pb::Job) -> u64 {
    match job.payout.as_ref().and_then(|p| p.value) {
        Some(bapay_proto::common::v1::chain_time::Value::Height(h)) => h,
        _ => 0,
    }
}
