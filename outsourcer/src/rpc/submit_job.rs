//! `SubmitJob`: validates every field (INVALID_ARGUMENT naming it), asks the
//! arbiter for its key and the chain-adapter for the tip (UNAVAILABLE if
//! either is down), splits the task, draws R and the job id, derives the
//! message keys and P_M, and stores the job (CREATED) before it returns.
//! The driver does the rest. Idempotent per request_id. Bitcoin only for
//! now: an Ethereum job is FAILED_PRECONDITION (chain not configured).

use bapay_core::keys::{message_secret, PublishedKeys};
use bapay_core::sampling::{SamplingPolicy, MAX_SAMPLE_SIZE};
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use bitcoin::secp256k1::Secp256k1;
use prost::Message;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::codec;
use crate::error::{OutsourcerError, Result};
use crate::record::{ChainKind, EthInfo, JobRecord, JobState, Slot, SlotState};
use crate::service::{Note, Outsourcer};
use crate::view;

/// Most calculators per job (Bitcoin: one escrow transaction).
pub const MAX_CALCULATORS: usize = 256;
/// P2TR dust: the smallest d + g an escrow output may hold.
pub const MIN_ESCROW_SAT: u64 = 330;

/// Handles SubmitJob.
pub async fn handle(o: &Outsourcer, req: pb::SubmitJobRequest) -> Result<pb::SubmitJobResponse> {
    check_request_id(&req.request_id)?;
    let digest = hex::encode(Sha256::digest(req.encode_to_vec()));
    if let Some(existing) = find_request(o, &req.request_id)? {
        if existing.request_digest != digest {
            return Err(OutsourcerError::AlreadyExists(req.request_id));
        }
        return Ok(pb::SubmitJobResponse {
            job: Some(view::job(&existing)),
        });
    }
    let task = codec::task(req.task.as_ref())?;
    let chain = match common::Chain::try_from(req.chain) {
        Ok(common::Chain::Bitcoin) => ChainKind::Bitcoin,
        Ok(common::Chain::Ethereum) => {
            o.eth()?;
            ChainKind::Ethereum
        }
        _ => {
            return Err(OutsourcerError::invalid(
                "chain",
                format!("unknown or unspecified chain {}", req.chain),
            ))
        }
    };
    let endpoints = calculators(o, req.calculators.as_ref())?;
    let n = endpoints.len();
    let q = req
        .assumed_honest_fraction
        .unwrap_or(o.config.default_honest_fraction);
    let policy = SamplingPolicy::new(req.target_miss_probability, q).map_err(|e| {
        OutsourcerError::invalid("target_miss_probability / assumed_honest_fraction", e)
    })?;
    if policy.m > MAX_SAMPLE_SIZE {
        return Err(OutsourcerError::invalid(
            "target_miss_probability",
            "m too large",
        ));
    }
    if req.threshold_l > 0 {
        if req.threshold_l as usize > n {
            return Err(OutsourcerError::invalid(
                "threshold_l",
                format!("l = {} > n = {n}", req.threshold_l),
            ));
        }
        return Err(OutsourcerError::FailedPrecondition(
            "threshold_l: l-of-n threshold traps are not supported by this outsourcer yet".into(),
        ));
    }
    let timeouts = req
        .timeouts
        .as_ref()
        .ok_or_else(|| OutsourcerError::invalid("timeouts", "missing"))?;
    let offer_timeout = match timeouts.offer_timeout_ms {
        0 => o.config.offer_timeout_ms,
        ms => ms.min(24 * 3600 * 1000),
    };
    let terms = match chain {
        ChainKind::Bitcoin => bitcoin_terms(o, &req, timeouts).await?,
        ChainKind::Ethereum => super::submit_eth::terms(o, &req, timeouts).await?,
    };

    // Split, draw R and the id, derive the message keys.
    let mut rng = rand::thread_rng();
    let (subs, secret) = task
        .split(n as u32, &mut rng)
        .map_err(|e| OutsourcerError::invalid("calculators", format!("n = {n}: {e}")))?;
    let mut job_random = [0u8; 32];
    rng.fill_bytes(&mut job_random);
    let mut job_id = [0u8; 32];
    rng.fill_bytes(&mut job_id);
    let secp = Secp256k1::new();
    let secrets = subs
        .iter()
        .map(|s| message_secret(&s.to_bytes(), &job_random))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| OutsourcerError::internal("message keys", e))?;
    let keys = PublishedKeys::from_secrets(&secp, &secrets)
        .map_err(|e| OutsourcerError::internal("message keys", e))?;
    let now = o.now_ms();
    let slots = subs
        .iter()
        .zip(&endpoints)
        .enumerate()
        .map(|(i, (s, e))| {
            let mut token = [0u8; 32];
            rng.fill_bytes(&mut token);
            Slot {
                index: i as u32,
                endpoint: e.0.clone(),
                job_token: hex::encode(token),
                sub_task_hex: hex::encode(s.to_bytes()),
                key: e.1.clone(),
                state: SlotState::Pending,
                reason: String::new(),
                funding: None,
                charge: None,
                signed_psbt_hex: None,
                result_hex: None,
                commitment_hex: None,
                openings_hex: None,
                dispute: None,
                eth: None,
                updated_ms: now,
            }
        })
        .collect();
    let mut rec = JobRecord {
        job_id: hex::encode(job_id),
        request_id: req.request_id.clone(),
        request_digest: digest,
        chain,
        eth: terms.eth.map(|mut e| {
            e.collusion_address = bapay_daemon::keys::eth_address(&keys.aggregate).to_string();
            e
        }),
        state: JobState::Created,
        state_reason: String::new(),
        task,
        secret,
        job_random: hex::encode(job_random),
        message_keys: keys
            .keys
            .iter()
            .map(|k| hex::encode(k.serialize()))
            .collect(),
        collusion_key: hex::encode(keys.aggregate_x_only().serialize()),
        fee_sat: terms.fee_sat,
        deposit_sat: terms.deposit_sat,
        payout_height: terms.t,
        result_deadline_height: terms.deadline,
        p: policy.p,
        q: policy.q,
        m: policy.m,
        fee_rate: terms.rate,
        offer_deadline_ms: now.saturating_add(offer_timeout),
        outsourcer_key: hex::encode(o.key.x_only_public_key().serialize()),
        arbiter_url: o.config.arbiter_url.clone(),
        arbiter_key: terms.arbiter_key,
        slots,
        funding: None,
        output: None,
        events: 0,
        tip: terms.tip,
        created_ms: now,
        updated_ms: now,
    };
    let span = bapay_daemon::job_span(&rec.job_id);
    let _e = span.enter();
    o.create(
        &mut rec,
        Note::job(format!(
            "job stored: {n} calculators, t = {}, result deadline {}, m = {}",
            terms.t, terms.deadline, policy.m
        )),
    )?;
    tracing::info!(request_id = %rec.request_id, "job submitted");
    Ok(pb::SubmitJobResponse {
        job: Some(view::job(&rec)),
    })
}

/// What differs between the chains in a job's terms.
pub struct Terms {
    /// Bitcoin d, g (sat); 0 on Ethereum (see `eth`).
    pub fee_sat: u64,
    /// g.
    pub deposit_sat: u64,
    /// t: Bitcoin height / Ethereum Unix seconds.
    pub t: u64,
    /// Result deadline: Bitcoin height / Ethereum commit deadline.
    pub deadline: u64,
    /// Bitcoin fee rate, sat/vB.
    pub rate: u64,
    /// T's x-only key (hex; also on Ethereum: it verifies nothing there
    /// but identifies T).
    pub arbiter_key: String,
    /// Tip at submission (height / Unix seconds).
    pub tip: u64,
    /// Ethereum terms (collusion address filled in after the split).
    pub eth: Option<EthInfo>,
}

async fn bitcoin_terms(
    o: &Outsourcer,
    req: &pb::SubmitJobRequest,
    timeouts: &pb::Timeouts,
) -> Result<Terms> {
    let fee = codec::sat("fee", req.fee.as_ref())?;
    let deposit = codec::sat("deposit", req.deposit.as_ref())?;
    if fee.checked_add(deposit).is_none_or(|v| v < MIN_ESCROW_SAT) {
        return Err(OutsourcerError::invalid(
            "fee",
            format!("d + g = {fee} + {deposit} sat is below the P2TR dust limit {MIN_ESCROW_SAT}"),
        ));
    }
    if fee == 0 {
        return Err(OutsourcerError::invalid("fee", "d must be at least 1 sat"));
    }
    let rate = match req.fee_rate_sat_per_vb {
        None => o.config.default_fee_rate_sat_per_vb,
        Some(r) if (1.0..=10_000.0).contains(&r) => r.ceil() as u64,
        Some(r) => {
            return Err(OutsourcerError::invalid(
                "fee_rate_sat_per_vb",
                format!("{r} not in 1..=10000 sat/vB"),
            ))
        }
    };
    let tip = o.chain.tip_height().await?;
    let t = codec::height("timeouts.payout", timeouts.payout.as_ref(), tip)?
        .ok_or_else(|| OutsourcerError::invalid("timeouts.payout", "missing"))?;
    let margin = o.config.dispute_margin_blocks;
    if t <= tip + margin + 2 || t >= 500_000_000 {
        return Err(OutsourcerError::invalid(
            "timeouts.payout",
            format!("t = {t} must be a height above tip {tip} + dispute margin {margin} + 2 (deadline in the past or too close)"),
        ));
    }
    let deadline = codec::height(
        "timeouts.result_deadline",
        timeouts.result_deadline.as_ref(),
        tip,
    )?
    .unwrap_or(t - margin);
    if deadline <= tip || deadline > t - margin {
        return Err(OutsourcerError::invalid(
            "timeouts.result_deadline",
            format!(
                "{deadline} must be above the tip {tip} and at most t - margin = {}",
                t - margin
            ),
        ));
    }
    let info = o
        .arbiter()?
        .get_info(arb::GetInfoRequest {})
        .await
        .map_err(|s| OutsourcerError::Unavailable(format!("arbiter: {}", s.message())))?
        .into_inner();
    let arbiter_key = bapay_daemon::codec::xonly("arbiter key", &info.bitcoin_key)
        .map_err(|e| OutsourcerError::Unavailable(format!("arbiter: {e}")))?;
    Ok(Terms {
        fee_sat: fee,
        deposit_sat: deposit,
        t,
        deadline,
        rate,
        arbiter_key: hex::encode(arbiter_key.serialize()),
        tip,
        eth: None,
    })
}

fn check_request_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(OutsourcerError::invalid(
            "request_id",
            "1..=128 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

fn find_request(o: &Outsourcer, id: &str) -> Result<Option<JobRecord>> {
    Ok(o.all()?.into_iter().find(|j| j.request_id == id))
}

/// (endpoint, pinned key hex) per calculator, in index order.
fn calculators(
    o: &Outsourcer,
    c: Option<&pb::submit_job_request::Calculators>,
) -> Result<Vec<(String, Option<String>)>> {
    use pb::submit_job_request::Calculators;
    let list: Vec<(String, Option<String>)> = match c {
        None => return Err(OutsourcerError::invalid("calculators", "missing (n = 0)")),
        Some(Calculators::PoolCount(0)) => {
            return Err(OutsourcerError::invalid("pool_count", "n = 0"))
        }
        Some(Calculators::PoolCount(k)) => {
            let k = *k as usize;
            if k > o.config.pool.len() {
                return Err(OutsourcerError::FailedPrecondition(format!(
                    "pool_count: {k} calculators asked, the configured pool has {}",
                    o.config.pool.len()
                )));
            }
            o.config.pool[..k]
                .iter()
                .map(|e| (e.clone(), None))
                .collect()
        }
        Some(Calculators::Explicit(l)) => {
            if l.calculators.is_empty() {
                return Err(OutsourcerError::invalid(
                    "calculators",
                    "empty list (n = 0)",
                ));
            }
            l.calculators
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let field = format!("calculators[{i}]");
                    if !(c.endpoint.starts_with("http://") || c.endpoint.starts_with("https://")) {
                        return Err(OutsourcerError::invalid(
                            &format!("{field}.endpoint"),
                            format!("{:?} is not an http(s) URL", c.endpoint),
                        ));
                    }
                    let key = if c.bitcoin_key.is_empty() {
                        None
                    } else {
                        let k = bapay_daemon::codec::xonly(
                            &format!("{field}.bitcoin_key"),
                            &c.bitcoin_key,
                        )?;
                        Some(hex::encode(k.serialize()))
                    };
                    Ok((c.endpoint.clone(), key))
                })
                .collect::<Result<_>>()?
        }
    };
    if list.len() > MAX_CALCULATORS {
        return Err(OutsourcerError::invalid(
            "calculators",
            format!("n = {} > {MAX_CALCULATORS}", list.len()),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, (e, _)) in list.iter().enumerate() {
        if !seen.insert(e.as_str()) {
            return Err(OutsourcerError::invalid(
                &format!("calculators[{i}].endpoint"),
                format!("{e} given twice"),
            ));
        }
    }
    Ok(list)
}
