//! `bapay`: the command line for people and scripts. Submits a job to an
//! outsourcer and watches it to the end with a progress line per event,
//! then prints the result and where every coin went (`--json`-free: the
//! gRPC API is the machine interface). Exit status 0 only if the job
//! COMPLETED.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use bapay_cli::{channel, regtest, report, watch};
use bapay_proto::calculator::v1::calculator_service_client::CalculatorServiceClient;
use bapay_proto::outsourcer::v1 as pb;
use bapay_proto::outsourcer::v1::outsourcer_service_client::OutsourcerServiceClient;
use clap::{Parser, Subcommand};
mod submit;

use submit::{request, Submit};

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
    /// Certificate directory (`ca.pem`, `user.pem`, `user-key.pem`, and
    /// `admin.pem` / `admin-key.pem` for the regtest helpers), as `bapay
    /// certs` or the outsourcer's first start (`<data_dir>/tls/`) made it.
    #[arg(long, env = "BAPAY_TLS_DIR", value_name = "DIR")]
    tls_dir: Option<std::path::PathBuf>,
    /// Talk plaintext to daemons started with `--insecure-plaintext`.
    #[arg(long)]
    insecure_plaintext: bool,
    /// The certificate to present (`<tls-dir>/<role>.pem`) for every call
    /// but the regtest / anvil helpers (always `admin`): `user` for the
    /// outsourcer; e.g. `calculator` for `arbiter-id` on a calculator's host.
    #[arg(
        long = "as",
        env = "BAPAY_TLS_ROLE",
        value_name = "ROLE",
        default_value = "user"
    )]
    role: String,
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
    /// Print an arbiter's identity as a calculator pins it:
    /// `<x-only key hex>,<Ethereum address>`, ready for the calculator's
    /// `trusted_arbiters` (e.g. `BAPAY_CALCULATOR__TRUSTED_ARBITERS`).
    ArbiterId {
        /// The arbiter's gRPC URL.
        #[arg(long, default_value = "http://127.0.0.1:50063")]
        arbiter: String,
    },
    /// Make a deployment's certificates in `--out`: a CA (`ca.pem`,
    /// `ca-key.pem`) and one certificate per role (`<role>.pem`,
    /// `<role>-key.pem`) for `--hosts`; with `--ca DIR`, issue `--role`
    /// from that existing CA instead (one certificate per role and host).
    Certs {
        /// Output directory.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Hosts (DNS names or IPs) the certificates are valid for.
        #[arg(long, value_delimiter = ',', default_value = "localhost,127.0.0.1")]
        hosts: Vec<String>,
        /// Issue from the CA in this directory (`ca.pem`, `ca-key.pem`).
        #[arg(long)]
        ca: Option<std::path::PathBuf>,
        /// With `--ca`: the roles to issue (user, admin, outsourcer,
        /// calculator, arbiter, chain-adapter).
        #[arg(long, value_delimiter = ',')]
        role: Vec<String>,
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
pub(crate) struct Mine {
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

fn id(hex_id: &str) -> Result<Vec<u8>> {
    let b = hex::decode(hex_id).context("job id is not hex")?;
    if b.len() != 32 {
        bail!("job id must be 32 bytes (64 hex characters)");
    }
    Ok(b)
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

/// `bapay certs`.
fn certs(
    out: &std::path::Path,
    hosts: &[String],
    ca: Option<&std::path::Path>,
    roles: &[String],
) -> Result<()> {
    use bapay_daemon::tls::{pki, Role};
    match ca {
        None => {
            pki::deployment(out, "deployment", &Role::ALL, hosts)?;
            println!(
                "CA and certificates for every role ({}) in {}",
                Role::ALL.map(|r| r.as_str()).join(", "),
                out.display()
            );
        }
        Some(dir) => {
            let read = |f: &str| {
                std::fs::read_to_string(dir.join(f))
                    .with_context(|| format!("reading {}", dir.join(f).display()))
            };
            let ca = pki::Ca::load(&read("ca.pem")?, &read("ca-key.pem")?)?;
            if roles.is_empty() {
                bail!("--ca needs --role");
            }
            pki::write_file(&out.join("ca.pem"), &ca.cert_pem, false)?;
            for r in roles {
                let role = Role::parse(r).with_context(|| format!("unknown role {r}"))?;
                pki::write_identity(out, role, &ca.issue(role, hosts)?)?;
                println!(
                    "{role} certificate for {} in {}",
                    hosts.join(", "),
                    out.display()
                );
            }
        }
    }
    Ok(())
}

fn status(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", e.code(), e.message())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Cmd::Certs {
        out,
        hosts,
        ca,
        role,
    } = &cli.cmd
    {
        return certs(out, hosts, ca.as_deref(), role);
    }
    bapay_cli::set_role(
        bapay_daemon::tls::Role::parse(&cli.role)
            .with_context(|| format!("--as: unknown role {}", cli.role))?,
    );
    match (&cli.tls_dir, cli.insecure_plaintext) {
        (Some(d), false) => bapay_cli::set_tls_dir(Some(d.clone())),
        (None, true) => bapay_cli::set_tls_dir(None),
        (Some(_), true) => bail!("--tls-dir and --insecure-plaintext exclude each other"),
        (None, false) => bail!(
            "set --tls-dir (BAPAY_TLS_DIR) to your certificates, e.g. the outsourcer's \
             <data_dir>/tls, or --insecure-plaintext for daemons started that way"
        ),
    }
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
        Cmd::ArbiterId { arbiter } => {
            use bapay_proto::arbiter::v1 as arb;
            let i = arb::arbiter_service_client::ArbiterServiceClient::new(channel(&arbiter)?)
                .get_info(arb::GetInfoRequest {})
                .await
                .map_err(status)?
                .into_inner();
            let mut id = vec![hex::encode(&i.bitcoin_key)];
            if i.ethereum_address.len() == 20 {
                id.push(format!("0x{}", hex::encode(&i.ethereum_address)));
            }
            println!("{}", id.join(","));
            Ok(())
        }
        Cmd::Certs { .. } => Ok(()),
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
