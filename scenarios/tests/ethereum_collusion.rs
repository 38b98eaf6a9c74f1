//! Collusion on Ethereum (PROTOCOL.md §5, FairPay's trap): the calculators
//! pool what O sent them (m_k, s_k and R, from their own stores), learn the
//! collusion secret Σ sk_{m_k}, and one of them, C_j, signs the trap for
//! itself with it, springs it and claims every open job of the group:
//! every reward goes to C_j (the other colluders lose theirs); every bond
//! goes back to its worker at t (the trap reaches rewards only); O sees its
//! slots TRAPPED and the job still completes.

mod common;

use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{ensure, Context, Result};
use bapay_proto::common::v1 as c;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::attack::{claim_trapped, pooled_collusion_secret, send_trap};
use bapay_scenarios::{eth, Net, NetOptions};
use common::*;

const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_colluder_claims_every_fairpay_job_of_the_group() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 3,
        poll_ms: 200,
        ethereum: true,
        ..Default::default()
    })
    .await?;
    let addrs = net.fund_eth(100 * ETH).await?;
    let url = net.adapter.url();
    let mut req = search_job(&net, "eth-collusion", 3, 0);
    req.chain = c::Chain::Ethereum as i32;
    req.fee = Some(c::Amount {
        value: Some(c::amount::Value::Wei((ETH / 10).to_string())),
    });
    req.deposit = Some(c::Amount {
        value: Some(c::amount::Value::Wei((ETH / 100).to_string())),
    });
    req.fee_rate_sat_per_vb = None;
    req.timeouts = Some(pb::Timeouts {
        payout: Some(c::ChainTime {
            value: Some(c::chain_time::Value::SecondsFromNow(900)),
        }),
        ..Default::default()
    });
    let id = net.submit(req).await?;
    let job = net
        .advance(&id, Duration::from_secs(240), |j| {
            (0..3).all(|i| slot(j, i) >= pb::SlotState::Committed) || settled(j)
        })
        .await?;
    let mut before = Vec::new();
    for a in &addrs {
        before.push(eth::balance(&url, a).await? as i128);
    }

    // Pool the offers (m_k, s_k, R from each calculator's store).
    let job_hex = hex::encode(&job.job_id);
    let secret = pooled_collusion_secret(&net, &job_hex, 3)?;
    let Some(pb::job::ChainDetails::Ethereum(info)) = &job.chain_details else {
        anyhow::bail!("not Ethereum")
    };
    let group = info.group.as_ref().context("group")?;
    let collusion = Address::try_from(group.collusion_address.as_slice())?;
    ensure!(
        bapay_fairpay::trap::collusion_address(&secret.secret_bytes())? == collusion,
        "the pooled secret is the group's"
    );

    // C_2 grabs first.
    ensure!(send_trap(&net, &job, &secret, 2).await?, "trap");
    ensure!(claim_trapped(&net, &job, 2).await?, "claimTrapped");

    let mut after = Vec::new();
    for a in &addrs {
        after.push(eth::balance(&url, a).await? as i128);
    }
    let (reward, bond) = ((ETH / 10) as i128, (ETH / 100) as i128);
    let c2_gain = after[4] - before[4];
    ensure!(
        c2_gain > 3 * reward - ETH as i128 / 1000 && c2_gain <= 3 * reward,
        "C2 got every reward, no bond: {c2_gain}"
    );
    ensure!(
        after[2] == before[2] && after[3] == before[3],
        "the others lost their rewards (never paid)"
    );

    // O sees the trap and the job still completes; at t every worker takes
    // its bond back (the trap reaches rewards only).
    let job = net.advance(&id, Duration::from_secs(240), settled).await?;
    let mut now = Vec::new();
    for _ in 0..100 {
        now.clear();
        for a in &addrs {
            now.push(eth::balance(&url, a).await? as i128);
        }
        if (2..5).all(|k| now[k] - after[k] > bond / 2) {
            break;
        }
        eth::increase_time(&url, 60).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for k in 2..5 {
        let back = now[k] - after[k];
        ensure!(
            back > bond - ETH as i128 / 1000 && back <= bond,
            "C{} bond back: {back}",
            k - 2
        );
    }
    ensure!(
        state(&job) == pb::JobState::Completed,
        "{}",
        bapay_cli::report::render(&job)
    );
    ensure!(
        (0..3).all(|i| slot(&job, i) == pb::SlotState::Trapped),
        "{}",
        bapay_cli::report::render(&job)
    );
    Ok(())
}
