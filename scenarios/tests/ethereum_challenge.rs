//! Issue 10 on Ethereum, on real anvil with FairPay and every daemon as its
//! own process: O's on-chain challenge (FairPay `challenge` / `respond` /
//! `claimUnanswered`), no arbiter needed.
//! - C_1 commits its root and hands O its result, then never opens its
//!   sample and is killed for good; T is switched off too. O challenges
//!   the root on chain two windows before t; nobody answers; O takes
//!   reward + bond + its deposit back with `claimUnanswered`. C_1 lost its
//!   bond, C_0 is paid.
//! - O never collects an honest calculator's result and challenges it on
//!   chain: the calculator answers with the sampled leaves and proofs,
//!   gets O's deposit, which covers the answer's gas, and is paid reward +
//!   bond at t.
//! - A linear job, both calculators challenged: C_1 committed a wrong row
//!   and answers with it (FairPay checks only that the leaves are in its
//!   tree). O reads the answer from the logs, finds the wrong leaf and
//!   takes it to T as `ChallengeAnswer` evidence; T reads the same logs
//!   and sends `judge`: O gets C_1's reward and bond. C_0's right answer
//!   is checked the same way, and C_0 is paid.

mod common;

use std::time::{Duration, Instant};

use alloy::primitives::B256;
use alloy::sol_types::SolEvent;
use anyhow::{ensure, Context, Result};
use bapay_proto::chain::v1 as chain;
use bapay_proto::common::v1 as c;
use bapay_proto::common::v1::party::Role;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{eth, Net, NetOptions};
use common::eth::{eth_balances as balances, eth_job, wei_net, BOND, ETH, REWARD};
use common::*;

const WAIT: Duration = Duration::from_secs(240);

async fn net(opts: NetOptions) -> Result<(Net, Vec<Vec<u8>>)> {
    let net = Net::start(NetOptions {
        poll_ms: 200,
        ethereum: true,
        ..opts
    })
    .await?;
    let addrs = net.fund_eth(100 * ETH).await?;
    Ok((net, addrs))
}

/// Drives anvil's clock until `done`: 20 s per poll while O waits for a
/// deadline (results, samples), 4 s through the challenge window, then to t.
async fn drive(net: &Net, id: &[u8], done: impl Fn(&pb::Job) -> bool) -> Result<pb::Job> {
    let start = Instant::now();
    loop {
        let job = net.job(id).await?;
        if done(&job) {
            return Ok(job);
        }
        ensure!(
            start.elapsed() < WAIT,
            "not done: {}\n--- outsourcer log ---\n{}",
            bapay_cli::report::render(&job),
            net.outsourcer.tail()
        );
        match state(&job) {
            pb::JobState::Computing | pb::JobState::Verifying => {
                eth::increase_time(&net.adapter.url(), 20).await?
            }
            // The challenge window (60 s): slowly, so the calculator's
            // 200 ms driver has many passes to answer in it.
            pb::JobState::Disputing => eth::increase_time(&net.adapter.url(), 4).await?,
            _ => net.mine_for(&job).await?,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// FairPay `state(id)` of slot `i`'s job is a committed root.
async fn committed_on_chain(net: &Net, job: &pb::Job, i: usize) -> Result<bool> {
    let (_, contract) = net.fairpay.context("no FairPay")?;
    let id = B256::try_from(job.slots[i].contract_job_id.as_slice())?;
    let data = alloy::sol_types::SolCall::abi_encode(&bapay_fairpay::FairPay::stateCall { id });
    let out = eth::client(&net.adapter.url())?
        .call(chain::CallRequest {
            to: contract.to_vec(),
            data,
            from: Vec::new(),
        })
        .await?
        .into_inner()
        .data;
    Ok(out.len() == 32 && bapay_fairpay::is_root(B256::from_slice(&out)))
}

/// Waits (moving no time) until slots 0..n have their roots on chain: O
/// never collects in these tests, so only the chain tells.
async fn until_committed(net: &Net, id: &[u8], n: usize) -> Result<()> {
    let start = Instant::now();
    loop {
        let job = net.job(id).await?;
        let mut all = state(&job) >= pb::JobState::Computing;
        for i in 0..n {
            all = all && committed_on_chain(net, &job, i).await?;
        }
        if all {
            return Ok(());
        }
        ensure!(start.elapsed() < WAIT, "no commit: {}", report(&job));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report(job: &pb::Job) -> String {
    bapay_cli::report::render(job)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_calculator_loses_reward_and_bond_to_claim_unanswered() -> Result<()> {
    let (mut net, addrs) = net(NetOptions {
        calculators: 2,
        calculator_env: vec![(
            1,
            "BAPAY_CALCULATOR__MISBEHAVE__NEVER_OPEN".into(),
            "true".into(),
        )],
        ..Default::default()
    })
    .await?;
    let before = balances(&net, &addrs).await?;
    let id = net.submit(eth_job(&net, "eth-silent", 2)).await?;
    // T answered SubmitJob; then it goes away for good.
    net.advance(&id, WAIT, |j| state(j) >= pb::JobState::Offering)
        .await?;
    net.arbiter.kill();
    // C_1's root is on chain and O holds its signed result: C_1 is killed.
    net.advance(&id, WAIT, |j| slot(j, 1) == pb::SlotState::Committed)
        .await?;
    net.calculators[1].kill();
    let job = drive(&net, &id, settled).await?;
    ensure!(state(&job) == pb::JobState::Completed, "{}", report(&job));
    ensure!(slot(&job, 0) == pb::SlotState::Paid, "{}", report(&job));
    ensure!(slot(&job, 1) == pb::SlotState::Redeemed, "{}", report(&job));
    let kinds = |k: c::transfer::Kind| job.transfers.iter().filter(|t| t.kind == k as i32).count();
    ensure!(kinds(c::transfer::Kind::Challenge) == 1, "{}", report(&job));
    ensure!(
        kinds(c::transfer::Kind::UnansweredClaim) == 1,
        "{}",
        report(&job)
    );
    ensure!(
        kinds(c::transfer::Kind::Judge) == 0,
        "no arbiter: {}",
        report(&job)
    );
    let after = balances(&net, &addrs).await?;
    // O's balance moved exactly as its report says (deposit out and back,
    // reward + bond of C_1 in, every gas counted).
    ensure!(
        after[0] - before[0] == wei_net(&job, Role::Outsourcer, None),
        "O's balance vs report: {}",
        report(&job)
    );
    // O paid C_0's reward only; C_1's reward came back with its bond.
    ensure!(after[0] - before[0] > -(REWARD as i128) + BOND as i128 - (ETH / 100) as i128);
    ensure!(after[3] - before[3] < -(BOND as i128), "C_1 lost its bond");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenged_honest_calculator_answers_and_the_deposit_pays_its_gas() -> Result<()> {
    let (net, addrs) = net(NetOptions {
        calculators: 1,
        outsourcer_env: vec![(
            "BAPAY_OUTSOURCER__MISBEHAVE__FALSE_UNRESPONSIVE".into(),
            "true".into(),
        )],
        ..Default::default()
    })
    .await?;
    let before = balances(&net, &addrs).await?;
    let id = net.submit(eth_job(&net, "eth-answer", 1)).await?;
    // O never collects; wait for the calculator's commit before moving time.
    until_committed(&net, &id, 1).await?;
    let job = drive(&net, &id, settled).await?;
    ensure!(state(&job) == pb::JobState::Completed, "{}", report(&job));
    ensure!(slot(&job, 0) == pb::SlotState::Paid, "{}", report(&job));
    ensure!(
        job.transfers
            .iter()
            .any(|t| t.kind == c::transfer::Kind::ChallengeAnswered as i32),
        "{}",
        report(&job)
    );
    // The answer's gas, from its receipt (the Responded log's transaction).
    let (_, contract) = net.fairpay.context("no FairPay")?;
    let mut logs = eth::client(&net.adapter.url())?
        .watch_logs(chain::WatchLogsRequest {
            address: contract.to_vec(),
            topics: vec![bapay_fairpay::FairPay::Responded::SIGNATURE_HASH.to_vec()],
            from_block: Some(0),
            to_block: None,
        })
        .await?
        .into_inner();
    let log = tokio::time::timeout(Duration::from_secs(30), logs.message())
        .await??
        .context("no Responded log")?;
    let receipt = eth::client(&net.adapter.url())?
        .get_receipt(chain::GetReceiptRequest {
            transaction_hash: log.transaction_hash.clone(),
        })
        .await?
        .into_inner()
        .receipt
        .context("no receipt")?;
    let gas = u128::from(receipt.gas_used) * receipt.effective_gas_price_wei.parse::<u128>()?;
    let deposit: u128 = 1_000_000_000_000_000;
    ensure!(
        gas < deposit,
        "the deposit {deposit} covers the answer's gas {gas}"
    );
    let after = balances(&net, &addrs).await?;
    ensure!(
        after[0] - before[0] == wei_net(&job, Role::Outsourcer, None),
        "O's balance vs report: {}",
        report(&job)
    );
    // C_0: reward + deposit - its gas (commit, respond, payout), more than
    // an unchallenged calculator's reward - gas: the answer cost it nothing.
    let d = after[2] - before[2];
    ensure!(d > 0 && d < (REWARD + deposit) as i128, "C_0 earned {d}");
    ensure!(
        d == wei_net(&job, Role::Calculator, Some(0)),
        "C_0's balance vs report: {}",
        report(&job)
    );
    ensure!(
        d > REWARD as i128 - (ETH / 1000) as i128,
        "C_0 earned {d}: the challenge cost it nothing net"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_answer_to_the_challenge_is_judged_by_t_from_the_logs() -> Result<()> {
    let (net, addrs) = net(NetOptions {
        calculators: 2,
        outsourcer_env: vec![(
            "BAPAY_OUTSOURCER__MISBEHAVE__FALSE_UNRESPONSIVE".into(),
            "true".into(),
        )],
        calculator_env: vec![(
            1,
            "BAPAY_CALCULATOR__MISBEHAVE__WRONG_ROW".into(),
            "true".into(),
        )],
        ..Default::default()
    })
    .await?;
    let before = balances(&net, &addrs).await?;
    let mut req = eth_job(&net, "eth-wrong-answer", 2);
    // One row: every sampled position is row 0, the one C_1 got wrong.
    req.task = Some(c::TaskSpec {
        params: Some(c::task_spec::Params::Linear(c::LinearParams {
            rows: 1,
            cols: 8,
            matrix_seed: vec![4; 32],
            x: (1..=8).map(|v| v * 1_000_003).collect(),
        })),
    });
    let id = net.submit(req).await?;
    until_committed(&net, &id, 2).await?;
    let job = drive(&net, &id, settled).await?;
    ensure!(state(&job) == pb::JobState::Completed, "{}", report(&job));
    ensure!(slot(&job, 0) == pb::SlotState::Paid, "{}", report(&job));
    ensure!(slot(&job, 1) == pb::SlotState::Redeemed, "{}", report(&job));
    let kinds = |k: c::transfer::Kind| job.transfers.iter().filter(|t| t.kind == k as i32).count();
    ensure!(kinds(c::transfer::Kind::Challenge) == 2, "{}", report(&job));
    ensure!(kinds(c::transfer::Kind::Judge) == 1, "{}", report(&job));
    let after = balances(&net, &addrs).await?;
    ensure!(
        after[0] - before[0] == wei_net(&job, Role::Outsourcer, None),
        "O's balance vs report: {}",
        report(&job)
    );
    let deposit: i128 = 1_000_000_000_000_000;
    ensure!(
        after[3] - before[3] < -(BOND as i128) + deposit,
        "C_1 lost its bond (it kept only O's deposit)"
    );
    ensure!(after[2] - before[2] > 0, "C_0 was paid");
    // Both calculators to the wei: bond, deposit, payout, every gas.
    for i in 0..2 {
        ensure!(
            after[2 + i] - before[2 + i] == wei_net(&job, Role::Calculator, Some(i as u32)),
            "C{i}'s balance vs report: {}",
            report(&job)
        );
    }
    Ok(())
}
