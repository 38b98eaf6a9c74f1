//! A Bitcoin job's terms (SubmitJob) and the offer that carries them:
//! d and g in sat (each at least the P2TR dust limit, as each is an
//! output; the paper's `trap_deposit` variant: d + g, d >= 1), a fee rate
//! in 1..=10,000 sat/vB, t and the result deadline as heights against the
//! tip (t above tip + dispute margin + 2; the deadline above the tip and
//! at most t - margin), T's x-only key from its GetInfo.

use bapay_core::escrow::fee::P2TR_DUST;
use bapay_daemon::{codec, ServiceError};
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use crate::record::{BtcJob, JobRecord, JobSettlement};
use crate::service::Outsourcer;
use crate::settlement::Terms;
use crate::Result;

/// Sat of a Bitcoin amount; a wei amount or none is INVALID_ARGUMENT.
pub fn sat(field: &str, a: Option<&common::Amount>) -> Result<u64> {
    match a.and_then(|a| a.value.as_ref()) {
        Some(common::amount::Value::Sat(s)) => Ok(*s),
        Some(common::amount::Value::Wei(_)) => Err(ServiceError::invalid(
            field,
            "a wei amount on a Bitcoin job",
        )),
        None => Err(ServiceError::invalid(field, "missing")),
    }
}

/// A Bitcoin height from a chain time (absolute or relative to `tip`);
/// `None` if unset; Unix times are INVALID_ARGUMENT on Bitcoin.
pub fn height(field: &str, t: Option<&common::ChainTime>, tip: u64) -> Result<Option<u64>> {
    use common::chain_time::Value;
    match t.and_then(|t| t.value.as_ref()) {
        None => Ok(None),
        Some(Value::Height(h)) => Ok(Some(*h)),
        Some(Value::BlocksFromNow(b)) => Ok(Some(tip.saturating_add(*b))),
        Some(Value::UnixTime(_) | Value::SecondsFromNow(_)) => Err(ServiceError::invalid(
            field,
            "a Unix time on a Bitcoin job (use height or blocks_from_now)",
        )),
    }
}

/// The terms of a Bitcoin job.
pub async fn terms(
    o: &Outsourcer,
    req: &pb::SubmitJobRequest,
    timeouts: &pb::Timeouts,
    n: usize,
) -> Result<Terms> {
    let fee = sat("fee", req.fee.as_ref())?;
    let deposit = sat("deposit", req.deposit.as_ref())?;
    // n·(d + g) must be an amount at all (21,000,000 BTC at most).
    let max = bitcoin::Amount::MAX_MONEY.to_sat();
    let total = fee
        .checked_add(deposit)
        .and_then(|v| v.checked_mul(n as u64))
        .filter(|&v| v <= max);
    if total.is_none() {
        return Err(ServiceError::invalid(
            "fee",
            format!("n·(d + g) = {n}·({fee} + {deposit}) sat exceeds 21,000,000 BTC"),
        ));
    }
    let dust = P2TR_DUST.to_sat();
    if req.trap_deposit {
        if fee.checked_add(deposit).is_none_or(|v| v < dust) {
            return Err(ServiceError::invalid(
                "fee",
                format!("d + g = {fee} + {deposit} sat is below the P2TR dust limit {dust}"),
            ));
        }
    } else {
        // Pay_i holds d and Dep_i holds g: each must relay.
        for (field, v) in [("fee", fee), ("deposit", deposit)] {
            if v < dust {
                return Err(ServiceError::invalid(
                    field,
                    format!("{v} sat is below the P2TR dust limit {dust} (each of Pay_i and Dep_i is an output)"),
                ));
            }
        }
    }
    if fee == 0 {
        return Err(ServiceError::invalid("fee", "d must be at least 1 sat"));
    }
    let rate = match req.fee_rate_sat_per_vb {
        None => o.config.default_fee_rate_sat_per_vb,
        Some(r) if (1.0..=10_000.0).contains(&r) => r.ceil() as u64,
        Some(r) => {
            return Err(ServiceError::invalid(
                "fee_rate_sat_per_vb",
                format!("{r} not in 1..=10000 sat/vB"),
            ))
        }
    };
    let tip = o.chain.tip_height().await?;
    let t = height("timeouts.payout", timeouts.payout.as_ref(), tip)?
        .ok_or_else(|| ServiceError::invalid("timeouts.payout", "missing"))?;
    let deadline = height(
        "timeouts.result_deadline",
        timeouts.result_deadline.as_ref(),
        tip,
    )?;
    let w = bapay_core::timing::window(
        tip,
        t,
        deadline,
        o.config.dispute_margin_blocks,
        2,
        500_000_000,
    )
    .map_err(|e| ServiceError::invalid("timeouts", e))?;
    let info = o
        .arbiter()?
        .get_info(arb::GetInfoRequest {})
        .await
        .map_err(|s| ServiceError::unavailable(format!("arbiter: {}", s.message())))?
        .into_inner();
    let arbiter_key = codec::xonly("arbiter key", &info.bitcoin_key)
        .map_err(|e| ServiceError::unavailable(format!("arbiter: {e}")))?;
    Ok(Terms {
        payout: w.payout,
        deadline: w.result_deadline,
        tip,
        part: JobSettlement::Bitcoin(BtcJob {
            outsourcer_key: hex::encode(o.key.x_only_public_key().serialize()),
            arbiter_key: hex::encode(arbiter_key.serialize()),
            collusion_key: String::new(),
            fee_sat: fee,
            deposit_sat: deposit,
            trap_deposit: req.trap_deposit,
            fee_rate: rate,
            funding: None,
            conversion: None,
        }),
    })
}

/// The Offer of slot `i`.
pub fn offer_request(rec: &JobRecord, i: u32) -> Result<calc::OfferRequest> {
    let params = rec.escrow_params()?;
    let b = rec.btc()?;
    let s = &rec.slots[i as usize];
    Ok(calc::OfferRequest {
        job_id: rec.id_bytes()?.to_vec(),
        job_token: s.token(),
        chain: common::Chain::Bitcoin as i32,
        calculator_count: rec.slots.len() as u32,
        index: i,
        sub_task: s.sub_task_bytes()?,
        sub_task_salt: s.salt()?.to_vec(),
        outsourcer_key: Vec::new(),
        outsourcer_signature: Vec::new(),
        job_random: rec.job_random()?,
        message_keys: rec.message_key_bytes(),
        outsourcer: hex::decode(&b.outsourcer_key).unwrap_or_default(),
        terms: Some(calc::offer_request::Terms::Bitcoin(calc::BitcoinOffer {
            terms: Some(bapay_daemon::codec::terms_to_proto(&params)),
            fee_rate_sat_per_vb: b.fee_rate as f64,
            result_deadline_height: rec.result_deadline,
        })),
    })
}
