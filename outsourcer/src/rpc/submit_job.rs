//! `SubmitJob`: validates every field (INVALID_ARGUMENT naming it), has
//! the chain's settlement resolve its terms (amounts, t and the result
//! deadline against the chain's time, T's keys; UNAVAILABLE if the chain
//! or T is down), splits the task, draws R and the job id, derives the
//! message keys and the collusion key, and stores the job (CREATED) before
//! it returns. The driver does the rest. Idempotent per request_id.

use bapay_core::merkle::Hash32;
use bapay_core::sampling::{SamplingPolicy, MAX_SAMPLE_SIZE};
use bapay_core::task::field::Fe;
use bapay_core::task::linear::LinearParams;
use bapay_core::task::search::SearchParams;
use bapay_core::task::TaskSpec;
use bapay_daemon::{codec, ServiceError};
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use prost::Message;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::deal::deal;
use crate::record::{JobRecord, JobState, Slot, SlotState};
use crate::service::{Note, Outsourcer};
use crate::settlement;
use crate::view;
use crate::Result;

/// A task spec, validated by the core.
pub fn task(t: Option<&common::TaskSpec>) -> Result<TaskSpec> {
    use common::task_spec::Params;
    let t = t.ok_or_else(|| ServiceError::invalid("task", "missing (empty job)"))?;
    let spec = match &t.params {
        None => return Err(ServiceError::invalid("task", "no parameters (empty job)")),
        Some(Params::Search(s)) => TaskSpec::Search(SearchParams {
            seed: Hash32::from(codec::bytes32("task.search.seed", &s.seed)?),
            rounds: s.rounds,
            difficulty_bits: s.difficulty_bits,
            lo: s.lo,
            hi: s.hi,
        }),
        Some(Params::Linear(l)) => TaskSpec::Linear(LinearParams {
            rows: l.rows,
            cols: l.cols,
            matrix_seed: Hash32::from(codec::bytes32("task.linear.matrix_seed", &l.matrix_seed)?),
            x: l.x
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    Fe::from_canonical(*v)
                        .map_err(|e| ServiceError::invalid(&format!("task.linear.x[{i}]"), e))
                })
                .collect::<Result<_>>()?,
            threshold: None,
        }),
    };
    spec.validate()
        .map_err(|e| ServiceError::invalid("task", e))?;
    Ok(spec)
}

/// Handles SubmitJob.
pub async fn handle(o: &Outsourcer, req: pb::SubmitJobRequest) -> Result<pb::SubmitJobResponse> {
    check_request_id(&req.request_id)?;
    let digest = hex::encode(Sha256::digest(req.encode_to_vec()));
    if let Some(existing) = find_request(o, &req.request_id)? {
        if existing.request_digest != digest {
            return Err(ServiceError::already_exists(format!(
                "request_id {} already used for a different job",
                req.request_id
            )));
        }
        return Ok(pb::SubmitJobResponse {
            job: Some(view::job(&existing)),
        });
    }
    let task = task(req.task.as_ref())?;
    let chain = settlement::for_chain(req.chain).ok_or_else(|| {
        ServiceError::invalid(
            "chain",
            format!("unknown or unspecified chain {}", req.chain),
        )
    })?;
    let endpoints = calculators(o, req.calculators.as_ref(), chain.max_calculators())?;
    let n = endpoints.len();
    let q = req
        .assumed_honest_fraction
        .unwrap_or(o.config.default_honest_fraction);
    let policy = SamplingPolicy::new(req.target_miss_probability, q).map_err(|e| {
        ServiceError::invalid("target_miss_probability / assumed_honest_fraction", e)
    })?;
    if policy.m > MAX_SAMPLE_SIZE {
        return Err(ServiceError::invalid(
            "target_miss_probability",
            "m too large",
        ));
    }
    let task = with_threshold(task, req.threshold_l, n, chain)?;
    let timeouts = req
        .timeouts
        .as_ref()
        .ok_or_else(|| ServiceError::invalid("timeouts", "missing"))?;
    let offer_timeout = match timeouts.offer_timeout_ms {
        0 => o.config.offer_timeout_ms,
        ms => ms.min(24 * 3600 * 1000),
    };
    let mut terms = chain.terms(o, &req, timeouts, n).await?;

    // Split, draw R, the salts and the tokens, derive the message keys.
    let d = deal(&task, n)?;
    let mut job_id = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut job_id);
    chain.set_collusion(&mut terms.part, &d.keys);
    let spares = match req.calculators {
        Some(pb::submit_job_request::Calculators::PoolCount(_)) => o.config.pool[n..].to_vec(),
        _ => Vec::new(),
    };
    let now = o.now_ms();
    let slots = d
        .subs
        .iter()
        .zip(&endpoints)
        .zip(d.salts.iter().zip(&d.tokens))
        .enumerate()
        .map(|(i, ((s, e), (salt, token)))| Slot {
            index: i as u32,
            endpoint: e.0.clone(),
            job_token: hex::encode(token),
            sub_task_hex: hex::encode(s.to_bytes()),
            salt: hex::encode(salt),
            challenge: None,
            key: e.1.clone(),
            state: SlotState::Pending,
            reason: String::new(),
            result_hex: None,
            commitment_hex: None,
            openings_hex: None,
            dispute: None,
            updated_ms: now,
            settlement: chain.new_slot(),
            acceptance: None,
        })
        .collect();
    let mut rec = JobRecord {
        job_id: hex::encode(job_id),
        request_id: req.request_id.clone(),
        request_digest: digest,
        state: JobState::Created,
        state_reason: String::new(),
        task,
        job_random: d.job_random_hex(),
        message_keys: d.message_keys_hex(),
        secret: d.secret,
        payout: terms.payout,
        result_deadline: terms.deadline,
        p: policy.p,
        q: policy.q,
        m: policy.m,
        offer_deadline_ms: now.saturating_add(offer_timeout),
        arbiter_url: o.config.arbiter_url.clone(),
        slots,
        output: None,
        events: 0,
        tip: terms.tip,
        created_ms: now,
        updated_ms: now,
        settlement: terms.part,
        spares,
    };
    let span = bapay_daemon::job_span(&rec.job_id);
    let _e = span.enter();
    o.create(
        &mut rec,
        Note::job(format!(
            "job stored: {n} calculators, t = {}, result deadline {}, m = {}",
            terms.payout, terms.deadline, policy.m
        )),
    )?;
    tracing::info!(request_id = %rec.request_id, "job submitted");
    Ok(pb::SubmitJobResponse {
        job: Some(view::job(&rec)),
    })
}

/// `task` as an l-of-n job (`threshold_l` > 0): the linear kind with
/// Shamir shares, on a chain with threshold trap leaves, within the
/// escrow's size limits for that l.
fn with_threshold(
    task: TaskSpec,
    l: u32,
    n: usize,
    chain: &dyn settlement::Settlement,
) -> Result<TaskSpec> {
    if l == 0 {
        return Ok(task);
    }
    if l as usize > n {
        return Err(ServiceError::invalid(
            "threshold_l",
            format!("l = {l} > n = {n}"),
        ));
    }
    if l == 1 {
        return Err(ServiceError::invalid(
            "threshold_l",
            "l = 1: every calculator would get x itself, and any one could sweep every fee alone",
        ));
    }
    let TaskSpec::Linear(mut p) = task else {
        return Err(ServiceError::invalid(
            "threshold_l",
            format!(
                "only the linear kind has an l-of-n split, not {}",
                task.kind()
            ),
        ));
    };
    if !chain.threshold_jobs() {
        return Err(ServiceError::precondition(
            "threshold_l: l-of-n jobs need the threshold trap leaf and unresponsive disputes, which only Bitcoin has",
        ));
    }
    bapay_core::escrow::limits::check_escrow_size(n, Some(l as usize))
        .map_err(|e| ServiceError::invalid("threshold_l", e))?;
    p.threshold = Some(l);
    Ok(TaskSpec::Linear(p))
}

fn check_request_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ServiceError::invalid(
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
    max: usize,
) -> Result<Vec<(String, Option<String>)>> {
    use pb::submit_job_request::Calculators;
    let list: Vec<(String, Option<String>)> = match c {
        None => return Err(ServiceError::invalid("calculators", "missing (n = 0)")),
        Some(Calculators::PoolCount(0)) => {
            return Err(ServiceError::invalid("pool_count", "n = 0"))
        }
        Some(Calculators::PoolCount(k)) => {
            let k = *k as usize;
            if k > o.config.pool.len() {
                return Err(ServiceError::precondition(format!(
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
                return Err(ServiceError::invalid("calculators", "empty list (n = 0)"));
            }
            l.calculators
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let field = format!("calculators[{i}]");
                    if !(c.endpoint.starts_with("http://") || c.endpoint.starts_with("https://")) {
                        return Err(ServiceError::invalid(
                            &format!("{field}.endpoint"),
                            format!("{:?} is not an http(s) URL", c.endpoint),
                        ));
                    }
                    let key = if c.bitcoin_key.is_empty() {
                        None
                    } else {
                        let k = codec::xonly(&format!("{field}.bitcoin_key"), &c.bitcoin_key)?;
                        Some(hex::encode(k.serialize()))
                    };
                    Ok((c.endpoint.clone(), key))
                })
                .collect::<Result<_>>()?
        }
    };
    if list.len() > max {
        return Err(ServiceError::invalid(
            "calculators",
            format!("n = {} > {max} on this chain", list.len()),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, (e, _)) in list.iter().enumerate() {
        if !seen.insert(e.as_str()) {
            return Err(ServiceError::invalid(
                &format!("calculators[{i}].endpoint"),
                format!("{e} given twice"),
            ));
        }
    }
    Ok(list)
}
