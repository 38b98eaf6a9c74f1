//! `bapay`: the command line for people and scripts. Submits a job to an
//! outsourcer and watches it to the end with a progress line per event,
//! then prints the result and where every coin went (`--json`-free: the
//! gRPC API is the machine interface). Exit status 0 only if the job
//! COMPLETED.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use bapay_cli::{channel, regtest, report, watch};
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use bapay_proto::outsourcer::v1::outsourcer_service_client::OutsourcerServiceClient;
use clap::{Parser, Subcommand};
use rand::RngCore;

#[derive(Parser, Debug)]
#[command(name = "bapay", about = "Submit and follow BAPay jobs")]
struct Cli {
    /// The outsourcer's gRPC URL.
    #[arg(
        long,
        env = "BAPAY_OUTSOURCER_URL",
        default_value = "http://127.0.0.1:50061"
    )]
    outsourcer: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Submit a job and watch it until it settles.
    Submit(Box<Submit>),
    /// Watch a job until it settles, then print its report.
    Watch {
        /// Job id (hex).
        job_id: String,
        #[command(flatten)]
        mine: Mine,
    },
    /// Print a job's report.
    Get {
        /// Job id (hex).
        job_id: String,
    },
    /// List jobs, newest first.
    List,
    /// Cancel a job that has locked no money yet.
    Cancel {
        /// Job id (hex).
        job_id: String,
    },
    /// Show the outsourcer's keys, balance, pool and arbiter.
    Info,
    /// Regtest only: pay coins from the chain-adapter's faucet to the
    /// outsourcer (default) or to a calculator.
    Fund {
        /// The chain-adapter's gRPC URL.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        chain_adapter: String,
        /// Fund this calculator (its gRPC URL) instead of the outsourcer.
        #[arg(long)]
        calculator: Option<String>,
        /// Amount, sat.
        #[arg(long, default_value_t = 1_000_000)]
        sat: u64,
        /// Anvil only: also set its Ethereum balance to this many wei.
        #[arg(long)]
        wei: Option<u128>,
    },
    /// Anvil only: deploy FairPay through the chain-adapter and print its
    /// address (give it to every daemon as `ethereum.contract`).
    DeployFairpay {
        /// The chain-adapter's gRPC URL.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        chain_adapter: String,
    },
}

#[derive(clap::Args, Debug, Default)]
struct Mine {
    /// Local chains only: through this chain-adapter, mine a regtest block
    /// and move anvil's clock by `--anvil-seconds` every `--mine-every-ms`
    /// while watching.
    #[arg(long)]
    mine_via: Option<String>,
    /// Block interval for `--mine-via`, ms.
    #[arg(long, default_value_t = 1000)]
    mine_every_ms: u64,
    /// Seconds anvil's clock moves per `--mine-via` tick.
    #[arg(long, default_value_t = 12)]
    anvil_seconds: u64,
    /// Give up watching after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_s: u64,
}

#[derive(clap::Args, Debug)]
struct Submit {
    /// Settlement chain: bitcoin or ethereum.
    #[arg(long, default_value = "bitcoin")]
    chain: String,
    /// Task kind: search or linear.
    #[arg(long, default_value = "search")]
    kind: String,
    /// Search: range start.
    #[arg(long, default_value_t = 0)]
    lo: u64,
    /// Search: range end (exclusive).
    #[arg(long, default_value_t = 3000)]
    hi: u64,
    /// Search: SHA-256 rounds of f.
    #[arg(long, default_value_t = 4)]
    rounds: u32,
    /// Search: leading zero bits of a hit.
    #[arg(long, default_value_t = 8)]
    difficulty: u32,
    /// Search / linear seed (64 hex chars; random if unset).
    #[arg(long)]
    seed: Option<String>,
    /// Linear: rows of A.
    #[arg(long, default_value_t = 64)]
    rows: u32,
    /// Linear: columns of A (x is drawn at random).
    #[arg(long, default_value_t = 16)]
    cols: u32,
    /// Calculator URLs, comma-separated (else --pool).
    #[arg(long, value_delimiter = ',')]
    calculators: Vec<String>,
    /// Take n calculators from the outsourcer's pool.
    #[arg(long, default_value_t = 3)]
    pool: u32,
    /// Fee d per calculator (sat).
    #[arg(long, default_value_t = 20_000)]
    fee: u64,
    /// Deposit g per calculator (sat).
    #[arg(long, default_value_t = 50_000)]
    deposit: u64,
    /// t, in blocks from now (Bitcoin).
    #[arg(long, default_value_t = 40)]
    payout_blocks: u64,
    /// Ethereum: reward d per calculator, wei.
    #[arg(long, default_value = "100000000000000000")]
    reward_wei: String,
    /// Ethereum: bond g per calculator, wei.
    #[arg(long, default_value = "10000000000000000")]
    bond_wei: String,
    /// Ethereum: t, in seconds from the latest block's time.
    #[arg(long, default_value_t = 900)]
    payout_seconds: u64,
    /// Target miss probability p.
    #[arg(long, default_value_t = 1.0e-4)]
    p: f64,
    /// Assumed honest fraction q.
    #[arg(long)]
    q: Option<f64>,
    /// Idempotency key (random if unset).
    #[arg(long)]
    request_id: Option<String>,
    /// Return after submitting instead of watching.
    #[arg(long)]
    no_watch: bool,
    #[command(flatten)]
    mine: Mine,
}

fn id(hex_id: &str) -> Result<Vec<u8>> {
    let b = hex::decode(hex_id).context("job id is not hex")?;
    if b.len() != 32 {
        bail!("job id must be 32 bytes (64 hex characters)");
    }
    Ok(b)
}

fn seed(s: &Option<String>) -> Result<Vec<u8>> {
    match s {
        Some(h) => {
            let b = hex::decode(h).context("seed is not hex")?;
            if b.len() != 32 {
                bail!("seed must be 32 bytes");
            }
            Ok(b)
        }
        None => {
            let mut b = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut b);
            Ok(b)
        }
    }
}

fn request(a: &Submit) -> Result<pb::SubmitJobRequest> {
    let chain = match a.chain.as_str() {
        "bitcoin" => common::Chain::Bitcoin,
        "ethereum" => common::Chain::Ethereum,
        other => bail!("unknown chain {other:?} (bitcoin or ethereum)"),
    };
    let params = match a.kind.as_str() {
        "search" => common::task_spec::Params::Search(common::SearchParams {
            seed: seed(&a.seed)?,
            rounds: a.rounds,
            difficulty_bits: a.difficulty,
            lo: a.lo,
            hi: a.hi,
        }),
        "linear" => {
            let mut rng = rand::thread_rng();
            common::task_spec::Params::Linear(common::LinearParams {
                rows: a.rows,
                cols: a.cols,
                matrix_seed: seed(&a.seed)?,
                x: (0..a.cols)
                    .map(|_| rng.next_u64() % ((1 << 61) - 1))
                    .collect(),
            })
        }
        other => bail!("unknown kind {other:?} (search or linear)"),
    };
    let calculators = if a.calculators.is_empty() {
        pb::submit_job_request::Calculators::PoolCount(a.pool)
    } else {
        pb::submit_job_request::Calculators::Explicit(pb::CalculatorList {
            calculators: a
                .calculators
                .iter()
                .map(|e| pb::CalculatorRef {
                    endpoint: e.clone(),
                    ..Default::default()
                })
                .collect(),
        })
    };
    let mut rid = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut rid);
    Ok(pb::SubmitJobRequest {
        request_id: a
            .request_id
            .clone()
            .unwrap_or_else(|| format!("cli-{}", hex::encode(rid))),
        task: Some(common::TaskSpec {
            params: Some(params),
        }),
        chain: chain as i32,
        calculators: Some(calculators),
        fee: Some(common::Amount {
            value: Some(match chain {
                common::Chain::Ethereum => common::amount::Value::Wei(a.reward_wei.clone()),
                _ => common::amount::Value::Sat(a.fee),
            }),
        }),
        deposit: Some(common::Amount {
            value: Some(match chain {
                common::Chain::Ethereum => common::amount::Value::Wei(a.bond_wei.clone()),
                _ => common::amount::Value::Sat(a.deposit),
            }),
        }),
        timeouts: Some(pb::Timeouts {
            payout: Some(common::ChainTime {
                value: Some(match chain {
                    common::Chain::Ethereum => {
                        common::chain_time::Value::SecondsFromNow(a.payout_seconds)
                    }
                    _ => common::chain_time::Value::BlocksFromNow(a.payout_blocks),
                }),
            }),
            result_deadline: None,
            offer_timeout_ms: 0,
        }),
        target_miss_probability: a.p,
        assumed_honest_fraction: a.q,
        fee_rate_sat_per_vb: None,
        threshold_l: 0,
    })
}

async fn follow(
    o: &mut OutsourcerServiceClient<tonic::transport::Channel>,
    job: &[u8],
    mine: &Mine,
) -> Result<pb::Job> {
    let miner = match &mine.mine_via {
        Some(url) => Some(regtest::spawn_miner(
            url,
            Duration::from_millis(mine.mine_every_ms.max(50)),
            mine.anvil_seconds,
        )?),
        None => None,
    };
    let out = watch::watch(o, job, Duration::from_secs(mine.timeout_s), |l| {
        println!("{l}")
    })
    .await;
    if let Some(m) = miner {
        m.abort();
    }
    out
}

fn finish(job: &pb::Job) -> Result<()> {
    println!("\n{}", report::render(job));
    if job.state != pb::JobState::Completed as i32 {
        bail!("job ended {}", report::job_state(job.state));
    }
    Ok(())
}

fn status(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", e.code(), e.message())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut o = OutsourcerServiceClient::new(channel(&cli.outsourcer)?);
    match cli.cmd {
        Cmd::Submit(a) => {
            let job = o
                .submit_job(request(&a)?)
                .await
                .map_err(status)?
                .into_inner()
                .job
                .context("no job")?;
            println!("submitted job {}", hex::encode(&job.job_id));
            if a.no_watch {
                return Ok(());
            }
            let job = follow(&mut o, &job.job_id, &a.mine).await?;
            finish(&job)
        }
        Cmd::Watch { job_id, mine } => {
            let job = follow(&mut o, &id(&job_id)?, &mine).await?;
            finish(&job)
        }
        Cmd::Get { job_id } => {
            let job = o
                .get_job(pb::GetJobRequest {
                    job_id: id(&job_id)?,
                })
                .await
                .map_err(status)?
                .into_inner();
            println!("{}", report::render(&job.job.context("no job")?));
            Ok(())
        }
        Cmd::List => {
            let r = o
                .list_jobs(pb::ListJobsRequest::default())
                .await
                .map_err(status)?
                .into_inner();
            for j in r.jobs {
                println!(
                    "{}  {:<16} {:<7} n={}  {}",
                    hex::encode(&j.job_id),
                    report::job_state(j.state),
                    j.task_kind,
                    j.calculator_count,
                    j.request_id
                );
            }
            Ok(())
        }
        Cmd::Cancel { job_id } => {
            let r = o
                .cancel_job(pb::CancelJobRequest {
                    job_id: id(&job_id)?,
                    reason: "cancelled with bapay cancel".into(),
                })
                .await
                .map_err(status)?
                .into_inner();
            println!("{}", report::render(&r.job.context("no job")?));
            Ok(())
        }
        Cmd::Info => {
            let i = o
                .get_info(pb::GetInfoRequest {})
                .await
                .map_err(status)?
                .into_inner();
            println!("bitcoin key    {}", hex::encode(&i.bitcoin_key));
            println!("balance        {} sat", i.bitcoin_balance_sat);
            println!("arbiter        {}", i.arbiter_endpoint);
            println!("pool           {}", i.pool.join(", "));
            Ok(())
        }
        Cmd::DeployFairpay { chain_adapter } => {
            let (chain_id, addr) = regtest::deploy_fairpay(&chain_adapter).await?;
            println!("FairPay deployed at {addr} (chain id {chain_id})");
            Ok(())
        }
        Cmd::Fund {
            chain_adapter,
            calculator,
            sat,
            wei,
        } => {
            let (key, address) = match calculator {
                Some(url) => {
                    let mut c = CalculatorServiceClient::new(channel(&url)?);
                    let i = c
                        .get_info(bapay_proto::calculator::v1::GetInfoRequest {})
                        .await
                        .map_err(status)?
                        .into_inner();
                    (i.bitcoin_key, i.ethereum_address)
                }
                None => {
                    let i = o
                        .get_info(pb::GetInfoRequest {})
                        .await
                        .map_err(status)?
                        .into_inner();
                    (i.bitcoin_key, i.ethereum_address)
                }
            };
            if let Some(wei) = wei {
                if address.len() != 20 {
                    bail!("the daemon has no Ethereum address (set ethereum.contract)");
                }
                regtest::set_balance(&chain_adapter, &address, wei).await?;
                println!(
                    "set the balance of 0x{} to {wei} wei",
                    hex::encode(&address)
                );
            }
            let txid = regtest::fund(&chain_adapter, &key, sat).await?;
            println!("paid {sat} sat to {} in {txid}", hex::encode(&key));
            Ok(())
        }
    }
}
