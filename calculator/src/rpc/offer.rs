//! `Offer` (PROTOCOL.md §4 step 1, Bitcoin). Malformed input is
//! INVALID_ARGUMENT; otherwise the checks below, in order, and a failed one
//! is a normal declined response with its [`DeclineReason`]:
//! own key = calculators[index] (NOT_MY_KEY); `check_offer_keys` with
//! sk_{m_i} = H(m_i || R) (MESSAGE_KEY_MISMATCH); d >= min fee (FEE_TOO_LOW);
//! g <= max deposit (DEPOSIT_TOO_HIGH); work <= max_work (TOO_MUCH_WORK);
//! chain-adapter tip + min blocks <= result deadline < t (NOT_ENOUGH_TIME);
//! unreserved own P2TR coins covering g (INSUFFICIENT_FUNDS).
//! A result deadline not below t, a fee rate below 1 sat/vB, an outsourcer
//! other than the terms', or n != the terms' calculator count are
//! INVALID_ARGUMENT, not declines.
//! The answer (accepted or declined) is stored before it is returned; a
//! repeat of the identical offer returns it again, a different offer for
//! the same job id is ALREADY_EXISTS (unless the stored one was declined,
//! which it replaces).
//! Ethereum offers: [`crate::eth::offer`]. Not yet: allow-lists of arbiters
//! and co-calculators (UNTRUSTED_PARTY), a job capacity (RESOURCE_EXHAUSTED).

use bapay_core::keys::{aggregate_pubkey, check_offer_keys, message_secret, PublishedKeys};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::{offer_request::Terms, DeclineReason};
use bapay_proto::common::v1::Chain;
use prost::Message;

use crate::chain::Coin;
use crate::codec;
use crate::error::{CalculatorError, Result};
use crate::record::{self, State, SubTaskRecord};
use crate::service::Calculator;

/// Handles Offer.
pub async fn handle(c: &Calculator, req: pb::OfferRequest) -> Result<pb::OfferResponse> {
    let job_id = codec::bytes32("job_id", &req.job_id)?;
    codec::bytes32("job_token", &req.job_token)?;
    let job_hex = hex::encode(job_id);
    let offer_hash = hex::encode(bapay_core::commitment::sha256(&req.encode_to_vec()));
    let chain = Chain::try_from(req.chain).unwrap_or(Chain::Unspecified);
    let btc = match (chain, &req.terms) {
        (Chain::Unspecified, _) => return Err(CalculatorError::invalid("chain", "unknown chain")),
        (Chain::Ethereum, Some(Terms::Ethereum(e))) => {
            return crate::eth::offer::handle(c, &req, e, offer_hash).await
        }
        (Chain::Bitcoin, Some(Terms::Bitcoin(b))) => b.clone(),
        _ => {
            return Err(CalculatorError::invalid(
                "terms",
                "missing or not the variant of `chain`",
            ))
        }
    };
    let n = req.calculator_count;
    if n == 0 {
        return Err(CalculatorError::invalid("calculator_count", "n = 0"));
    }
    if req.index >= n {
        return Err(CalculatorError::invalid("index", "index >= n"));
    }
    let sub = codec::sub_task("sub_task", &req.sub_task)?;
    let job_random = codec::bytes32("job_random", &req.job_random)?;
    let keys = req
        .message_keys
        .iter()
        .enumerate()
        .map(|(i, k)| codec::pubkey33(&format!("message_keys[{i}]"), k))
        .collect::<Result<Vec<_>>>()?;
    let params = codec::terms("bitcoin.terms", btc.terms.as_ref())?;
    let terms = params.terms().clone();
    if terms.calculators.len() != n as usize {
        return Err(CalculatorError::invalid(
            "calculator_count",
            format!("{n} but the terms list {}", terms.calculators.len()),
        ));
    }
    if req.outsourcer != terms.outsourcer.serialize() {
        return Err(CalculatorError::invalid(
            "outsourcer",
            "not the terms' outsourcer key",
        ));
    }
    if !btc.fee_rate_sat_per_vb.is_finite() || btc.fee_rate_sat_per_vb < 1.0 {
        return Err(CalculatorError::invalid(
            "bitcoin.fee_rate_sat_per_vb",
            "must be >= 1",
        ));
    }
    if btc.result_deadline_height >= u64::from(terms.timeout) {
        return Err(CalculatorError::invalid(
            "bitcoin.result_deadline_height",
            "must be below t",
        ));
    }

    let _guard = c.lock.lock().await;
    if crate::eth::record::load(c.store.as_ref(), &job_hex)?.is_some() {
        return Err(CalculatorError::AlreadyExists(job_hex));
    }
    let existing = record::load(c.store.as_ref(), &job_hex)?;
    let version = match &existing {
        Some((rec, _)) if rec.offer_hash == offer_hash => return Ok(response(c, rec)),
        Some((rec, v)) if rec.state == State::Declined => Some(*v),
        Some(_) => return Err(CalculatorError::AlreadyExists(job_hex)),
        None => None,
    };

    let mut rec = SubTaskRecord {
        job_id: job_hex.clone(),
        offer_hash,
        job_token: hex::encode(&req.job_token),
        index: req.index,
        sub_task_hex: hex::encode(&req.sub_task),
        job_random: hex::encode(job_random),
        terms: terms.clone(),
        fee_rate_sat_per_vb: btc.fee_rate_sat_per_vb,
        result_deadline_height: btc.result_deadline_height,
        state: State::Declined,
        state_reason: String::new(),
        decline_reason: 0,
        coins: Vec::new(),
        payout_script_hex: hex::encode(c.own_script().as_bytes()),
        expires_unix_ms: 0,
        charge: None,
        funding_txid: None,
        work_requested: false,
        result_hex: None,
        commitment: None,
        charge_prime: None,
        converted_terms: None,
        conversion_txid: None,
        claim_tx_hex: None,
        claim_txid: None,
        updated_unix_ms: 0,
    };

    let decision = decide(c, &req, &sub, &job_random, keys, &params, &btc).await?;
    match decision {
        Err((reason, detail)) => {
            rec.decline_reason = reason as i32;
            rec.state_reason = detail;
        }
        Ok(coins) => {
            rec.state = State::Accepted;
            rec.coins = coins;
            rec.expires_unix_ms = c.now_ms().saturating_add(c.config.offer_ttl_ms);
        }
    }
    c.save(&mut rec, version)?;
    tracing::info!(job = %job_hex, state = ?rec.state, reason = %rec.state_reason, "offer answered");
    Ok(response(c, &rec))
}

type Decision = std::result::Result<Vec<Coin>, (DeclineReason, String)>;

async fn decide(
    c: &Calculator,
    req: &pb::OfferRequest,
    sub: &bapay_core::task::SubTask,
    job_random: &[u8; 32],
    keys: Vec<bitcoin::secp256k1::PublicKey>,
    params: &bapay_core::escrow::EscrowParams,
    btc: &pb::BitcoinOffer,
) -> Result<Decision> {
    let terms = params.terms();
    let index = req.index as usize;
    if terms.calculators.get(index) != Some(&c.key.x_only_public_key()) {
        return Ok(Err((
            DeclineReason::NotMyKey,
            format!("calculators[{index}] is not this calculator's key"),
        )));
    }
    let key_check = (|| {
        let own = message_secret(&req.sub_task, job_random)?;
        let aggregate = aggregate_pubkey(&keys)?;
        let published = PublishedKeys { keys, aggregate };
        check_offer_keys(&c.secp, &own, index, &published, params)
    })();
    if let Err(e) = key_check {
        return Ok(Err((DeclineReason::MessageKeyMismatch, e.to_string())));
    }
    let l = &c.config.limits;
    if terms.fee.to_sat() < l.min_fee_sat {
        return Ok(Err((
            DeclineReason::FeeTooLow,
            format!("d = {} sat < {} sat", terms.fee.to_sat(), l.min_fee_sat),
        )));
    }
    if terms.deposit.to_sat() > l.max_deposit_sat {
        return Ok(Err((
            DeclineReason::DepositTooHigh,
            format!(
                "g = {} sat > {} sat",
                terms.deposit.to_sat(),
                l.max_deposit_sat
            ),
        )));
    }
    let work = codec::work(sub);
    if work > l.max_work {
        return Ok(Err((
            DeclineReason::TooMuchWork,
            format!("work {work} > {}", l.max_work),
        )));
    }
    let tip = c.chain.tip_height().await?;
    if tip.saturating_add(l.min_blocks_to_result_deadline) > btc.result_deadline_height {
        return Ok(Err((
            DeclineReason::NotEnoughTime,
            format!(
                "tip {tip} + {} blocks > result deadline {}",
                l.min_blocks_to_result_deadline, btc.result_deadline_height
            ),
        )));
    }
    let script = c.own_script();
    let reserved: Vec<Coin> = c
        .all_records()?
        .into_iter()
        .filter(|(r, _)| r.state.reserves_coins())
        .flat_map(|(r, _)| r.coins)
        .collect();
    let mut picked = Vec::new();
    let mut sum = 0u64;
    for coin in c.chain.list_unspent(script.as_bytes()).await? {
        if sum >= terms.deposit.to_sat() {
            break;
        }
        if reserved.contains(&coin) {
            continue;
        }
        sum = sum.saturating_add(coin.value_sat);
        picked.push(coin);
    }
    if sum < terms.deposit.to_sat() {
        return Ok(Err((
            DeclineReason::InsufficientFunds,
            format!(
                "{sum} sat of unreserved coins < g = {} sat",
                terms.deposit.to_sat()
            ),
        )));
    }
    Ok(Ok(picked))
}

/// The answer stored in `rec`.
fn response(c: &Calculator, rec: &SubTaskRecord) -> pb::OfferResponse {
    if rec.state == State::Declined {
        return pb::OfferResponse {
            accepted: false,
            decline_reason: rec.decline_reason,
            decline_detail: rec.state_reason.clone(),
            funding: None,
            expires_unix_ms: 0,
        };
    }
    let script = c.own_script().as_bytes().to_vec();
    pb::OfferResponse {
        accepted: true,
        decline_reason: 0,
        decline_detail: String::new(),
        funding: Some(pb::CalculatorFunding {
            inputs: rec
                .coins
                .iter()
                .map(|k| pb::FundingInput {
                    txid: k.txid.clone(),
                    vout: k.vout,
                    value_sat: k.value_sat,
                    script_pubkey: script.clone(),
                })
                .collect(),
            change_script: script.clone(),
            payout_script: script,
        }),
        expires_unix_ms: rec.expires_unix_ms,
    }
}
