//! A cheating calculator blocks its own dispute (issue 9, attack 3), on real
//! regtest bitcoind and anvil through the real daemons. C_0 and C_1 are
//! both lazy. C_0 knows its leaves are wrong, so it files the dispute
//! against itself first, hoping T signs one Redeem_i to C_0's script (or
//! one answer per escrow blocks O's filing) and that O then stops before
//! C_1. T refuses it (PERMISSION_DENIED: only the terms' outsourcer may
//! file), O disputes both slots, both are REDEEMED and both cheats lose
//! their deposit.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_core::auth;
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::arbiter::v1::arbiter_service_client::ArbiterServiceClient;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as c;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::attack::{calculator_record, hex_field};
use bapay_scenarios::{Net, NetOptions};
use common::eth::{eth_balances, eth_job, BOND, ETH};
use common::*;
use prost::Message;

const WAIT: Duration = Duration::from_secs(300);

/// C_0's own evidence against itself, as a valid filing: its signed
/// commitment and result (FetchResult) and its wrong leaves (OpenLeaves,
/// the second half of the range is garbage), with `settlement`.
async fn self_dispute(
    net: &Net,
    job_id: &[u8],
    chain: c::Chain,
    settlement: arb::dispute_request::Settlement,
) -> Result<arb::DisputeRequest> {
    let rec = calculator_record(net, 0, &hex::encode(job_id))?;
    let token = hex_field(&rec, "job_token")?;
    let mut cl = net.calc(0)?;
    let fetched = loop {
        let f = cl
            .fetch_result(calc::FetchResultRequest {
                job_id: job_id.to_vec(),
                job_token: token.clone(),
            })
            .await?
            .into_inner();
        if f.commitment.is_some() {
            break f;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let pc = fetched.commitment.context("commitment")?;
    let l = pc.leaf_count;
    let opened = cl
        .open_leaves(calc::OpenLeavesRequest {
            job_id: job_id.to_vec(),
            job_token: token,
            indices: vec![l - 1, l - 2],
            challenge: vec![],
        })
        .await?
        .into_inner();
    Ok(arb::DisputeRequest {
        job_id: job_id.to_vec(),
        chain: chain as i32,
        calculator_index: 0,
        sub_task: hex_field(&rec, "sub_task_hex")?,
        settlement: Some(settlement),
        evidence: Some(arb::dispute_request::Evidence::WrongResult(
            arb::WrongResult {
                commitment: Some(pc),
                result: fetched.result,
                openings: opened.openings,
            },
        )),
        outsourcer_key: Vec::new(),
        outsourcer_signature: Vec::new(),
    })
}

/// Signs `r` as `key` naming `named` as the outsourcer key, files it, and
/// checks T answers PERMISSION_DENIED.
async fn refused(
    net: &Net,
    mut r: arb::DisputeRequest,
    key: &bapay_daemon::SecretKey,
    named: Vec<u8>,
) -> Result<()> {
    r.outsourcer_key = named;
    r.outsourcer_signature = auth::sign(auth::DISPUTE_TAG, &r.encode_to_vec(), key.keypair())
        .serialize()
        .to_vec();
    // Its own calculator certificate is refused at the door; with an
    // outsourcer's certificate (a calculator that also runs an outsourcer)
    // the request reaches T, whose signature check refuses it.
    use bapay_daemon::tls::Role;
    let mut as_calc =
        ArbiterServiceClient::new(bapay_cli::channel_as(Role::Calculator, &net.arbiter.url())?);
    let e = as_calc
        .dispute(r.clone())
        .await
        .err()
        .context("T accepted a dispute from a calculator's certificate")?;
    ensure!(e.code() == tonic::Code::PermissionDenied, "{e:?}");
    let mut t =
        ArbiterServiceClient::new(bapay_cli::channel_as(Role::Outsourcer, &net.arbiter.url())?);
    let e = t
        .dispute(r)
        .await
        .err()
        .context("T accepted C_0's dispute against itself")?;
    ensure!(
        e.code() == tonic::Code::PermissionDenied && e.message().contains("outsourcer"),
        "{:?}: {}",
        e.code(),
        e.message()
    );
    Ok(())
}

fn c0_key(net: &Net) -> Result<bapay_daemon::SecretKey> {
    Ok(bapay_daemon::keys::load(
        &net.dir.join("calculator-0/calculator.key"),
    )?)
}

async fn on_bitcoin(net: &Net) -> Result<()> {
    let keys = keys(net).await?;
    let before = balances(net, &keys).await?;
    let id = net
        .submit(search_job(net, "self-dispute-btc", 2, 40))
        .await?;
    let job = net
        .advance(&id, WAIT, |j| state(j) >= pb::JobState::Computing)
        .await?;
    let Some(pb::job::ChainDetails::Bitcoin(b)) = &job.chain_details else {
        anyhow::bail!("not Bitcoin")
    };
    let utxo = |vout: u32, value_sat: u64| c::EscrowUtxo {
        txid: b.funding_txid.clone(),
        vout,
        value_sat,
    };
    let settlement = arb::dispute_request::Settlement::Bitcoin(arb::BitcoinDispute {
        terms: b.terms.clone(),
        escrow: Some(utxo(0, FEE)),
        deposit: Some(utxo(2, DEPOSIT)),
        fee_rate_sat_per_vb: 2.0,
        proposed_redeem_tx: Vec::new(),
    });
    let r = self_dispute(net, &id, c::Chain::Bitcoin, settlement).await?;
    let key = c0_key(net)?;
    let mine = key.x_only_public_key().serialize().to_vec();
    refused(net, r.clone(), &key, mine).await?;
    refused(net, r, &key, net.o_key().await?).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        slot(&job, 0) == pb::SlotState::Redeemed && slot(&job, 1) == pb::SlotState::Redeemed,
        "{}",
        bapay_cli::report::render(&job)
    );
    let after = balances(net, &keys).await?;
    for i in 0..2 {
        ensure!(
            after[1 + i] - before[1 + i] == -(DEPOSIT as i64),
            "cheat C{i} lost exactly its deposit"
        );
    }
    ensure!(after[0] > before[0], "O got the fees and deposits back");
    Ok(())
}

async fn on_ethereum(net: &Net) -> Result<()> {
    let addrs = net.fund_eth(100 * ETH).await?;
    let before = eth_balances(net, &addrs).await?;
    let id = net.submit(eth_job(net, "self-dispute-eth", 2)).await?;
    let job = net
        .advance(&id, WAIT, |j| {
            slot(j, 0) >= pb::SlotState::Working || settled(j)
        })
        .await?;
    let (chain_id, contract) = net.fairpay.context("FairPay")?;
    let key = c0_key(net)?;
    let mine = key.x_only_public_key().serialize().to_vec();
    let settlement = arb::dispute_request::Settlement::Ethereum(arb::EthereumDispute {
        deployment: Some(c::EthereumDeployment {
            chain_id,
            contract: contract.to_vec(),
        }),
        job: job.slots[0].ethereum_job.clone(),
        calculator_key: mine.clone(),
    });
    let r = self_dispute(net, &id, c::Chain::Ethereum, settlement).await?;
    refused(net, r.clone(), &key, mine).await?;
    refused(net, r, &key, net.o_key().await?).await?;
    let job = net.advance(&id, WAIT, settled).await?;
    ensure!(
        slot(&job, 0) == pb::SlotState::Redeemed && slot(&job, 1) == pb::SlotState::Redeemed,
        "{}",
        bapay_cli::report::render(&job)
    );
    let after = eth_balances(net, &addrs).await?;
    for i in 0..2 {
        ensure!(
            after[2 + i] - before[2 + i] < -(BOND as i128),
            "cheat C{i} lost its bond"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheat_cannot_file_against_itself() -> Result<()> {
    let net = Net::start(NetOptions {
        calculators: 2,
        lazy: vec![0, 1],
        poll_ms: 200,
        ethereum: true,
        ..Default::default()
    })
    .await?;
    net.fund(2_000_000, 500_000).await?;
    on_bitcoin(&net).await?;
    on_ethereum(&net).await?;
    Ok(())
}
