//! `bapay-demo` (`make demo`): the end-to-end demo on local chains. Starts
//! the chain-adapter with its embedded nodes (`--spawn-nodes`: regtest
//! bitcoind and anvil as child processes), deploys FairPay, an arbiter, three calculators
//! (C2 is lazy: it skips half of its range) and an outsourcer, funds them
//! from the regtest faucet, then runs an honest job and a job with the lazy
//! calculator on each chain, printing each job's progress and report (result,
//! verification, payments, transaction sizes). Exits 0 only if both jobs
//! end as the protocol says. Logs: `$BAPAY_DEMO_DIR` (default
//! `target/bapay-demo`).

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use bapay_proto::chain::v1 as chain;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::{Net, NetOptions};

const WAIT: Duration = Duration::from_secs(600);

fn eth_job(net: &Net, name: &str, calculators: &[usize], seed: u8) -> pb::SubmitJobRequest {
    let mut r = job(net, name, calculators, seed);
    r.chain = common::Chain::Ethereum as i32;
    r.fee = Some(common::Amount {
        value: Some(common::amount::Value::Wei("100000000000000000".into())),
    });
    r.deposit = Some(common::Amount {
        value: Some(common::amount::Value::Wei("10000000000000000".into())),
    });
    r.fee_rate_sat_per_vb = None;
    r.timeouts = Some(pb::Timeouts {
        payout: Some(common::ChainTime {
            value: Some(common::chain_time::Value::SecondsFromNow(900)),
        }),
        result_deadline: None,
        offer_timeout_ms: 0,
    });
    r
}

fn job(net: &Net, name: &str, calculators: &[usize], seed: u8) -> pb::SubmitJobRequest {
    pb::SubmitJobRequest {
        request_id: format!("demo-{name}"),
        task: Some(common::TaskSpec {
            params: Some(common::task_spec::Params::Search(common::SearchParams {
                seed: vec![seed; 32],
                rounds: 16,
                difficulty_bits: 8,
                lo: 0,
                hi: 3000,
            })),
        }),
        chain: common::Chain::Bitcoin as i32,
        calculators: Some(pb::submit_job_request::Calculators::Explicit(
            pb::CalculatorList {
                calculators: calculators
                    .iter()
                    .map(|&i| pb::CalculatorRef {
                        endpoint: net.calculators[i].url(),
                        ..Default::default()
                    })
                    .collect(),
            },
        )),
        fee: Some(common::Amount {
            value: Some(common::amount::Value::Sat(20_000)),
        }),
        deposit: Some(common::Amount {
            value: Some(common::amount::Value::Sat(50_000)),
        }),
        timeouts: Some(pb::Timeouts {
            payout: Some(common::ChainTime {
                value: Some(common::chain_time::Value::BlocksFromNow(30)),
            }),
            result_deadline: None,
            offer_timeout_ms: 0,
        }),
        target_miss_probability: 1e-4,
        assumed_honest_fraction: Some(0.5),
        fee_rate_sat_per_vb: Some(2.0),
        threshold_l: 0,
        trap_deposit: false,
    }
}

/// Sizes of the job's transactions (vbytes, weight) from the chain.
async fn sizes(net: &Net, job: &pb::Job) -> Result<String> {
    if job.chain == common::Chain::Ethereum as i32 {
        return Ok(String::from(
            "  (Ethereum: O's gas is in its fees above; gas per FairPay call: `make gas`)\n",
        ));
    }
    let txs: BTreeSet<String> = job
        .transfers
        .iter()
        .map(|t| t.tx.clone())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = String::from("  transactions (from bitcoind):\n");
    for txid in txs {
        let st = net
            .btc()?
            .get_transaction_status(chain::GetTransactionStatusRequest { txid: txid.clone() })
            .await?
            .into_inner();
        let tx: bitcoin::Transaction =
            bitcoin::consensus::deserialize(&st.raw_tx).context("raw tx")?;
        out.push_str(&format!(
            "    {txid}  {:>4} vB  {} in / {} out  {} confirmations\n",
            tx.vsize(),
            tx.input.len(),
            tx.output.len(),
            st.confirmations
        ));
    }
    Ok(out)
}

async fn run(net: &Net, name: &str, req: pb::SubmitJobRequest) -> Result<pb::Job> {
    println!("\n=== {name} ===");
    let id = net.submit(req).await?;
    let mut o = net.o()?;
    let watcher = {
        let id = id.clone();
        tokio::spawn(async move {
            bapay_cli::watch::watch(&mut o, &id, WAIT, |l| println!("  {l}")).await
        })
    };
    let done = net
        .advance(&id, WAIT, |j| {
            matches!(
                pb::JobState::try_from(j.state),
                Ok(pb::JobState::Completed | pb::JobState::Failed | pb::JobState::Cancelled)
            )
        })
        .await?;
    let _ = tokio::time::timeout(Duration::from_secs(10), watcher).await;
    println!("\n{}", bapay_cli::report::render(&done));
    println!("{}", sizes(net, &done).await?);
    Ok(done)
}

#[tokio::main]
async fn main() -> Result<()> {
    let dir = std::env::var_os("BAPAY_DEMO_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "target/bapay-demo".into());
    let _ = std::fs::remove_dir_all(&dir);
    println!("BAPay demo: starting chain-adapter (with bitcoind + anvil), arbiter, 3 calculators, outsourcer");
    println!("logs and data: {}", dir.display());
    let net = Net::start(NetOptions {
        calculators: 3,
        lazy: vec![2],
        spawn_nodes: true,
        dir: Some(dir.clone()),
        poll_ms: 200,
        ethereum: true,
        ..Default::default()
    })
    .await?;
    println!("  chain-adapter {}", net.adapter.url());
    println!("  arbiter       {}", net.arbiter.url());
    for (i, c) in net.calculators.iter().enumerate() {
        println!(
            "  calculator {i}  {}{}",
            c.url(),
            if i == 2 {
                "  (lazy: skips half its range)"
            } else {
                ""
            }
        );
    }
    println!("  outsourcer    {}", net.outsourcer.url());
    println!(
        "mutual TLS everywhere; certificates (ca.pem, <role>.pem) in {} (BAPAY_TLS_DIR for the CLI)",
        bapay_scenarios::pki::pki()?.display()
    );
    net.fund(2_000_000, 500_000).await?;
    println!("funded O with 2,000,000 sat and each calculator with 500,000 sat (regtest faucet)");
    net.fund_eth(100 * 10u128.pow(18)).await?;
    if let Some((id, addr)) = net.fairpay {
        println!("FairPay deployed at {addr} (chain {id}); O, T and the calculators hold 100 ETH each (anvil)");
    }

    let honest = run(
        &net,
        "Bitcoin: honest job (C0, C1)",
        job(&net, "honest", &[0, 1], 1),
    )
    .await?;
    let cheat = run(
        &net,
        "Bitcoin: job with a lazy calculator (C0, C1, C2)",
        job(&net, "lazy", &[0, 1, 2], 2),
    )
    .await?;
    let eth_honest = run(
        &net,
        "Ethereum: honest job (C0, C1)",
        eth_job(&net, "eth-honest", &[0, 1], 3),
    )
    .await?;
    let eth_cheat = run(
        &net,
        "Ethereum: job with a lazy calculator (C0, C1, C2)",
        eth_job(&net, "eth-lazy", &[0, 1, 2], 4),
    )
    .await?;

    let paid = |j: &pb::Job, i: usize, s: pb::SlotState| {
        j.slots.get(i).is_some_and(|x| x.state == s as i32)
    };
    ensure!(
        honest.state == pb::JobState::Completed as i32 && honest.output.is_some(),
        "honest job did not complete"
    );
    ensure!(
        (0..2).all(|i| paid(&honest, i, pb::SlotState::Paid)),
        "honest calculators not paid"
    );
    ensure!(
        paid(&cheat, 2, pb::SlotState::Redeemed),
        "the lazy calculator was not caught"
    );
    ensure!(
        (0..2).all(|i| paid(&cheat, i, pb::SlotState::Paid)),
        "honest calculators of job 2 not paid"
    );
    ensure!(
        eth_honest.state == pb::JobState::Completed as i32 && eth_honest.output.is_some(),
        "Ethereum honest job did not complete"
    );
    ensure!(
        (0..2).all(|i| paid(&eth_honest, i, pb::SlotState::Paid)),
        "Ethereum calculators not paid"
    );
    ensure!(
        paid(&eth_cheat, 2, pb::SlotState::Redeemed),
        "the lazy Ethereum calculator was not caught"
    );
    println!("=== summary ===");
    println!("  honest job: result verified by sampling, both calculators paid d + g at t");
    println!(
        "  lazy job:   C2 caught by O's sample, the arbiter upheld the dispute, O redeemed d + g"
    );
    println!("  Ethereum:   the same two jobs on FairPay: honest workers paid reward + bond at t; the lazy one caught, O won disputeSearch on chain (reward + bond)");
    Ok(())
}
