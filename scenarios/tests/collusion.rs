//! Collusion on Bitcoin (PROTOCOL.md §4, the trap): calculators that pool
//! what O sent them (their m_i, s_i and R, read from their own stores)
//! learn the collusion key sk_M = Σ sk_{m_k}; any one of them, C_j, can
//! then sweep every Pay_k through its trap leaf (P_M and C_j sign) before
//! t. The sweep is accepted by Bitcoin Core; the colluders who did not grab
//! first lose their fee d to C_j. Deposits sit in Dep_k, which no trap
//! leaf reaches: at t every calculator reclaims its own g alone (O with a
//! sybil calculator knows every m_k and could otherwise take them all).
//!
//! Once every result is in, O converts each Pay_k to Pay'_k, whose trap key
//! is P_R: calculators who pool their *results* (to learn y without O) are
//! swept the same way. Either sweep is reported TRAPPED, with whose trap
//! leaf took it, by O and by every swept calculator.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_core::escrow::{
    build_sweep, p2tr_key_spend_script, sign_escrow_input, EscrowParams, EscrowTerms, EscrowUtxo,
    TrapKind,
};
use bapay_proto::chain::v1 as chain;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::attack::{
    calculator_key, calculator_record, pooled_collusion_secret, pooled_result_secret,
};
use bapay_scenarios::{Net, NetOptions};
use bitcoin::secp256k1::{Keypair, Secp256k1};
use bitcoin::{Amount, FeeRate, OutPoint};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_colluder_sweeps_every_escrow() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 3,
        poll_ms: 200,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let keys = keys(&net).await?;
    let before = balances(&net, &keys).await?;
    let id = net.submit(search_job(&net, "collusion", 3, 40)).await?;
    let job = net
        .advance(&id, Duration::from_secs(240), |j| {
            state(j) >= pb::JobState::Computing
        })
        .await?;
    let job_hex = hex::encode(&job.job_id);

    // The colluders pool their stored offers: m_k, s_k, R and the terms.
    let rec = calculator_record(&net, 0, &job_hex)?;
    let terms: EscrowTerms = serde_json::from_value(rec["settlement"]["terms"].clone())?;
    let params = EscrowParams::new(terms)?;
    let secp = Secp256k1::new();
    let pm = Keypair::from_secret_key(&secp, &pooled_collusion_secret(&net, &job_hex, 3)?);
    ensure!(
        pm.x_only_public_key().0 == params.terms().collusion_key,
        "pooled key is P_M"
    );

    // C_2 grabs first: its own key signs with P_M.
    let grabber = 2usize;
    let txid: bitcoin::Txid = match &job.chain_details {
        Some(pb::job::ChainDetails::Bitcoin(b)) => b.funding_txid.parse()?,
        _ => anyhow::bail!("no funding"),
    };
    let utxos: Vec<EscrowUtxo> = (0..3)
        .map(|k| EscrowUtxo {
            outpoint: OutPoint { txid, vout: k },
            value: Amount::from_sat(FEE),
        })
        .collect();
    let sweep = sweep(&net, &params, grabber, &pm, &utxos).await?;

    // At t every calculator reclaims its Dep_k; O sees every slot TRAPPED.
    let job = net
        .advance(&id, Duration::from_secs(240), |j| {
            state(j) == pb::JobState::Completed
        })
        .await?;
    trapped_by(&job, grabber, "P_M")?;
    // Each calculator's reclaim confirms (the miner keeps mining).
    let mut after = None;
    for _ in 0..100 {
        let now = balances(&net, &keys).await?;
        if (0..3).all(|i| now[1 + i] - before[1 + i] > -(DEPOSIT as i64) / 2) {
            after = Some(now);
            break;
        }
        net.mine(1).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = after.context("the deposits were not reclaimed")?;
    let swept = (3 * FEE) as i64 - sweep.fee.to_sat() as i64;
    // A reclaim costs its own fee (one input, a few hundred sat).
    let fee_max = 1_000i64;
    // The grabber: got every fee, kept its deposit; the others: kept their
    // deposit, lost their fee (never received); O lost n·d.
    let g = after[1 + grabber] - before[1 + grabber];
    ensure!(g > swept - fee_max && g <= swept, "grabber: {g} vs {swept}");
    for i in 0..3 {
        if i != grabber {
            let d = after[1 + i] - before[1 + i];
            ensure!(d > -fee_max && d < 0, "C{i} kept its deposit: {d}");
        }
    }
    ensure!(after[0] < before[0] - 3 * FEE as i64, "O paid the fees");
    calculators_trapped(&net, &job_hex, 3, grabber).await
}

/// Calculator `grabber` sweeps every escrow `utxos` of `params` through
/// its own trap leaf, signing with the pooled trap key `trap` and its own;
/// Bitcoin Core takes it and one block mines it.
async fn sweep(
    net: &Net,
    params: &EscrowParams,
    grabber: usize,
    trap: &Keypair,
    utxos: &[EscrowUtxo],
) -> Result<bapay_core::escrow::EscrowSpend> {
    let cj = calculator_key(net, grabber)?;
    let payout = p2tr_key_spend_script(cj.x_only_public_key());
    let rate = FeeRate::from_sat_per_vb(2).context("rate")?;
    let sweep = build_sweep(params, grabber, utxos, payout, rate, TrapKind::Aggregate)?;
    let sigs = (0..utxos.len())
        .map(|k| {
            Ok(vec![
                (
                    trap.x_only_public_key().0,
                    sign_escrow_input(&sweep, k, trap)?,
                ),
                (
                    cj.x_only_public_key(),
                    sign_escrow_input(&sweep, k, cj.keypair())?,
                ),
            ])
        })
        .collect::<Result<Vec<_>>>()?;
    net.btc()?
        .broadcast_transaction(chain::BroadcastTransactionRequest {
            raw_tx: bitcoin::consensus::serialize(&sweep.finalize(&sigs)?),
        })
        .await?;
    net.mine(1).await?;
    Ok(sweep)
}

/// Every slot of `job` is TRAPPED, swept through `grabber`'s trap leaf of
/// the `key` trap, and the report has the sweep rows.
fn trapped_by(job: &pb::Job, grabber: usize, key: &str) -> Result<()> {
    let leaf = format!("calculator {grabber}'s trap leaf");
    for s in &job.slots {
        ensure!(
            s.state == pb::SlotState::Trapped as i32
                && s.state_reason.contains(&leaf)
                && s.state_reason.contains(key),
            "slot {}: {:?} {}",
            s.index,
            s.state,
            s.state_reason
        );
    }
    let sweeps = job
        .transfers
        .iter()
        .filter(|t| {
            t.kind == bapay_proto::common::v1::transfer::Kind::Sweep as i32
                && t.to.as_ref().and_then(|p| p.calculator_index) == Some(grabber as u32)
        })
        .count();
    ensure!(sweeps == job.slots.len(), "{sweeps} sweep rows");
    Ok(())
}

/// After the conversion, colluders who pool their results r_k (with s_k
/// and R) learn sk_R and sweep every Pay'_k; pooling messages no longer
/// works (Pay'_k has no P_M leaf).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_results_sweep_every_converted_escrow() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 3,
        poll_ms: 200,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    let id = net
        .submit(search_job(&net, "result-collusion", 3, 40))
        .await?;
    let job = net
        .advance(&id, Duration::from_secs(240), |j| {
            j.slots
                .iter()
                .all(|s| s.state == pb::SlotState::Converted as i32)
        })
        .await?;
    net.mine(1).await?;
    let job_hex = hex::encode(&job.job_id);
    let Some(pb::job::ChainDetails::Bitcoin(b)) = &job.chain_details else {
        anyhow::bail!("not a Bitcoin job")
    };
    ensure!(b.result_keys.len() == 3, "O published pk_r");
    let converted = bapay_daemon::codec::terms("converted_terms", b.converted_terms.as_ref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let secp = Secp256k1::new();
    // Messages no longer open the escrows: P_M is not Pay'_k's trap key.
    let pm = pooled_collusion_secret(&net, &job_hex, 3)?;
    ensure!(
        pm.x_only_public_key(&secp).0 != converted.terms().collusion_key,
        "P_M is not the trap key of Pay'"
    );
    let pr = Keypair::from_secret_key(&secp, &pooled_result_secret(&net, &job_hex, 3)?);
    ensure!(
        pr.x_only_public_key().0 == converted.terms().collusion_key,
        "pooled results give P_R"
    );
    let grabber = 1usize;
    let utxos = job
        .slots
        .iter()
        .map(|s| {
            let p = s.pay_prime.as_ref().context("Pay'_k")?;
            Ok(EscrowUtxo {
                outpoint: OutPoint {
                    txid: p.txid.parse()?,
                    vout: p.vout,
                },
                value: Amount::from_sat(p.value_sat),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    sweep(&net, &converted, grabber, &pr, &utxos).await?;
    let job = net
        .advance(&id, Duration::from_secs(240), |j| {
            state(j) == pb::JobState::Completed
        })
        .await?;
    trapped_by(&job, grabber, "P_R")?;
    calculators_trapped(&net, &job_hex, 3, grabber).await
}
