//! A Bitcoin `Offer` (PROTOCOL.md §4 step 1). Malformed input is
//! INVALID_ARGUMENT: the terms (`EscrowParams::new`), n != the terms'
//! calculator count, an outsourcer other than the terms', a fee rate below
//! 1 sat/vB, a result deadline not below t. Then, in order, a failed check
//! is a declined answer with its [`DeclineReason`]: own key =
//! calculators[index] (NOT_MY_KEY); T one of `trusted_arbiters`, and for
//! `trap_deposit` terms `accept_trap_on_deposit` with every co-calculator
//! in `trusted_calculators` (UNTRUSTED_PARTY); `check_offer_keys` with
//! sk_{m_i} = H(m_i || s_i || R) (MESSAGE_KEY_MISMATCH); d >= min fee
//! (FEE_TOO_LOW); g <= max deposit (DEPOSIT_TOO_HIGH); work <= max_work
//! (TOO_MUCH_WORK); chain-adapter tip + min blocks <= result deadline
//! (NOT_ENOUGH_TIME); t at most `max_blocks_to_payout` above the tip
//! (TIMEOUT_TOO_FAR); unreserved own P2TR coins covering g
//! (INSUFFICIENT_FUNDS).

use bapay_core::keys::{aggregate_pubkey, check_offer_keys, message_secret, PublishedKeys};
use bapay_daemon::{codec, Coin, ServiceError};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::{offer_request::Terms, DeclineReason};

use crate::record::{self, BtcSub, SubSettlement};
use crate::service::Calculator;
use crate::settlement::{CommonOffer, Decision};
use crate::Result;

/// The Bitcoin terms of `req`, checked for shape.
pub fn parse(c: &Calculator, req: &pb::OfferRequest, offer: &CommonOffer) -> Result<SubSettlement> {
    let Some(Terms::Bitcoin(btc)) = &req.terms else {
        return Err(ServiceError::invalid(
            "terms",
            "missing or not the variant of `chain`",
        ));
    };
    let params = codec::terms("bitcoin.terms", btc.terms.as_ref())?;
    let terms = params.terms().clone();
    if terms.calculators.len() != offer.n as usize {
        return Err(ServiceError::invalid(
            "calculator_count",
            format!("{} but the terms list {}", offer.n, terms.calculators.len()),
        ));
    }
    // A threshold trap of l is only fair on an l-of-n split: with a smaller
    // l, calculators who cannot learn x could sweep honest fees; with none,
    // a Shamir split of l < n would leave l colluders unpunished.
    let trap_l = terms.threshold.as_ref().map(|t| t.l);
    let split_l = offer.sub.share_at().map(|s| s.l as usize);
    if trap_l != split_l {
        return Err(ServiceError::invalid(
            "bitcoin.terms.threshold",
            format!("the trap's l is {trap_l:?} but the sub-task's split has l = {split_l:?}"),
        ));
    }
    if req.outsourcer != terms.outsourcer.serialize() {
        return Err(ServiceError::invalid(
            "outsourcer",
            "not the terms' outsourcer key",
        ));
    }
    if !btc.fee_rate_sat_per_vb.is_finite() || btc.fee_rate_sat_per_vb < 1.0 {
        return Err(ServiceError::invalid(
            "bitcoin.fee_rate_sat_per_vb",
            "must be >= 1",
        ));
    }
    if btc.result_deadline_height >= u64::from(terms.timeout) {
        return Err(ServiceError::invalid(
            "bitcoin.result_deadline_height",
            "must be below t",
        ));
    }
    Ok(SubSettlement::Bitcoin(BtcSub {
        terms,
        fee_rate_sat_per_vb: btc.fee_rate_sat_per_vb,
        result_deadline_height: btc.result_deadline_height,
        coins: Vec::new(),
        payout_script_hex: hex::encode(c.own_script().as_bytes()),
        expires_unix_ms: 0,
        charge: None,
        funding_txid: None,
        charge_prime: None,
        converted_terms: None,
        conversion_txid: None,
        claim_tx_hex: None,
        claim_txid: None,
        reclaim: false,
        claim_height: None,
        bump: None,
    }))
}

fn decline(reason: DeclineReason, detail: String) -> Result<Decision> {
    Ok(Err((reason, detail)))
}

/// Decides the offer; an accepted one gets its coins reserved in `b`.
pub async fn decide(
    c: &Calculator,
    req: &pb::OfferRequest,
    offer: &CommonOffer,
    b: &mut BtcSub,
) -> Result<Decision> {
    let params = b.params()?;
    let terms = params.terms();
    let index = offer.index as usize;
    if terms.calculators.get(index) != Some(&c.key.x_only_public_key()) {
        return decline(
            DeclineReason::NotMyKey,
            format!("calculators[{index}] is not this calculator's key"),
        );
    }
    if !c.config.trusts_arbiter_key(&terms.arbiter) {
        return decline(
            DeclineReason::UntrustedParty,
            format!(
                "arbiter {} is not one of this calculator's trusted_arbiters",
                terms.arbiter
            ),
        );
    }
    if let Some(th) = &terms.threshold {
        if !c.config.accept_threshold_jobs || th.l < 2 {
            return decline(
                DeclineReason::UntrustedParty,
                format!(
                    "an {}-of-{} job (any {} co-calculators could sweep this fee): \
                     declined below l = 2 and whenever accept_threshold_jobs is off",
                    th.l,
                    terms.calculators.len(),
                    th.l
                ),
            );
        }
    }
    if terms.trap_deposit {
        if !c.config.accept_trap_on_deposit {
            return decline(
                DeclineReason::UntrustedParty,
                "trap_deposit terms (the trap reaches the deposit) and \
                 accept_trap_on_deposit is off"
                    .into(),
            );
        }
        let me = c.key.x_only_public_key();
        if let Some(k) = terms
            .calculators
            .iter()
            .find(|k| **k != me && !c.config.trusts_calculator(k))
        {
            return decline(
                DeclineReason::UntrustedParty,
                format!("trap_deposit terms with calculator {k}, not in trusted_calculators"),
            );
        }
    }
    let key_check = (|| {
        let own = message_secret(&req.sub_task, &offer.salt, &offer.job_random)?;
        let aggregate = aggregate_pubkey(&offer.keys)?;
        let published = PublishedKeys {
            keys: offer.keys.clone(),
            aggregate,
        };
        check_offer_keys(&c.secp, &own, index, &published, &params)
    })();
    if let Err(e) = key_check {
        return decline(DeclineReason::MessageKeyMismatch, e.to_string());
    }
    let l = &c.config.limits;
    if terms.fee.to_sat() < l.min_fee_sat {
        return decline(
            DeclineReason::FeeTooLow,
            format!("d = {} sat < {} sat", terms.fee.to_sat(), l.min_fee_sat),
        );
    }
    if terms.deposit.to_sat() > l.max_deposit_sat {
        return decline(
            DeclineReason::DepositTooHigh,
            format!(
                "g = {} sat > {} sat",
                terms.deposit.to_sat(),
                l.max_deposit_sat
            ),
        );
    }
    if let Some(why) = crate::work::too_large(&offer.sub, l.max_work) {
        return decline(DeclineReason::TooMuchWork, why);
    }
    let tip = c.chain.tip_height().await?;
    if tip.saturating_add(l.min_blocks_to_result_deadline) > b.result_deadline_height {
        return decline(
            DeclineReason::NotEnoughTime,
            format!(
                "tip {tip} + {} blocks > result deadline {}",
                l.min_blocks_to_result_deadline, b.result_deadline_height
            ),
        );
    }
    let far = u64::from(terms.timeout).saturating_sub(tip);
    if far > l.max_blocks_to_payout {
        return decline(
            DeclineReason::TimeoutTooFar,
            format!(
                "t is {far} blocks away, more than max_blocks_to_payout = {}",
                l.max_blocks_to_payout
            ),
        );
    }
    let deposit = terms.deposit.to_sat();
    let reserved: Vec<Coin> = record::all(c.store.as_ref())?
        .into_iter()
        .filter(|(r, _)| r.state.is_offer())
        .filter_map(|(r, _)| r.btc().ok().map(|b| b.coins.clone()))
        .flatten()
        .collect();
    let mut picked = Vec::new();
    let mut sum = 0u64;
    for coin in c.chain.list_unspent(c.own_script().as_bytes()).await? {
        if sum >= deposit {
            break;
        }
        if reserved.contains(&coin) {
            continue;
        }
        sum = sum.saturating_add(coin.value_sat);
        picked.push(coin);
    }
    if sum < deposit {
        return decline(
            DeclineReason::InsufficientFunds,
            format!("{sum} sat of unreserved coins < g = {deposit} sat"),
        );
    }
    b.coins = picked;
    b.expires_unix_ms = c.now_ms().saturating_add(c.config.offer_ttl_ms);
    Ok(Ok(()))
}

/// The accepted answer: the reserved coins and own scripts.
pub fn accepted(c: &Calculator, b: &BtcSub) -> pb::OfferResponse {
    let script = c.own_script().as_bytes().to_vec();
    pb::OfferResponse {
        accepted: true,
        decline_reason: 0,
        decline_detail: String::new(),
        funding: Some(pb::CalculatorFunding {
            inputs: b
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
        expires_unix_ms: b.expires_unix_ms,
        ..Default::default()
    }
}
