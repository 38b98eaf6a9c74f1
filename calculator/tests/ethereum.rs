//! One whole Ethereum sub-task on a real anvil through the real
//! chain-adapter binary, the test playing O by hand: deploy FairPay, fund
//! the calculator (SetBalance through the adapter), Offer → O sends
//! `open(job)` with the reward → StartWork → the calculator bonds and
//! commits on chain → FetchResult verifies (commitment, on-chain root,
//! commit tx) → IncreaseTime past t → the driver sends `payout` → PAID,
//! and the calculator's balance rose by reward minus its gas, to the wei.
//!
//! Needs anvil (`ANVIL_EXE` or PATH) and the `chain-adapter` binary
//! (`CHAIN_ADAPTER_EXE`, else next to this crate's `calculator` binary:
//! `cargo build -p bapay-chain-adapter`). Fails with how to get them.

#[path = "common/eth_env.rs"]
mod eth_env;
#[path = "common/eth_offer.rs"]
mod eth_offer;

use alloy::primitives::{B256, U256};
use anyhow::{ensure, Context, Result};
use bapay_calculator::Config;
use bapay_core::commitment::{Chain, Commitment, SignedCommitment};
use bapay_core::merkle::Hash32;
use bapay_core::task::search::SearchParams;
use bapay_core::task::{SubResult, SubTask};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;
use bapay_proto::calculator::v1::SubTaskState;
use eth_env::{poll, EthEnv};
use eth_offer::{build, OfferSpec};

const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_sub_task_offer_to_paid_on_anvil() -> Result<()> {
    let env = EthEnv::start(env!("CARGO_BIN_EXE_calculator")).await?;
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.common.listen = "127.0.0.1:0".into();
    config.common.data_dir = dir.path().join("calc");
    config.common.chain_adapter_url = env.adapter_url.clone();
    config.common.poll_interval_ms = 200;
    config.common.tls.insecure_plaintext = true;
    config.ethereum.deployment.chain_id = env.chain_id;
    config.ethereum.deployment.contract = env.contract.to_string();
    config.trusted_arbiters = vec![alloy::primitives::Address::repeat_byte(0x7a).to_string()];
    let (server, calc) = bapay_calculator::bind(config).await?;
    let calc_url = format!("http://{}", server.local_addr());
    let _driver = bapay_calculator::driver::spawn(calc.clone());
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    let mut client = CalculatorServiceClient::connect(calc_url).await?;
    let info = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    let me = alloy::primitives::Address::try_from(info.ethereum_address.as_slice())
        .context("GetInfo has no Ethereum address")?;
    let start_balance = 10 * ETH;
    env.set_balance(me, start_balance).await?;

    let (o, _) = env.dev_party(1)?;
    let now = env.now().await?;
    let reward = ETH / 10;
    let bond = ETH / 100;
    let sub = SubTask::Search(SearchParams {
        seed: Hash32::from([5; 32]),
        rounds: 1,
        difficulty_bits: 3,
        lo: 0,
        hi: 64,
    });
    let spec = OfferSpec {
        job_id: [1; 32],
        token: [2; 32],
        random: [9; 32],
        index: 0,
        subs: vec![sub.clone()],
        workers: vec![me],
        outsourcer_secret: hex::decode(bapay_harness::ANVIL_DEV_KEYS[1])?
            .try_into()
            .map_err(|_| anyhow::anyhow!("dev key"))?,
        arbiter: alloy::primitives::Address::repeat_byte(0x7a),
        contract: env.contract,
        chain_id: env.chain_id,
        commit_deadline: now + 600,
        payout_time: now + 1200,
        reward,
        bond,
    };
    let (job, offer) = build(&spec);
    let answer = client.offer(offer).await?.into_inner();
    ensure!(answer.accepted, "declined: {answer:?}");

    // O opens the job with the reward.
    let opened = o.open(&job).await?;
    let start = client
        .start_work(pb::StartWorkRequest {
            job_id: spec.job_id.to_vec(),
            job_token: spec.token.to_vec(),
            funding_txid: String::new(),
            open_tx_hash: opened.transaction_hash.to_vec(),
        })
        .await?
        .into_inner();
    ensure!(
        start.state() == SubTaskState::Computing,
        "StartWork: {start:?}"
    );

    // The calculator computes, bonds and commits; O fetches and verifies.
    let fetched = poll("the committed result", || {
        let mut client = client.clone();
        async move {
            let r = client
                .fetch_result(pb::FetchResultRequest {
                    job_id: spec.job_id.to_vec(),
                    job_token: spec.token.to_vec(),
                })
                .await?
                .into_inner();
            Ok((r.state() == SubTaskState::Committed).then_some(r))
        }
    })
    .await?;
    let res = SubResult::from_bytes(&fetched.result)?;
    let (expected, tree) = sub.compute_and_commit()?;
    ensure!(res == expected, "result differs");
    let sc = fetched.commitment.context("commitment")?;
    let commitment = Commitment::new(
        Chain::Ethereum,
        spec.job_id,
        0,
        &sub,
        &res,
        tree.root(),
        tree.leaf_count(),
    );
    ensure!(sc.root == tree.root().as_bytes().to_vec(), "root");
    let signed = SignedCommitment {
        commitment,
        signature: sc.signature.as_slice().try_into()?,
    };
    signed.verify(&bitcoin::XOnlyPublicKey::from_slice(&info.bitcoin_key)?)?;
    ensure!(fetched.commit_tx_hash.len() == 32, "commit tx hash");
    let on_chain = o.state(bapay_fairpay::job_id(&job)).await?;
    ensure!(
        on_chain == B256::from(tree.root().0),
        "on-chain root {on_chain}"
    );

    // Past t the driver takes reward + bond.
    env.increase_time(1300).await?;
    poll("PAID", || {
        let mut client = client.clone();
        async move {
            let s = client
                .get_status(pb::GetStatusRequest {
                    job_id: spec.job_id.to_vec(),
                    job_token: spec.token.to_vec(),
                })
                .await?
                .into_inner();
            Ok((s.state() == SubTaskState::Paid).then_some(s))
        }
    })
    .await?;
    ensure!(o.state(bapay_fairpay::job_id(&job)).await? == B256::ZERO);
    let gas = env.gas_paid_by(me).await?;
    let balance = env.balance(me).await?;
    ensure!(gas > U256::ZERO, "the calculator paid no gas?");
    ensure!(
        balance == U256::from(start_balance + reward) - gas,
        "balance {balance} != {start_balance} + {reward} - gas {gas}"
    );
    Ok(())
}
