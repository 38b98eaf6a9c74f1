//! Grinding the sample (issue 9, attack 4), on real regtest bitcoind
//! through the real daemons. C_1 computes half of its range and grinds a
//! nonce in a fake leaf until the paper's sample rule (indices from job
//! id, index and root alone) misses every fake leaf: about 1/q^m = 2^14
//! tries at p = 1e-4, q = 0.5. The test shows the grind works against that
//! rule (every predictable index opens correctly), then that O's sample,
//! drawn from a challenge chosen after the commitment, catches C_1: its
//! slot is REDEEMED and it loses its deposit; the honest C_0 is paid.
//! The sample rule is chain-independent (`bapay_core::sampling`); this runs
//! it on Bitcoin.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_calculator::cheat::predictable_indices;
use bapay_core::task::SubTask;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::attack::{calculator_record, hex_field};
use bapay_scenarios::{Net, NetOptions};
use common::*;

const WAIT: Duration = Duration::from_secs(300);
/// m = ceil(ln 1e-4 / ln 0.5).
const M: u32 = 14;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ground_root_is_still_caught() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 2,
        lazy: vec![1],
        calculator_env: vec![(
            1,
            "BAPAY_CALCULATOR__MISBEHAVE__GRIND_SAMPLE_SIZE".into(),
            M.to_string(),
        )],
        poll_ms: 200,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(search_job(&net, "grind", 2, 40)).await?;
    // Mine for the funding only: while C_1 grinds its root the chain stands
    // still, so a slow (or loaded) machine cannot push it past the result
    // deadline before it commits (that would test silence, not grinding).
    let start = std::time::Instant::now();
    let job = loop {
        let j = net.job(&id).await?;
        if slot(&j, 1) >= pb::SlotState::Committed || settled(&j) {
            break j;
        }
        ensure!(start.elapsed() < WAIT, "{}", bapay_cli::report::render(&j));
        if state(&j) != pb::JobState::Computing {
            net.mine_for(&j).await?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ensure!(
        slot(&job, 1) >= pb::SlotState::Committed && !settled(&job),
        "C_1 committed its ground root: {}",
        bapay_cli::report::render(&job)
    );
    let policy = job.sampling.as_ref().context("sample policy")?;
    ensure!(policy.m == M, "O samples m = {}", policy.m);

    // The grind worked against the predictable rule: every index it gives
    // opens a correct leaf.
    let rec = calculator_record(&net, 1, &hex::encode(&id))?;
    let token = hex_field(&rec, "job_token")?;
    let sub = SubTask::from_bytes(&hex_field(&rec, "sub_task_hex")?)?;
    let mut c1 = net.calc(1)?;
    let fetched = c1
        .fetch_result(calc::FetchResultRequest {
            job_id: id.clone(),
            job_token: token.clone(),
        })
        .await?
        .into_inner();
    let pc = fetched.commitment.context("commitment")?;
    let root: [u8; 32] = pc.root.as_slice().try_into()?;
    let job_id: [u8; 32] = id.as_slice().try_into()?;
    let idx = predictable_indices((&job_id, 1), &root, pc.leaf_count, M);
    let opened = c1
        .open_leaves(calc::OpenLeavesRequest {
            job_id: id.clone(),
            job_token: token,
            indices: idx.clone(),
            challenge: vec![],
        })
        .await?
        .into_inner();
    let openings = bapay_daemon::codec::openings("openings", &opened.openings)?;
    let res = bapay_core::task::SubResult::from_bytes(&fetched.result)?;
    sub.verify_sample(
        &res,
        &bapay_core::merkle::Hash32::from(root),
        &idx,
        &openings,
    )
    .map_err(|e| anyhow::anyhow!("the ground root fails the predictable sample: {e}"))?;

    // O's challenged sample catches it anyway.
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        slot(&job, 0) == pb::SlotState::Paid && slot(&job, 1) == pb::SlotState::Redeemed,
        "{}",
        bapay_cli::report::render(&job)
    );
    let after = balances(&net, &keys).await?;
    ensure!(
        after[2] - before[2] == -(DEPOSIT as i64),
        "the grinder lost g"
    );
    Ok(())
}
