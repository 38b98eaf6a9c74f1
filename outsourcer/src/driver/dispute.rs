//! DISPUTING: for each FAULTY slot with evidence, O files a `WrongResult`
//! dispute with T (stored id first), presenting only the opened leaves that
//! fail (or, when the fault is in the whole result, the first sampled
//! leaf: T then checks the result itself). On AT_FAULT O rebuilds Redeem_i
//! from the terms, checks T's bytes equal it, adds its own signature,
//! stores the finished transaction and broadcasts it until it is at depth
//! (REDEEMED). REJECTED → DISPUTE_REJECTED (C_i is paid at t). When no
//! dispute is open any more → AWAITING_PAYOUT.

use bapay_core::escrow::{build_redeem, sign_escrow_input, EscrowUtxo};
use bapay_proto::arbiter::v1 as arb;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::{Amount, OutPoint};

use super::verify::has_evidence;
use crate::codec;
use crate::error::{OutsourcerError, Result};
use crate::record::{ChainKind, JobRecord, JobState, Slot, SlotState, StoredDispute};
use crate::service::{set_slot, Note, Outsourcer};
use crate::view;

/// One pass of the dispute phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord, _tip: u64) -> Result<()> {
    for s in &rec.slots {
        if has_evidence(s) {
            file(o, rec, s).await?;
        } else if s.state == SlotState::Disputed {
            redeem(o, rec, s).await?;
        }
    }
    let rec = o.get(&rec.job_id)?.0;
    let open = rec
        .slots
        .iter()
        .any(|s| has_evidence(s) || s.state == SlotState::Disputed);
    if !open {
        o.update(&rec.job_id, |r| {
            r.state = JobState::AwaitingPayout;
            Ok(vec![Note::job("disputes decided; waiting for t")])
        })
        .await?;
    }
    Ok(())
}

fn pay_utxo(rec: &JobRecord, i: u32) -> Result<EscrowUtxo> {
    let txid = rec
        .funding
        .as_ref()
        .map(|f| f.txid.clone())
        .unwrap_or_default();
    Ok(EscrowUtxo {
        outpoint: OutPoint {
            txid: txid
                .parse()
                .map_err(|e| OutsourcerError::internal("funding txid", e))?,
            vout: i,
        },
        value: Amount::from_sat(rec.fee_sat + rec.deposit_sat),
    })
}

/// The openings that prove the fault (see the module docs).
fn evidence(s: &Slot, root_check: &bapay_core::merkle::Hash32) -> Result<Vec<common::Opening>> {
    let opened = s.openings()?;
    let sub = s.sub_task()?;
    let res = s.result()?;
    let mut bad = Vec::new();
    for p in &opened.openings {
        let Ok(core) = codec::openings("opening", std::slice::from_ref(p)) else {
            continue;
        };
        if sub
            .verify_sample(&res, root_check, &[p.index], &core)
            .is_err()
        {
            bad.push(p.clone());
        }
    }
    if bad.is_empty() {
        bad.extend(opened.openings.first().cloned());
    }
    Ok(bad)
}

async fn file(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    let i = s.index;
    if rec.chain == ChainKind::Ethereum && crate::eth::dispute_search(o, rec, s).await? {
        return Ok(());
    }
    let pc = s.commitment()?;
    let root = codec::commitment("commitment", &pc, rec.commit_chain())?
        .commitment
        .root;
    let req = arb::DisputeRequest {
        job_id: super::id_bytes(rec),
        chain: match rec.chain {
            ChainKind::Bitcoin => common::Chain::Bitcoin as i32,
            ChainKind::Ethereum => common::Chain::Ethereum as i32,
        },
        calculator_index: i,
        sub_task: JobRecord::unhex("sub task", &s.sub_task_hex)?,
        settlement: Some(settlement(o, rec, i)?),
        evidence: Some(arb::dispute_request::Evidence::WrongResult(
            arb::WrongResult {
                commitment: Some(pc),
                result: s.result_bytes()?,
                openings: evidence(s, &root)?,
            },
        )),
    };
    let d = match o.arbiter()?.dispute(req).await {
        Ok(r) => r.into_inner().dispute.unwrap_or_default(),
        Err(e)
            if matches!(
                e.code(),
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
            ) =>
        {
            tracing::warn!(slot = i, error = %e.message(), "arbiter unreachable; retrying");
            return Ok(());
        }
        Err(e) => {
            let why = format!(
                "arbiter refused the dispute: {:?}: {}",
                e.code(),
                e.message()
            );
            o.update(&rec.job_id, |r| {
                r.slots[i as usize].dispute = Some(StoredDispute {
                    id: String::new(),
                    reason: why.clone(),
                    redeem_hex: None,
                    redeem_txid: None,
                    redeem_value_sat: 0,
                });
                Ok(vec![set_slot(r, i, SlotState::DisputeRejected, &why)])
            })
            .await?;
            return Ok(());
        }
    };
    let state = arb::DisputeState::try_from(d.state).unwrap_or(arb::DisputeState::Unspecified);
    let finished = if state == arb::DisputeState::AtFault && rec.chain == ChainKind::Bitcoin {
        Some(finish_redeem(o, rec, i, &d)?)
    } else {
        None
    };
    o.update(&rec.job_id, |r| {
        let reason = s.reason.clone();
        let slot = &mut r.slots[i as usize];
        let mut sd = StoredDispute {
            id: d.dispute_id.clone(),
            reason,
            redeem_hex: None,
            redeem_txid: None,
            redeem_value_sat: 0,
        };
        let note = match (state, &finished) {
            (arb::DisputeState::AtFault, Some((hex_tx, txid, value))) => {
                sd.redeem_hex = Some(hex_tx.clone());
                sd.redeem_txid = Some(txid.clone());
                sd.redeem_value_sat = *value;
                slot.dispute = Some(sd);
                set_slot(
                    r,
                    i,
                    SlotState::Disputed,
                    "arbiter: calculator at fault; Redeem_i signed",
                )
                .tx(txid.clone())
            }
            (arb::DisputeState::AtFault | arb::DisputeState::JudgeSent, None) => {
                slot.dispute = Some(sd);
                set_slot(
                    r,
                    i,
                    SlotState::Disputed,
                    "arbiter: calculator at fault; judge sent",
                )
            }
            (arb::DisputeState::Judged, _) => {
                slot.dispute = Some(sd);
                set_slot(
                    r,
                    i,
                    SlotState::Redeemed,
                    "judged: O got the reward and the bond",
                )
            }
            (arb::DisputeState::Rejected | arb::DisputeState::Expired, _) => {
                slot.dispute = Some(sd);
                let why = format!(
                    "arbiter rejected the dispute: {:?} {}",
                    arb::RejectReason::try_from(d.reject_reason)
                        .unwrap_or(arb::RejectReason::Unspecified),
                    d.detail
                );
                set_slot(r, i, SlotState::DisputeRejected, &why)
            }
            _ => return Ok(vec![]),
        };
        Ok(vec![note])
    })
    .await?;
    Ok(())
}

fn settlement(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<arb::dispute_request::Settlement> {
    if rec.chain == ChainKind::Ethereum {
        return crate::eth::dispute_settlement(rec, i);
    }
    let params = super::params(rec)?;
    let utxo = pay_utxo(rec, i)?;
    Ok(arb::dispute_request::Settlement::Bitcoin(
        arb::BitcoinDispute {
            terms: Some(view::terms_proto(&params)),
            escrow: Some(common::EscrowUtxo {
                txid: utxo.outpoint.txid.to_string(),
                vout: i,
                value_sat: utxo.value.to_sat(),
            }),
            outsourcer_payout_script: o.own_script().to_bytes(),
            fee_rate_sat_per_vb: rec.fee_rate as f64,
            proposed_redeem_tx: Vec::new(),
        },
    ))
}

/// Rebuilds Redeem_i, checks T signed exactly it, adds O's signature.
fn finish_redeem(
    o: &Outsourcer,
    rec: &JobRecord,
    i: u32,
    d: &arb::Dispute,
) -> Result<(String, String, u64)> {
    let params = super::params(rec)?;
    let spend = build_redeem(
        &params,
        i as usize,
        pay_utxo(rec, i)?,
        o.own_script(),
        super::rate(rec)?,
    )
    .map_err(|e| OutsourcerError::internal("Redeem_i", e))?;
    if bitcoin::consensus::serialize(&spend.tx) != d.redeem_tx {
        return Err(OutsourcerError::Internal(
            "the arbiter's Redeem_i differs from O's".into(),
        ));
    }
    let t_sig = Signature::from_slice(&d.arbiter_signature)
        .map_err(|e| OutsourcerError::internal("arbiter signature", e))?;
    let o_sig = sign_escrow_input(&spend, 0, o.key.keypair())
        .map_err(|e| OutsourcerError::internal("sign Redeem_i", e))?;
    let terms = params.terms();
    let tx = spend
        .finalize(&[vec![(terms.outsourcer, o_sig), (terms.arbiter, t_sig)]])
        .map_err(|e| OutsourcerError::internal("finalize Redeem_i", e))?;
    Ok((
        hex::encode(bitcoin::consensus::serialize(&tx)),
        tx.compute_txid().to_string(),
        tx.output[0].value.to_sat(),
    ))
}

async fn redeem(o: &Outsourcer, rec: &JobRecord, s: &Slot) -> Result<()> {
    if rec.chain == ChainKind::Ethereum {
        return crate::eth::follow_dispute(o, rec, s).await;
    }
    let Some(d) = &s.dispute else { return Ok(()) };
    let (Some(raw), Some(txid)) = (&d.redeem_hex, &d.redeem_txid) else {
        return Ok(());
    };
    match o.chain.tx_status(txid).await? {
        None => match o.chain.broadcast(&JobRecord::unhex("redeem", raw)?).await {
            Ok(_) => tracing::info!(slot = s.index, %txid, "Redeem_i broadcast"),
            Err(e) => {
                tracing::warn!(slot = s.index, error = %e, "Redeem_i broadcast failed; retrying")
            }
        },
        Some(st) if st.confirmations >= o.config.finality_depth.max(1) => {
            let i = s.index;
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(
                    r,
                    i,
                    SlotState::Redeemed,
                    "Redeem_i confirmed: O got d + g",
                )
                .tx(txid.clone())])
            })
            .await?;
        }
        Some(_) => {}
    }
    Ok(())
}
