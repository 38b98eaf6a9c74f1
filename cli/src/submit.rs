//! `bapay submit`: the command's flags and the SubmitJob request they
//! make (search or linear job, Bitcoin or Ethereum amounts and times).

use anyhow::{bail, Context, Result};
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use rand::RngCore;

use crate::Mine;

#[derive(clap::Args, Debug)]
pub struct Submit {
    /// Settlement chain: bitcoin or ethereum.
    #[arg(long, default_value = "bitcoin")]
    pub chain: String,
    /// Task kind: search or linear.
    #[arg(long, default_value = "search")]
    pub kind: String,
    /// Search: range start.
    #[arg(long, default_value_t = 0)]
    pub lo: u64,
    /// Search: range end (exclusive).
    #[arg(long, default_value_t = 3000)]
    pub hi: u64,
    /// Search: SHA-256 rounds of f.
    #[arg(long, default_value_t = 4)]
    pub rounds: u32,
    /// Search: leading zero bits of a hit.
    #[arg(long, default_value_t = 8)]
    pub difficulty: u32,
    /// Search / linear seed (64 hex chars; random if unset).
    #[arg(long)]
    pub seed: Option<String>,
    /// Linear: rows of A.
    #[arg(long, default_value_t = 64)]
    pub rows: u32,
    /// Linear: columns of A (x is drawn at random).
    #[arg(long, default_value_t = 16)]
    pub cols: u32,
    /// Calculator URLs, comma-separated (else --pool).
    #[arg(long, value_delimiter = ',')]
    pub calculators: Vec<String>,
    /// Take n calculators from the outsourcer's pool.
    #[arg(long, default_value_t = 3)]
    pub pool: u32,
    /// Fee d per calculator (sat).
    #[arg(long, default_value_t = 20_000)]
    pub fee: u64,
    /// Deposit g per calculator (sat).
    #[arg(long, default_value_t = 50_000)]
    pub deposit: u64,
    /// t, in blocks from now (Bitcoin).
    #[arg(long, default_value_t = 40)]
    pub payout_blocks: u64,
    /// Ethereum: reward d per calculator, wei.
    #[arg(long, default_value = "100000000000000000")]
    pub reward_wei: String,
    /// Ethereum: bond g per calculator, wei.
    #[arg(long, default_value = "10000000000000000")]
    pub bond_wei: String,
    /// Ethereum: t, in seconds from the latest block's time.
    #[arg(long, default_value_t = 900)]
    pub payout_seconds: u64,
    /// Linear kind on Bitcoin: an l-of-n job (Shamir shares of degree
    /// l - 1, a threshold trap leaf; the output needs any l results). 0:
    /// every result needed.
    #[arg(long, default_value_t = 0)]
    pub threshold: u32,
    /// Target miss probability p.
    #[arg(long, default_value_t = 1.0e-4)]
    pub p: f64,
    /// Assumed honest fraction q.
    #[arg(long)]
    pub q: Option<f64>,
    /// Idempotency key (random if unset).
    #[arg(long)]
    pub request_id: Option<String>,
    /// Return after submitting instead of watching.
    #[arg(long)]
    pub no_watch: bool,
    #[command(flatten)]
    pub mine: Mine,
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

pub fn request(a: &Submit) -> Result<pb::SubmitJobRequest> {
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
        threshold_l: a.threshold,
        trap_deposit: false,
    })
}
