//! Job requests and balance snapshots the Bitcoin scenarios share.

#![allow(dead_code)]

pub mod eth;

use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use bapay_scenarios::Net;

/// d.
pub const FEE: u64 = 20_000;
/// g.
pub const DEPOSIT: u64 = 50_000;

/// A search job over [0, 1200) for the first `n` calculators of the net.
pub fn search_job(
    net: &Net,
    request_id: &str,
    n: usize,
    payout_blocks: u64,
) -> pb::SubmitJobRequest {
    pb::SubmitJobRequest {
        request_id: request_id.into(),
        task: Some(common::TaskSpec {
            params: Some(common::task_spec::Params::Search(common::SearchParams {
                seed: vec![7; 32],
                rounds: 2,
                difficulty_bits: 4,
                lo: 0,
                hi: 1200,
            })),
        }),
        chain: common::Chain::Bitcoin as i32,
        calculators: Some(pb::submit_job_request::Calculators::Explicit(
            pb::CalculatorList {
                calculators: net.calculators[..n]
                    .iter()
                    .map(|c| pb::CalculatorRef {
                        endpoint: c.url(),
                        ..Default::default()
                    })
                    .collect(),
            },
        )),
        fee: Some(common::Amount {
            value: Some(common::amount::Value::Sat(FEE)),
        }),
        deposit: Some(common::Amount {
            value: Some(common::amount::Value::Sat(DEPOSIT)),
        }),
        timeouts: Some(pb::Timeouts {
            payout: Some(common::ChainTime {
                value: Some(common::chain_time::Value::BlocksFromNow(payout_blocks)),
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

/// The job's state.
pub fn state(job: &pb::Job) -> pb::JobState {
    pb::JobState::try_from(job.state).unwrap_or(pb::JobState::Unspecified)
}

/// Slot `i`'s state.
pub fn slot(job: &pb::Job, i: usize) -> pb::SlotState {
    pb::SlotState::try_from(job.slots[i].state).unwrap_or(pb::SlotState::Unspecified)
}

/// Terminal?
pub fn settled(job: &pb::Job) -> bool {
    matches!(
        state(job),
        pb::JobState::Completed | pb::JobState::Failed | pb::JobState::Cancelled
    )
}

fn sat(a: Option<&common::Amount>) -> i64 {
    match a.and_then(|a| a.value.as_ref()) {
        Some(common::amount::Value::Sat(s)) => *s as i64,
        _ => 0,
    }
}

/// Net of a party in the report: received - paid - fees.
pub fn net_of(job: &pb::Job, role: common::party::Role, index: Option<u32>) -> i64 {
    job.totals
        .iter()
        .find(|t| {
            t.party
                .as_ref()
                .is_some_and(|p| p.role == role as i32 && p.calculator_index == index)
        })
        .map(|t| sat(t.received.as_ref()) - sat(t.paid.as_ref()) - sat(t.fees.as_ref()))
        .unwrap_or(0)
}

/// The keys of O and every calculator (asked once, so balances can be
/// read with a daemon down).
pub async fn keys(net: &Net) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = vec![net.o_key().await?];
    for i in 0..net.calculators.len() {
        out.push(net.calc_key(i).await?);
    }
    Ok(out)
}

/// Balances of O and every calculator, in the order of `keys`.
pub async fn balances(net: &Net, keys: &[Vec<u8>]) -> anyhow::Result<Vec<i64>> {
    let mut out = Vec::new();
    for k in keys {
        out.push(net.balance(k).await? as i64);
    }
    Ok(out)
}

/// The search output the job must produce (computed directly).
pub fn expected_hits() -> Vec<u64> {
    use bapay_core::merkle::Hash32;
    use bapay_core::task::search::SearchParams;
    use bapay_core::task::TaskSpec;
    let spec = TaskSpec::Search(SearchParams {
        seed: Hash32::from([7; 32]),
        rounds: 2,
        difficulty_bits: 4,
        lo: 0,
        hi: 1200,
    });
    match spec.run_direct().expect("direct") {
        bapay_core::task::Output::Search { hits } => hits,
        other => panic!("{other:?}"),
    }
}

/// Waits, mining nothing, until every slot in `slots` of job `id` has
/// signed the funding (so a calculator killed then has given its deposit
/// signature and cannot have started: the funding has not confirmed).
pub async fn until_funding_signed(
    net: &Net,
    id: &[u8],
    slots: std::ops::Range<usize>,
    wait: std::time::Duration,
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    loop {
        let job = net.job(id).await?;
        if slots
            .clone()
            .all(|i| slot(&job, i) as i32 >= pb::SlotState::FundingSigned as i32)
        {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < wait,
            "{}",
            bapay_cli::report::render(&job)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Each of the first `n` calculators' own records ends TRAPPED and names
/// `grabber`'s trap leaf (each reclaims its deposit at t; this mines).
pub async fn calculators_trapped(
    net: &Net,
    job_hex: &str,
    n: usize,
    grabber: usize,
) -> anyhow::Result<()> {
    use bapay_scenarios::attack::calculator_record;
    let leaf = format!("calculator {grabber}'s trap leaf");
    for _ in 0..100 {
        let recs = (0..n)
            .map(|i| calculator_record(net, i, job_hex))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if recs.iter().all(|r| r["state"] == "trapped") {
            for (i, r) in recs.iter().enumerate() {
                let why = r["state_reason"].as_str().unwrap_or("");
                anyhow::ensure!(why.contains(&leaf), "calculator {i}: {why}");
            }
            return Ok(());
        }
        net.mine(1).await?;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    anyhow::bail!("the calculators did not all end TRAPPED")
}
