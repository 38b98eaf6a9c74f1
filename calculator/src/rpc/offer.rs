//! `Offer` (PROTOCOL.md §4 step 1, §5). The parts both chains share are
//! checked here (INVALID_ARGUMENT naming the field: 32-byte job id, token
//! and R, a known chain, n >= 1, index < n, m_i, 33-byte message keys);
//! the chain's settlement parses its terms and decides
//! (`crate::settlement::{bitcoin,ethereum}::offer`). A calculator that does
//! not serve the chain declines UNSUPPORTED without storing anything.
//! The answer (accepted or declined) is stored before it is returned; a
//! repeat of the identical offer returns it again, a different offer for
//! the same job id is ALREADY_EXISTS, unless the stored one was declined,
//! or withdrawn by the same outsourcer key (O re-deals a job whose pool
//! calculator declined, `outsourcer::driver::replace`): the new offer
//! replaces it. A withdrawn record has signed nothing and reserves no coin,
//! and nobody but its outsourcer can take its job id over. An acceptance carries C_i's signature over the
//! offer's digest and its endpoint (`bapay_core::auth::ACCEPT_TAG`), O's
//! evidence for an unresponsive dispute.

use bapay_daemon::{codec, ServiceError};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::DeclineReason;
use prost::Message;

use crate::record::{self, State, SubTaskRecord};
use crate::service::Calculator;
use crate::settlement::{self, CommonOffer};
use crate::Result;

fn common(req: &pb::OfferRequest) -> Result<CommonOffer> {
    let job_id = codec::bytes32("job_id", &req.job_id)?;
    codec::bytes32("job_token", &req.job_token)?;
    let n = req.calculator_count;
    if n == 0 {
        return Err(ServiceError::invalid("calculator_count", "n = 0"));
    }
    if req.index >= n {
        return Err(ServiceError::invalid("index", "index >= n"));
    }
    let sub = codec::sub_task("sub_task", &req.sub_task)?;
    if let Some(at) = sub.share_at() {
        if at.index != req.index || at.l > n {
            return Err(ServiceError::invalid(
                "sub_task",
                format!(
                    "a share for calculator {} of an l = {} split, offered to calculator {} of {n}",
                    at.index, at.l, req.index
                ),
            ));
        }
    }
    let job_random = codec::bytes32("job_random", &req.job_random)?;
    let salt = codec::bytes32("sub_task_salt", &req.sub_task_salt)?;
    let keys = req
        .message_keys
        .iter()
        .enumerate()
        .map(|(i, k)| codec::pubkey33(&format!("message_keys[{i}]"), k))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(CommonOffer {
        job_id,
        n,
        index: req.index,
        sub,
        job_random,
        salt,
        keys,
    })
}

/// Handles Offer.
pub async fn handle(c: &Calculator, req: pb::OfferRequest) -> Result<pb::OfferResponse> {
    let s = settlement::for_chain(req.chain)
        .ok_or_else(|| ServiceError::invalid("chain", "unknown chain"))?;
    if !s.serves(c) {
        // Not stored: nothing about the offer was checked.
        return Ok(pb::OfferResponse {
            decline_reason: DeclineReason::Unsupported as i32,
            decline_detail: "this calculator does not serve the offer's chain \
                             (Ethereum: no ethereum.contract)"
                .into(),
            ..Default::default()
        });
    }
    let offer = common(&req)?;
    let mut part = s.parse_offer(c, &req, &offer)?;
    // Bound to the terms' outsourcer: signed by it, or refused before
    // anything is stored (a stranger cannot offer in O's name).
    let key = codec::xonly("outsourcer_key", &req.outsourcer_key)?;
    if !s.names_outsourcer(&part, &key) {
        return Err(ServiceError::permission_denied(
            "outsourcer_key is not the outsourcer the terms name",
        ));
    }
    let unsigned = pb::OfferRequest {
        outsourcer_signature: Vec::new(),
        ..req.clone()
    };
    bapay_core::auth::verify(
        bapay_core::auth::OFFER_TAG,
        &unsigned.encode_to_vec(),
        &req.outsourcer_signature,
        &key,
    )
    .map_err(|e| {
        ServiceError::permission_denied(format!(
            "the offer is not signed by the terms' outsourcer ({e})"
        ))
    })?;
    let offer_digest =
        bapay_core::auth::digest(bapay_core::auth::OFFER_TAG, &unsigned.encode_to_vec());
    let job_hex = hex::encode(offer.job_id);
    let offer_hash = hex::encode(bapay_core::commitment::sha256(&req.encode_to_vec()));

    let _guard = c.lock.lock().await;
    let version = match record::load(c.store.as_ref(), &job_hex)? {
        Some((rec, _)) if rec.offer_hash == offer_hash => return Ok(response(c, &rec)),
        Some((rec, v)) if rec.state == State::Declined => Some(v),
        Some((rec, v))
            if rec.state == State::Withdrawn
                && settlement::of(&rec).names_outsourcer(&rec.settlement, &key) =>
        {
            Some(v)
        }
        Some(_) => {
            return Err(ServiceError::already_exists(format!(
                "job {job_hex} already offered with different fields"
            )))
        }
        None => None,
    };
    let decision = s.decide(c, &req, &offer, &mut part).await?;
    let (state, decline_reason, state_reason) = match decision {
        Ok(()) => (State::Accepted, 0, String::new()),
        Err((reason, detail)) => (State::Declined, reason as i32, detail),
    };
    let mut rec = SubTaskRecord {
        job_id: job_hex.clone(),
        offer_hash,
        job_token: hex::encode(&req.job_token),
        index: req.index,
        sub_task_hex: hex::encode(&req.sub_task),
        job_random: hex::encode(offer.job_random),
        salt: hex::encode(offer.salt),
        state,
        state_reason,
        decline_reason,
        work_requested: false,
        result_hex: None,
        commitment: None,
        updated_unix_ms: 0,
        settlement: part,
        acceptance: None,
    };
    if rec.state == State::Accepted {
        // C_i's proof, for an unresponsive dispute, of the m_i and token it
        // took and of where it answers the arbiter.
        let endpoint = c.endpoint();
        let sig = bapay_core::auth::sign(
            bapay_core::auth::ACCEPT_TAG,
            &bapay_core::auth::acceptance_bytes(&offer_digest, &endpoint),
            c.key.keypair(),
        );
        rec.acceptance = Some((endpoint, hex::encode(sig.serialize())));
    }
    c.save(&mut rec, version)?;
    tracing::info!(job = %job_hex, state = ?rec.state, reason = %rec.state_reason, "offer answered");
    Ok(response(c, &rec))
}

/// The answer stored in `rec`.
fn response(c: &Calculator, rec: &SubTaskRecord) -> pb::OfferResponse {
    if rec.state == State::Declined {
        return pb::OfferResponse {
            accepted: false,
            decline_reason: rec.decline_reason,
            decline_detail: rec.state_reason.clone(),
            ..Default::default()
        };
    }
    let mut r = settlement::of(rec).accepted(c, rec);
    if let Some((endpoint, sig)) = &rec.acceptance {
        r.endpoint = endpoint.clone();
        r.acceptance_signature = hex::decode(sig).unwrap_or_default();
    }
    r
}
