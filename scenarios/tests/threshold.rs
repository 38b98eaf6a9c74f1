//! Issue 10 item 3 on real regtest bitcoind and the real daemons: an l-of-n
//! linear job (n = 5, l = 3). x is Shamir-shared with degree 2, so any 3
//! results give y = A x and any 2 calculators learn nothing; the escrow has
//! the threshold trap leaf, which any 3 message keys open.
//! - two calculators are killed for good after signing the funding: the
//!   job completes with the right y from the other three, and the two
//!   silent ones lose their deposits through T;
//! - colluders who pool 2 messages cannot sweep through the threshold leaf
//!   (Bitcoin Core refuses the spend); pooling 3 sweeps every Pay_k, and O
//!   and every calculator report the slots TRAPPED.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_core::escrow::{
    build_sweep, p2tr_key_spend_script, sign_escrow_input, EscrowParams, EscrowTerms, EscrowUtxo,
    TrapKind,
};
use bapay_core::merkle::Hash32;
use bapay_core::task::field::Fe;
use bapay_core::task::linear::LinearParams;
use bapay_core::task::{Output, TaskSpec};
use bapay_proto::common::v1 as c;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::attack::{
    broadcast, calculator_key, calculator_record, forge, hex32, raw_sign, slot_secret,
};
use bapay_scenarios::{Net, NetOptions};
use bitcoin::secp256k1::{Keypair, Secp256k1};
use bitcoin::{Amount, FeeRate, OutPoint};
use common::*;

const WAIT: Duration = Duration::from_secs(300);
const N: usize = 5;
const L: u32 = 3;
const ROWS: u32 = 16;
const COLS: u32 = 4;

fn x() -> Vec<u64> {
    (1..=u64::from(COLS)).map(|v| v * 1_000_003).collect()
}

/// A 3-of-5 linear job over the net's five calculators.
fn threshold_job(net: &Net, request_id: &str) -> pb::SubmitJobRequest {
    let mut req = search_job(net, request_id, N, 40);
    req.task = Some(c::TaskSpec {
        params: Some(c::task_spec::Params::Linear(c::LinearParams {
            rows: ROWS,
            cols: COLS,
            matrix_seed: vec![9; 32],
            x: x(),
        })),
    });
    req.threshold_l = L;
    req
}

/// y = A x computed directly.
fn expected_y() -> Result<Vec<u64>> {
    let spec = TaskSpec::Linear(LinearParams {
        rows: ROWS,
        cols: COLS,
        matrix_seed: Hash32([9; 32]),
        x: x().into_iter().map(Fe::reduce).collect(),
        threshold: None,
    });
    match spec.run_direct()? {
        Output::Linear { y } => Ok(y.iter().map(|f| f.value()).collect()),
        other => anyhow::bail!("{other:?}"),
    }
}

async fn start() -> Result<Net> {
    let net = Net::start(NetOptions {
        calculators: N,
        poll_ms: 200,
        arbiter_env: vec![("BAPAY_ARBITER__RESPONSE_WINDOW_MS".into(), "2000".into())],
        // Off by default: any l co-calculators of an l-of-n job could sweep
        // an honest calculator's fee.
        calculator_env: (0..N)
            .map(|i| {
                (
                    i,
                    "BAPAY_CALCULATOR__ACCEPT_THRESHOLD_JOBS".into(),
                    "true".into(),
                )
            })
            .collect(),
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    Ok(net)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_of_five_job_completes_with_two_calculators_killed() -> Result<()> {
    let mut net = start().await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(threshold_job(&net, "threshold-silent")).await?;
    // No block is mined while waiting: the funding cannot confirm, so C_3
    // and C_4 are killed with their funding signatures given, before work.
    until_funding_signed(&net, &id, 3..N, WAIT).await?;
    net.calculators[3].kill();
    net.calculators[4].kill();
    let job = net.advance(&id, WAIT, settled).await?;
    let report = bapay_cli::report::render(&job);
    ensure!(state(&job) == pb::JobState::Completed, "{report}");
    let y = match job.output.as_ref().and_then(|o| o.output.as_ref()) {
        Some(c::task_output::Output::Linear(l)) => l.y.clone(),
        _ => anyhow::bail!("no output from the three results: {report}"),
    };
    ensure!(y == expected_y()?, "wrong y: {report}");
    for i in 0..3 {
        ensure!(slot(&job, i) == pb::SlotState::Paid, "slot {i}: {report}");
    }
    for i in 3..N {
        ensure!(
            slot(&job, i) == pb::SlotState::Redeemed,
            "slot {i}: {report}"
        );
    }
    let after = balances(&net, &keys).await?;
    for i in 3..N {
        ensure!(
            after[1 + i] - before[1 + i] == -(DEPOSIT as i64),
            "C_{i} lost g: {report}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pooled_messages_sweep_through_the_threshold_leaf_and_two_cannot() -> Result<()> {
    let net = start().await?;
    let id = net.submit(threshold_job(&net, "threshold-trap")).await?;
    let job = net
        .advance(&id, WAIT, |j| state(j) >= pb::JobState::Computing)
        .await?;
    let job_hex = hex::encode(&job.job_id);
    let rec = calculator_record(&net, 0, &job_hex)?;
    let terms: EscrowTerms = serde_json::from_value(rec["settlement"]["terms"].clone())?;
    ensure!(
        terms.threshold.as_ref().map(|t| t.l) == Some(L as usize),
        "the escrow has the 3-of-5 threshold leaf"
    );
    let params = EscrowParams::new(terms)?;
    let secp = Secp256k1::new();
    let messages = (0..N)
        .map(|i| {
            let r = calculator_record(&net, i, &job_hex)?;
            Ok(Keypair::from_secret_key(
                &secp,
                &slot_secret(&r, &hex32(&r, "job_random")?)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let txid: bitcoin::Txid = match &job.chain_details {
        Some(pb::job::ChainDetails::Bitcoin(b)) => b.funding_txid.parse()?,
        _ => anyhow::bail!("no funding"),
    };
    let utxos: Vec<EscrowUtxo> = (0..N as u32)
        .map(|k| EscrowUtxo {
            outpoint: OutPoint { txid, vout: k },
            value: Amount::from_sat(FEE),
        })
        .collect();
    let grabber = 0usize;
    let cj = calculator_key(&net, grabber)?;
    let rate = FeeRate::from_sat_per_vb(2).context("rate")?;
    let sweep = build_sweep(
        &params,
        grabber,
        &utxos,
        p2tr_key_spend_script(cj.x_only_public_key()),
        rate,
        TrapKind::Threshold,
    )?;

    // C_0 and C_1 pool their two messages: C_0's key and two message
    // signatures, three empty. The leaf counts 2 != 3: Core refuses it.
    let two = (0..N)
        .map(|k| {
            let mut sigs = vec![None; N + 1];
            sigs[0] = Some(raw_sign(&sweep, k, cj.keypair())?);
            sigs[1] = Some(raw_sign(&sweep, k, &messages[0])?);
            sigs[2] = Some(raw_sign(&sweep, k, &messages[1])?);
            Ok(sigs)
        })
        .collect::<Result<Vec<_>>>()?;
    let refused = broadcast(&net, &forge(&sweep, &two))
        .await
        .expect_err("two message keys cannot open a 3-of-5 threshold leaf");
    ensure!(
        refused.message().contains("script") || refused.message().contains("rejected"),
        "refused by Bitcoin Core's interpreter: {refused:?}"
    );

    // C_2 joins: three message keys. Core takes it, one block mines it.
    let sigs = (0..N)
        .map(|k| {
            let mut v = vec![(
                cj.x_only_public_key(),
                sign_escrow_input(&sweep, k, cj.keypair())?,
            )];
            for m in &messages[..3] {
                v.push((m.x_only_public_key().0, sign_escrow_input(&sweep, k, m)?));
            }
            Ok(v)
        })
        .collect::<Result<Vec<_>>>()?;
    broadcast(&net, &sweep.finalize(&sigs)?)
        .await
        .map_err(|e| anyhow::anyhow!("three message keys sweep: {e:?}"))?;
    net.mine(1).await?;

    let job = net
        .advance(&id, WAIT, |j| state(j) == pb::JobState::Completed)
        .await?;
    let report = bapay_cli::report::render(&job);
    let leaf = format!("calculator {grabber}'s trap leaf");
    for s in &job.slots {
        ensure!(
            s.state == pb::SlotState::Trapped as i32 && s.state_reason.contains(&leaf),
            "slot {}: {report}",
            s.index
        );
    }
    // Every calculator's own record ends TRAPPED, naming the grabber.
    calculators_trapped(&net, &job_hex, N, grabber).await
}
