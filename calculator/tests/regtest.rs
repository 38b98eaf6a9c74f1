//! One whole Bitcoin sub-task on real regtest, through the real
//! chain-adapter binary: Offer → SignFunding → O signs and broadcasts the
//! funding → StartWork → FetchResult (verified commitment) → the driver
//! broadcasts Charge_i at t → PAID. n = 1.
//!
//! Needs `bitcoind` (`BITCOIND_EXE` or PATH, as the harness finds it) and
//! the `chain-adapter` binary (`CHAIN_ADAPTER_EXE`, else next to this test's
//! `calculator` binary: build it with `cargo build -p bapay-chain-adapter`).
//! Without them the test fails and says how to get them (a silent skip would
//! let CI pass without running it).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_calculator::Config;
use bapay_core::commitment::{Commitment, SignedCommitment};
use bapay_core::escrow::{
    build_charge, build_funding, finalize_funding, p2tr_key_spend_script, sign_escrow_input,
    sign_funding_checked, CalculatorFunding, EscrowParams, EscrowTerms, FundingInput,
};
use bapay_core::keys::{message_secret, PublishedKeys};
use bapay_core::merkle::Hash32;
use bapay_core::task::search::SearchParams;
use bapay_core::task::{SubResult, SubTask};
use bapay_harness::{Bitcoind, ChildProcess};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;
use bapay_proto::chain::v1 as chain;
use bapay_proto::chain::v1::bitcoin_service_client::BitcoinServiceClient;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::{rand::thread_rng, Keypair, Secp256k1};
use bitcoin::{Amount, FeeRate, OutPoint, Psbt, ScriptBuf, TxOut};

const WAIT: Duration = Duration::from_secs(120);

fn adapter_exe() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHAIN_ADAPTER_EXE") {
        return Some(PathBuf::from(p));
    }
    let me = PathBuf::from(env!("CARGO_BIN_EXE_calculator"));
    let p = me.parent()?.join("chain-adapter");
    p.is_file().then_some(p)
}

async fn poll<T, F, Fut>(what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        ensure!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitcoin_sub_task_end_to_end_on_regtest() -> Result<()> {
    let adapter_exe = adapter_exe().context(
        "no chain-adapter binary: set CHAIN_ADAPTER_EXE or run `cargo build -p bapay-chain-adapter` (make test does)",
    )?;
    let bitcoind = Bitcoind::spawn()
        .await
        .context("no bitcoind: run `make test` or `eval \"$(scripts/install-tools.sh)\"`")?;
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new(adapter_exe);
    cmd.args(["--listen", "127.0.0.1:0", "--insecure-plaintext"])
        .args(["--bitcoin-rpc-url", &bitcoind.rpc_url()])
        .arg("--bitcoin-cookie-file")
        .arg(bitcoind.cookie_file())
        .env("BAPAY_CHAIN__BITCOIN__WATCH_POLL_MS", "100")
        .env("RUST_LOG", "info");
    let mut adapter = ChildProcess::spawn("chain-adapter", cmd, dir.path())?;
    let addr = adapter.wait_for_log("listening on ", WAIT).await?;
    let adapter_url = format!("http://{addr}");
    let mut btc = BitcoinServiceClient::connect(adapter_url.clone()).await?;

    // The calculator daemon, in process, trusting T.
    let secp = Secp256k1::new();
    let t_key = Keypair::new(&secp, &mut thread_rng());
    let mut config = Config::default();
    config.common.listen = "127.0.0.1:0".into();
    config.common.data_dir = dir.path().join("calc");
    config.common.chain_adapter_url = adapter_url.clone();
    config.common.poll_interval_ms = 200;
    config.common.tls.insecure_plaintext = true;
    config.trusted_arbiters = vec![t_key.x_only_public_key().0.to_string()];
    let (server, calc) = bapay_calculator::bind(config).await?;
    let calc_url = format!("http://{}", server.local_addr());
    let _driver = bapay_calculator::driver::spawn(calc.clone());
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    let mut client = CalculatorServiceClient::connect(calc_url).await?;
    let info = client.get_info(pb::GetInfoRequest {}).await?.into_inner();
    let me = bitcoin::XOnlyPublicKey::from_slice(&info.bitcoin_key)?;

    // Coins: mature the faucet, pay the calculator and O.
    btc.mine_blocks(chain::MineBlocksRequest {
        count: 101,
        address: String::new(),
    })
    .await?;
    let o = Keypair::new(&secp, &mut thread_rng());
    let o_script = p2tr_key_spend_script(o.x_only_public_key().0);
    btc.faucet_pay(chain::FaucetPayRequest {
        address: String::new(),
        script_pubkey: p2tr_key_spend_script(me).to_bytes(),
        amount_sat: 50_000,
        confirm: true,
    })
    .await?;
    let o_pay = btc
        .faucet_pay(chain::FaucetPayRequest {
            address: String::new(),
            script_pubkey: o_script.to_bytes(),
            amount_sat: 300_000,
            confirm: true,
        })
        .await?
        .into_inner();

    // The job: one calculator, a small search.
    let tip = btc
        .get_tip(chain::GetTipRequest {})
        .await?
        .into_inner()
        .height;
    let t = u32::try_from(tip + 20)?;
    let r = [9u8; 32];
    let sub = SubTask::Search(SearchParams {
        seed: Hash32::from([5; 32]),
        rounds: 1,
        difficulty_bits: 3,
        lo: 0,
        hi: 64,
    });
    let salt = [4u8; 32];
    let sk = message_secret(&sub.to_bytes(), &salt, &r)?;
    let pm = PublishedKeys::from_secrets(&secp, &[sk])?;
    let params = EscrowParams::new(EscrowTerms {
        outsourcer: o.x_only_public_key().0,
        arbiter: t_key.x_only_public_key().0,
        calculators: vec![me],
        collusion_key: pm.aggregate_x_only(),
        fee: Amount::from_sat(10_000),
        deposit: Amount::from_sat(20_000),
        timeout: t,
        threshold: None,
        trap_deposit: false,
    })?;
    let job_id = vec![1u8; 32];
    let token = vec![2u8; 32];
    let mut req = pb::OfferRequest {
        job_id: job_id.clone(),
        job_token: token.clone(),
        chain: common::Chain::Bitcoin as i32,
        calculator_count: 1,
        index: 0,
        sub_task: sub.to_bytes(),
        sub_task_salt: salt.to_vec(),
        job_random: r.to_vec(),
        message_keys: pm.keys.iter().map(|k| k.serialize().to_vec()).collect(),
        outsourcer: o.x_only_public_key().0.serialize().to_vec(),
        outsourcer_key: o.x_only_public_key().0.serialize().to_vec(),
        outsourcer_signature: Vec::new(),
        terms: Some(pb::offer_request::Terms::Bitcoin(pb::BitcoinOffer {
            terms: Some(common::BitcoinEscrowTerms {
                outsourcer: o.x_only_public_key().0.serialize().to_vec(),
                arbiter: t_key.x_only_public_key().0.serialize().to_vec(),
                calculators: vec![me.serialize().to_vec()],
                collusion_key: pm.aggregate_x_only().serialize().to_vec(),
                fee_sat: 10_000,
                deposit_sat: 20_000,
                timeout_height: t,
                threshold: None,
                trap_deposit: false,
            }),
            fee_rate_sat_per_vb: 2.0,
            result_deadline_height: tip + 10,
        })),
    };
    req.outsourcer_signature = bapay_core::auth::sign(
        bapay_core::auth::OFFER_TAG,
        &prost::Message::encode_to_vec(&req),
        &o,
    )
    .serialize()
    .to_vec();
    let offer = client.offer(req).await?.into_inner();
    ensure!(offer.accepted, "declined: {offer:?}");
    let funding = offer.funding.context("funding")?;

    // O: funding PSBT and Charge_0.
    let input = |txid: &str, vout, value, script: Vec<u8>| -> Result<FundingInput> {
        Ok(FundingInput {
            outpoint: OutPoint {
                txid: txid.parse()?,
                vout,
            },
            txout: TxOut {
                value: Amount::from_sat(value),
                script_pubkey: ScriptBuf::from_bytes(script),
            },
        })
    };
    let mine = CalculatorFunding {
        inputs: funding
            .inputs
            .iter()
            .map(|i| input(&i.txid, i.vout, i.value_sat, i.script_pubkey.clone()))
            .collect::<Result<_>>()?,
        change: ScriptBuf::from_bytes(funding.change_script.clone()),
    };
    let rate = FeeRate::from_sat_per_vb(2).context("rate")?;
    let o_coin = input(&o_pay.txid, o_pay.vout, 300_000, o_script.to_bytes())?;
    let plan = build_funding(&params, &[o_coin], o_script.clone(), &[mine], rate)?;
    let payout = ScriptBuf::from_bytes(funding.payout_script.clone());
    let charge = build_charge(&params, 0, plan.slot_escrow(0)?, payout, rate, tip as u32)?;
    let o_sig = sign_escrow_input(&charge, 0, &o)?;
    let signed = client
        .sign_funding(pb::SignFundingRequest {
            job_id: job_id.clone(),
            job_token: token.clone(),
            charge: Some(common::PresignedCharge {
                tx: bitcoin::consensus::serialize(&charge.tx),
                outsourcer_signature: o_sig.serialize().to_vec(),
            }),
            funding_psbt: plan.psbt.serialize(),
        })
        .await?
        .into_inner();
    let mut psbt = Psbt::deserialize(&signed.funding_psbt)?;
    sign_funding_checked(
        &mut psbt,
        &params,
        &o,
        &o_script,
        Amount::from_sat(10_000 + 5_000),
    )?;
    let funding_tx = finalize_funding(&psbt)?;
    btc.broadcast_transaction(chain::BroadcastTransactionRequest {
        raw_tx: bitcoin::consensus::serialize(&funding_tx),
    })
    .await?;
    btc.mine_blocks(chain::MineBlocksRequest {
        count: 1,
        address: String::new(),
    })
    .await?;

    // Work.
    client
        .start_work(pb::StartWorkRequest {
            job_id: job_id.clone(),
            job_token: token.clone(),
            funding_txid: signed.funding_txid.clone(),
            open_tx_hash: Vec::new(),
        })
        .await?;
    let fetched = poll("the result", || {
        let mut client = client.clone();
        let (job_id, token) = (job_id.clone(), token.clone());
        async move {
            let f = client
                .fetch_result(pb::FetchResultRequest {
                    job_id,
                    job_token: token,
                })
                .await?
                .into_inner();
            Ok((f.state == pb::SubTaskState::Committed as i32).then_some(f))
        }
    })
    .await?;
    let res = SubResult::from_bytes(&fetched.result)?;
    let (expect, tree) = sub.compute_and_commit()?;
    ensure!(res == expect, "wrong result");
    let pc = fetched.commitment.context("commitment")?;
    SignedCommitment {
        commitment: Commitment::new(
            bapay_core::commitment::Chain::Bitcoin,
            [1; 32],
            0,
            &sub,
            &res,
            tree.root(),
            tree.leaf_count(),
        ),
        signature: pc.signature.as_slice().try_into()?,
    }
    .verify(&me)?;

    // t: the driver broadcasts Charge_0; one more block pays it.
    let now = btc
        .get_tip(chain::GetTipRequest {})
        .await?
        .into_inner()
        .height;
    btc.mine_blocks(chain::MineBlocksRequest {
        count: u32::try_from(u64::from(t) - now)?,
        address: String::new(),
    })
    .await?;
    let status = |want: pb::SubTaskState| {
        let mut client = client.clone();
        let (job_id, token) = (job_id.clone(), token.clone());
        async move {
            let s = client
                .get_status(pb::GetStatusRequest {
                    job_id,
                    job_token: token,
                })
                .await?
                .into_inner();
            Ok((s.state == want as i32).then_some(s))
        }
    };
    poll("CLAIMING", || status(pb::SubTaskState::Claiming))
        .await
        .map_err(|e| adapter.with_tail(e))?;
    btc.mine_blocks(chain::MineBlocksRequest {
        count: 1,
        address: String::new(),
    })
    .await?;
    poll("PAID", || status(pb::SubTaskState::Paid)).await?;
    Ok(())
}
