//! The arbiter's Ethereum path on a real anvil through the real
//! chain-adapter binary, the test playing O and the calculator W by hand:
//! FairPay deployed, O opens a job naming T, W bonds and commits a root,
//! O files `Dispute` with W's signed commitment and T's sample opened.
//! A lazy W (garbage leaves) is judged: T sends `judge(job)` from its own
//! address and O receives reward + bond, to the wei. A false dispute (an
//! honest W) is rejected LEAVES_CORRECT and the job stays committed.
//!
//! Needs anvil and the `chain-adapter` binary (`CHAIN_ADAPTER_EXE`, else
//! next to this crate's `arbiter` binary: `cargo build -p
//! bapay-chain-adapter`). Fails with how to get them.

#[path = "common/eth_case.rs"]
mod eth_case;
#[path = "../../calculator/tests/common/eth_env.rs"]
mod eth_env;

use alloy::primitives::{Address, B256, U256};
use anyhow::{ensure, Context, Result};
use bapay_arbiter::Config;
use bapay_daemon::SecretKey;
use bapay_fairpay::{wallet_provider, FairPayClient, JobParams};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::arbiter_service_client::ArbiterServiceClient;
use bapay_proto::arbiter::v1::{DisputeState, RejectReason};
use eth_case::{case, request};
use eth_env::EthEnv;
use tonic::transport::Channel;

const ETH: u128 = 1_000_000_000_000_000_000;
const JOB: [u8; 32] = [4; 32];
const M: u32 = 4;

struct World {
    env: EthEnv,
    arbiter: ArbiterServiceClient<Channel>,
    t_addr: Address,
    _dir: tempfile::TempDir,
}

async fn world() -> Result<World> {
    let env = EthEnv::start(env!("CARGO_BIN_EXE_arbiter")).await?;
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        sample_size: M,
        ..Config::default()
    };
    config.common.listen = "127.0.0.1:0".into();
    config.common.data_dir = dir.path().join("arbiter");
    config.common.chain_adapter_url = env.adapter_url.clone();
    config.common.tls.insecure_plaintext = true;
    config.ethereum.chain_id = env.chain_id;
    config.ethereum.contract = env.contract.to_string();
    let (server, _arb) = bapay_arbiter::bind(config).await?;
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    let mut arbiter = ArbiterServiceClient::connect(url).await?;
    let info = arbiter.get_info(pb::GetInfoRequest {}).await?.into_inner();
    let t_addr = Address::try_from(info.ethereum_address.as_slice())
        .context("GetInfo has no Ethereum address")?;
    env.set_balance(t_addr, ETH).await?;
    Ok(World {
        env,
        arbiter,
        t_addr,
        _dir: dir,
    })
}

/// O's key: anvil's dev account 1 (`dev_party(1)`).
fn o_key() -> Result<bitcoin::secp256k1::Keypair> {
    let sk = hex::decode(bapay_harness::ANVIL_DEV_KEYS[1])?;
    Ok(bitcoin::secp256k1::Keypair::from_seckey_slice(
        &bitcoin::secp256k1::Secp256k1::new(),
        &sk,
    )?)
}

/// O opens a job naming T for a fresh, funded W, W commits `root`.
async fn committed_job(w: &World, calc: &SecretKey, root: B256) -> Result<(JobParams, Address)> {
    let (o, o_addr) = w.env.dev_party(1)?;
    w.env.set_balance(calc.eth_address(), ETH).await?;
    let now = w.env.now().await?;
    let job = JobParams {
        outsourcer: o_addr,
        worker: calc.eth_address(),
        arbiter: w.t_addr,
        commitDeadline: now + 600,
        payoutTime: now + 1200,
        reward: ETH / 10,
        bond: ETH / 100,
        group: B256::repeat_byte(7),
        terms: B256::repeat_byte(8),
        audit: B256::repeat_byte(9),
    };
    o.open(&job).await?;
    let wp = wallet_provider(w.env.anvil.url(), calc.eth_signer())?;
    FairPayClient::new(w.env.contract, wp)
        .commit(&job, root)
        .await?;
    Ok((job, o_addr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_calculator_is_judged_and_o_gets_reward_and_bond() -> Result<()> {
    let mut w = world().await?;
    let calc = SecretKey::generate();
    let c = case(JOB, 0, calc.keypair(), true, M);
    let (job, o_addr) = committed_job(&w, &calc, c.root).await?;
    let before = w.env.balance(o_addr).await?;
    let key = calc.x_only_public_key().serialize();
    let req = request(
        &o_key()?,
        &c,
        JOB,
        0,
        &job,
        w.env.contract,
        w.env.chain_id,
        key,
    );
    let d = w
        .arbiter
        .dispute(req.clone())
        .await?
        .into_inner()
        .dispute
        .context("dispute")?;
    ensure!(d.state() == DisputeState::Judged, "not judged: {d:?}");
    ensure!(d.judge_tx_hash.len() == 32 && d.judge_block > 0, "{d:?}");
    let after = w.env.balance(o_addr).await?;
    ensure!(
        after == before + U256::from(job.reward + job.bond),
        "O: {before} -> {after}"
    );
    let (o, _) = w.env.dev_party(1)?;
    ensure!(o.state(bapay_fairpay::job_id(&job)).await? == B256::ZERO);
    // T paid the judge's gas itself; a repeat changes nothing.
    ensure!(w.env.gas_paid_by(w.t_addr).await? > U256::ZERO);
    let again = w.arbiter.dispute(req).await?.into_inner().dispute;
    ensure!(again.as_ref() == Some(&d), "repeat differs: {again:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_dispute_is_rejected_and_the_job_stays_committed() -> Result<()> {
    let mut w = world().await?;
    let calc = SecretKey::generate();
    let c = case(JOB, 0, calc.keypair(), false, M);
    let (job, _) = committed_job(&w, &calc, c.root).await?;
    let key = calc.x_only_public_key().serialize();
    let req = request(
        &o_key()?,
        &c,
        JOB,
        0,
        &job,
        w.env.contract,
        w.env.chain_id,
        key,
    );
    let d = w
        .arbiter
        .dispute(req)
        .await?
        .into_inner()
        .dispute
        .context("dispute")?;
    ensure!(d.state() == DisputeState::Rejected, "{d:?}");
    ensure!(d.reject_reason() == RejectReason::LeavesCorrect, "{d:?}");
    let (o, _) = w.env.dev_party(1)?;
    ensure!(o.state(bapay_fairpay::job_id(&job)).await? == c.root);
    ensure!(w.env.gas_paid_by(w.t_addr).await? == U256::ZERO);
    Ok(())
}
