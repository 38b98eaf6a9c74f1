//! Attacks on the collusion trap (issue 9, attacks 2 and 5), on one real
//! network (regtest bitcoind and anvil, every daemon its own process):
//! - **One calculator rebuilds every message.** A search sub-task is only
//!   (seed, rounds, bits, lo, hi) and the ranges are adjacent, so C_0 can
//!   guess every m_j. Before salts, that was the collusion key and every
//!   escrow. The test shows the guess is right (the true m_j is among C_0's
//!   candidates) yet gives no published key without s_j, and that the sweep
//!   C_0 signs with it is rejected by Bitcoin Core and the trap by FairPay.
//! - **O with a sybil calculator.** O knows every (m_j, s_j): with C_2 its
//!   sybil it sweeps every Pay_j / traps the group. That takes back O's own
//!   fees d only: Dep_j is out of any trap's reach (the sweep aimed at it is
//!   rejected by Bitcoin Core), each honest calculator reclaims its deposit
//!   at t, and on Ethereum each honest worker's bond comes back at t.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_core::escrow::{
    build_sweep, p2tr_key_spend_script, sign_escrow_input, EscrowParams, EscrowUtxo, TrapKind,
};
use bapay_core::keys::{aggregate_secret, message_secret};
use bapay_core::task::SubTask;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::attack::{
    broadcast, calculator_key, calculator_record, claim_trapped, forge, hex32, hex_field,
    outsourcer_collusion_secret, outsourcer_record, raw_sign, send_trap, unsalted_message_secret,
};
use bapay_scenarios::{eth, Net, NetOptions};
use bitcoin::secp256k1::{Keypair, PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, FeeRate, OutPoint};
use common::eth::{eth_balances, eth_job, BOND, ETH, REWARD};
use common::*;

const WAIT: Duration = Duration::from_secs(240);
const N: usize = 3;

fn message_keys(job: &pb::Job) -> Result<Vec<PublicKey>> {
    let keys = match &job.chain_details {
        Some(pb::job::ChainDetails::Bitcoin(b)) => &b.message_keys,
        Some(pb::job::ChainDetails::Ethereum(e)) => &e.message_keys,
        None => anyhow::bail!("no chain details"),
    };
    Ok(keys
        .iter()
        .map(|k| PublicKey::from_slice(k))
        .collect::<Result<_, _>>()?)
}

/// C_0's best guess of every other sub-task (adjacent ranges of one of the
/// two split sizes) and what it derives from it: (the aggregate secret, the
/// candidates). Checks that the true m_j is a candidate (the guess works)
/// and that no candidate gives pk_{m_j}, salted with C_0's own salt or not
/// salted at all.
fn lone_guess(net: &Net, job: &pb::Job) -> Result<SecretKey> {
    let job_hex = hex::encode(&job.job_id);
    let me = calculator_record(net, 0, &job_hex)?;
    let m0 = hex_field(&me, "sub_task_hex")?;
    let r = hex32(&me, "job_random")?;
    let s0 = hex32(&me, "salt")?;
    let SubTask::Search(p0) = SubTask::from_bytes(&m0)? else {
        anyhow::bail!("not a search sub-task")
    };
    let len = p0.hi - p0.lo;
    let mut candidates = Vec::new();
    for lo in p0.hi..p0.hi + N as u64 * (len + 1) {
        for l in [len.saturating_sub(1), len, len + 1] {
            let mut p = p0.clone();
            (p.lo, p.hi) = (lo, lo + l);
            candidates.push(SubTask::Search(p).to_bytes());
        }
    }
    let truth = outsourcer_record(net, &job_hex)?;
    let published = message_keys(job)?;
    let secp = Secp256k1::new();
    let mut guesses = vec![message_secret(&m0, &s0, &r)?];
    for (j, pk) in published.iter().enumerate().skip(1) {
        let mj = hex_field(&truth["slots"][j], "sub_task_hex")?;
        ensure!(candidates.contains(&mj), "C_0 guesses m_{j}");
        for m in &candidates {
            for sk in [unsalted_message_secret(m, &r)?, message_secret(m, &s0, &r)?] {
                ensure!(
                    sk.public_key(&secp) != *pk,
                    "a guess without s_{j} gives pk_m{j}"
                );
            }
        }
        guesses.push(unsalted_message_secret(&mj, &r)?);
    }
    Ok(aggregate_secret(&guesses)?)
}

fn funding_txid(job: &pb::Job) -> Result<bitcoin::Txid> {
    match &job.chain_details {
        Some(pb::job::ChainDetails::Bitcoin(b)) => Ok(b.funding_txid.parse()?),
        _ => anyhow::bail!("no funding"),
    }
}

fn params_of(net: &Net, job: &pb::Job, i: usize) -> Result<EscrowParams> {
    let rec = calculator_record(net, i, &hex::encode(&job.job_id))?;
    Ok(EscrowParams::new(serde_json::from_value(
        rec["settlement"]["terms"].clone(),
    )?)?)
}

/// The escrow outputs at `vouts` of the funding, each holding `value`.
fn outputs(txid: bitcoin::Txid, vouts: std::ops::Range<u32>, value: u64) -> Vec<EscrowUtxo> {
    vouts
        .map(|vout| EscrowUtxo {
            outpoint: OutPoint { txid, vout },
            value: Amount::from_sat(value),
        })
        .collect()
}

/// Signs a sweep by `c_j` with `collusion` (forged in, unchecked) and
/// broadcasts it.
async fn sweep(
    net: &Net,
    params: &EscrowParams,
    j: usize,
    utxos: &[EscrowUtxo],
    collusion: &Keypair,
    c_j: &Keypair,
) -> Result<Result<(), tonic::Status>> {
    let payout = p2tr_key_spend_script(c_j.x_only_public_key().0);
    let rate = FeeRate::from_sat_per_vb(2).context("rate")?;
    let spend = build_sweep(params, j, utxos, payout, rate, TrapKind::Aggregate)?;
    let sigs = (0..utxos.len())
        .map(|k| {
            Ok(vec![
                Some(raw_sign(&spend, k, collusion)?),
                Some(sign_escrow_input(&spend, k, c_j)?),
            ])
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(broadcast(net, &forge(&spend, &sigs)).await)
}

async fn lone_calculator_on_bitcoin(net: &Net, keys: &[Vec<u8>]) -> Result<()> {
    let before = balances(net, keys).await?;
    let id = net.submit(search_job(net, "guess-btc", N, 40)).await?;
    let job = net
        .advance(&id, WAIT, |j| state(j) >= pb::JobState::Computing)
        .await?;
    let guess = lone_guess(net, &job)?;
    let params = params_of(net, &job, 0)?;
    let secp = Secp256k1::new();
    let guessed = Keypair::from_secret_key(&secp, &guess);
    ensure!(guessed.x_only_public_key().0 != params.terms().collusion_key);
    let c0 = calculator_key(net, 0)?;
    let pays = outputs(funding_txid(&job)?, 0..N as u32, FEE);
    let refused = sweep(net, &params, 0, &pays, &guessed, c0.keypair()).await?;
    let e = refused.err().context("Bitcoin Core accepted C_0's sweep")?;
    ensure!(
        e.message().contains("script-verify-flag-failed"),
        "refused by the script interpreter: {}",
        e.message()
    );
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        state(&job) == pb::JobState::Completed
            && (0..N).all(|i| slot(&job, i) == pb::SlotState::Paid),
        "{}",
        bapay_cli::report::render(&job)
    );
    let after = balances(net, keys).await?;
    for i in 0..N {
        let d = after[1 + i] - before[1 + i];
        ensure!(
            d > FEE as i64 - 2_000 && d < FEE as i64,
            "C{i}: d minus fee, got {d}"
        );
    }
    Ok(())
}

async fn sybil_on_bitcoin(net: &Net, keys: &[Vec<u8>]) -> Result<()> {
    let before = balances(net, keys).await?;
    let id = net.submit(search_job(net, "sybil-btc", N, 40)).await?;
    let job = net
        .advance(&id, WAIT, |j| state(j) >= pb::JobState::Computing)
        .await?;
    let job_hex = hex::encode(&job.job_id);
    // O knows every (m_j, s_j): the real collusion key.
    let secp = Secp256k1::new();
    let pm = Keypair::from_secret_key(&secp, &outsourcer_collusion_secret(net, &job_hex)?);
    let params = params_of(net, &job, 0)?;
    ensure!(pm.x_only_public_key().0 == params.terms().collusion_key);
    let sybil = N - 1;
    let cs = calculator_key(net, sybil)?;
    let txid = funding_txid(&job)?;
    // The deposits first: Dep_j has no trap leaf, Bitcoin Core refuses.
    let deps = outputs(txid, N as u32..2 * N as u32, DEPOSIT);
    let refused = sweep(net, &params, sybil, &deps, &pm, cs.keypair()).await?;
    let e = refused
        .err()
        .context("Bitcoin Core let the trap reach Dep_j")?;
    ensure!(
        e.message().contains("script-verify-flag-failed"),
        "refused by the script interpreter: {}",
        e.message()
    );
    // The fees: O's own money, back to O's sybil.
    let pays = outputs(txid, 0..N as u32, FEE);
    sweep(net, &params, sybil, &pays, &pm, cs.keypair())
        .await?
        .map_err(|e| anyhow::anyhow!("the sweep of Pay_j: {}", e.message()))?;
    net.mine(1).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        (0..N).all(|i| slot(&job, i) == pb::SlotState::Trapped),
        "{}",
        bapay_cli::report::render(&job)
    );
    // Every calculator reclaims its own deposit at t.
    let mut after = balances(net, keys).await?;
    for _ in 0..100 {
        if (0..N).all(|i| after[1 + i] - before[1 + i] > -(DEPOSIT as i64) / 2) {
            break;
        }
        net.mine(1).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = balances(net, keys).await?;
    }
    for i in 0..N - 1 {
        let d = after[1 + i] - before[1 + i];
        ensure!(d > -1_000 && d <= 0, "honest C{i} kept its deposit: {d}");
    }
    let coalition = (after[0] - before[0]) + (after[N] - before[N]);
    ensure!(coalition < 0, "O + sybil gained {coalition} sat");
    Ok(())
}

fn committed(j: &pb::Job) -> bool {
    (0..N).all(|i| slot(j, i) >= pb::SlotState::Committed) || settled(j)
}

async fn lone_calculator_on_ethereum(net: &Net, addrs: &[Vec<u8>]) -> Result<()> {
    let before = eth_balances(net, addrs).await?;
    let id = net.submit(eth_job(net, "guess-eth", N)).await?;
    let job = net.advance(&id, WAIT, committed).await?;
    let guess = lone_guess(net, &job)?;
    ensure!(
        !send_trap(net, &job, &guess, 0).await?,
        "FairPay accepted C_0's guessed trap"
    );
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        (0..N).all(|i| slot(&job, i) == pb::SlotState::Paid),
        "{}",
        bapay_cli::report::render(&job)
    );
    let after = eth_balances(net, addrs).await?;
    for i in 0..N {
        let d = after[2 + i] - before[2 + i];
        ensure!(
            d > 0 && d < REWARD as i128,
            "C{i}: reward less gas, got {d}"
        );
    }
    Ok(())
}

async fn sybil_on_ethereum(net: &Net, addrs: &[Vec<u8>]) -> Result<()> {
    let before = eth_balances(net, addrs).await?;
    let id = net.submit(eth_job(net, "sybil-eth", N)).await?;
    let job = net.advance(&id, WAIT, committed).await?;
    let secret = outsourcer_collusion_secret(net, &hex::encode(&job.job_id))?;
    let sybil = N - 1;
    ensure!(
        send_trap(net, &job, &secret, sybil).await?,
        "O's sybil traps"
    );
    ensure!(claim_trapped(net, &job, sybil).await?, "claimTrapped");
    // t: every worker takes its bond back (the calculators' drivers).
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        (0..N).all(|i| slot(&job, i) == pb::SlotState::Trapped),
        "{}",
        bapay_cli::report::render(&job)
    );
    let mut after = eth_balances(net, addrs).await?;
    for _ in 0..100 {
        if (0..N - 1).all(|i| after[2 + i] - before[2 + i] > -(BOND as i128) / 2) {
            break;
        }
        eth::increase_time(&net.adapter.url(), 60).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        after = eth_balances(net, addrs).await?;
    }
    for i in 0..N - 1 {
        let d = after[2 + i] - before[2 + i];
        ensure!(
            d < 0 && d > -(BOND as i128) / 10,
            "honest C{i} got its bond back, less gas: {d}"
        );
    }
    let coalition = (after[0] - before[0]) + (after[2 + sybil] - before[2 + sybil]);
    ensure!(coalition < 0, "O + sybil gained {coalition} wei");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trap_cannot_be_sprung_alone_nor_reach_a_deposit() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: N,
        poll_ms: 200,
        ethereum: true,
        ..Default::default()
    })
    .await?;
    net.fund(4_000_000, 1_000_000).await?;
    let addrs = net.fund_eth(100 * ETH).await?;
    let keys = keys(&net).await?;
    lone_calculator_on_bitcoin(&net, &keys).await?;
    sybil_on_bitcoin(&net, &keys).await?;
    lone_calculator_on_ethereum(&net, &addrs).await?;
    sybil_on_ethereum(&net, &addrs).await?;
    Ok(())
}
