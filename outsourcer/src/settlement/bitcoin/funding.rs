//! FUNDING (PROTOCOL.md §4 step 2, Lightning order): O picks its coins and
//! builds the funding PSBT and every Charge_i, signs each Charge_i, and
//! stores all of it; then hands each calculator its Charge_i with the PSBT
//! (SignFunding) and stores the signed PSBTs; only when all n signatures
//! are in does O record that it signs, sign its own inputs (checked: its
//! change comes back, it pays at most n·d + fee), store the finished
//! transaction and broadcast it (again after a restart, until it is at
//! depth). Before O signs, a refusal or the offer timeout FAILs the job
//! with nothing locked.

use bapay_core::escrow::{
    build_charge, build_funding, finalize_funding, sign_escrow_input, sign_funding_checked,
    verify_funding_input, CalculatorFunding, FundingInput,
};
use bapay_daemon::ServiceError;
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use bitcoin::{Amount, OutPoint, Psbt, ScriptBuf, TxOut};

use crate::driver::offer::fail;
use crate::record::{unhex, JobRecord, JobState, SlotState, StoredCharge, StoredFundingTx};
use crate::service::{set_slot, Note, Outsourcer};
use crate::Result;

fn coin(txid: &str, vout: u32, value: u64, script: Vec<u8>) -> Result<FundingInput> {
    Ok(FundingInput {
        outpoint: OutPoint {
            txid: txid
                .parse()
                .map_err(|e| ServiceError::internal("coin txid", e))?,
            vout,
        },
        txout: TxOut {
            value: Amount::from_sat(value),
            script_pubkey: ScriptBuf::from_bytes(script),
        },
    })
}

/// O's confirmed coins not reserved by another job's unconfirmed funding.
pub async fn spendable(o: &Outsourcer) -> Result<Vec<FundingInput>> {
    let script = o.own_script();
    let reserved: std::collections::HashSet<String> = o
        .all()?
        .into_iter()
        .filter(|j| j.state == JobState::Funding)
        .filter_map(|j| j.btc().ok().and_then(|b| b.funding.clone()))
        .flat_map(|f| f.o_inputs)
        .collect();
    let mut out = Vec::new();
    for u in o.chain.list_unspent(script.as_bytes()).await? {
        if reserved.contains(&format!("{}:{}", u.txid, u.vout)) {
            continue;
        }
        out.push(coin(&u.txid, u.vout, u.value_sat, script.to_bytes())?);
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.txout.value));
    Ok(out)
}

/// One pass of the funding phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    let funding = rec.btc()?.funding.clone();
    let signing = funding.as_ref().is_some_and(|f| f.o_signing);
    if !signing && o.now_ms() > rec.offer_deadline_ms {
        return fail(o, rec, "funding timeout: calculator signatures missing").await;
    }
    let Some(f) = &funding else {
        return plan(o, rec, tip).await;
    };
    if let Some(signed) = &f.signed_hex {
        return super::confirm::step(o, rec, signed, &f.txid).await;
    }
    for s in &rec.slots {
        if s.state == SlotState::ChargePresigned {
            collect(o, rec, s.index).await?;
        }
    }
    let rec = o.get(&rec.job_id)?.0;
    if rec.state != JobState::Funding {
        return Ok(());
    }
    if rec
        .slots
        .iter()
        .all(|s| s.state == SlotState::FundingSigned)
    {
        sign_and_store(o, &rec).await?;
    }
    Ok(())
}

async fn plan(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    let _g = o.funding_lock.lock().await;
    let params = rec.escrow_params()?;
    let b = rec.btc()?;
    let rate = b.rate()?;
    let calcs = rec
        .slots
        .iter()
        .map(|s| {
            let f = s
                .btc()?
                .funding
                .as_ref()
                .ok_or_else(|| ServiceError::internal("slot", "without funding"))?;
            Ok(CalculatorFunding {
                inputs: f
                    .inputs
                    .iter()
                    .map(|(t, v, val, sc)| coin(t, *v, *val, unhex("script", sc)?))
                    .collect::<Result<_>>()?,
                change: ScriptBuf::from_bytes(unhex("change", &f.change_hex)?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let coins = spendable(o).await?;
    let balance: u64 = coins.iter().map(|c| c.txout.value.to_sat()).sum();
    let mut built = None;
    let mut last_err = String::from("no coins");
    for k in 1..=coins.len() {
        match build_funding(&params, &coins[..k], o.own_script(), &calcs, rate) {
            Ok(p) => {
                built = Some((p, k));
                break;
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    let Some((plan, k)) = built else {
        let why = format!(
            "O cannot fund n·d = {} sat plus fees from {balance} sat of confirmed coins ({last_err})",
            rec.slots.len() as u64 * b.fee_sat
        );
        return fail(o, rec, &why).await;
    };
    let mut charges = Vec::new();
    for s in &rec.slots {
        let payout = s.payout_script()?;
        let slot = plan
            .slot_escrow(s.index as usize)
            .map_err(|e| ServiceError::internal("slot escrow", e))?;
        let tip32 = u32::try_from(tip).map_err(|e| ServiceError::internal("tip", e))?;
        let charge = build_charge(&params, s.index as usize, slot, payout, rate, tip32)
            .map_err(|e| ServiceError::internal("Charge_i", e))?;
        let sig = sign_escrow_input(&charge, 0, o.key.keypair())
            .map_err(|e| ServiceError::internal("sign Charge_i", e))?;
        charges.push(StoredCharge {
            tx_hex: hex::encode(bitcoin::consensus::serialize(&charge.tx)),
            sig_hex: hex::encode(sig.serialize()),
            txid: charge.tx.compute_txid().to_string(),
            value_sat: charge.tx.output[0].value.to_sat(),
        });
    }
    let o_in: u64 = coins[..k].iter().map(|c| c.txout.value.to_sat()).sum();
    let own = o.own_script();
    let o_change: u64 = plan
        .psbt
        .unsigned_tx
        .output
        .iter()
        .skip(params.escrow_outputs())
        .filter(|out| out.script_pubkey == own)
        .map(|out| out.value.to_sat())
        .sum();
    let txid = plan.psbt.unsigned_tx.compute_txid().to_string();
    o.update(&rec.job_id, |r| {
        r.btc_mut()?.funding = Some(StoredFundingTx {
            psbt_hex: hex::encode(plan.psbt.serialize()),
            o_inputs: coins[..k].iter().map(|c| c.outpoint.to_string()).collect(),
            o_input_sat: o_in,
            o_change_sat: o_change,
            fee_sat: plan.fee.to_sat(),
            txid: txid.clone(),
            o_signing: false,
            signed_hex: None,
            void: None,
            bump: None,
        });
        let mut notes =
            vec![
                Note::job(format!("funding PSBT built, fee {} sat", plan.fee.to_sat()))
                    .tx(txid.clone()),
            ];
        for (i, c) in charges.into_iter().enumerate() {
            r.slots[i].btc_mut()?.charge = Some(c);
            notes.push(set_slot(
                r,
                i as u32,
                SlotState::ChargePresigned,
                "Charge_i presigned",
            ));
        }
        Ok(notes)
    })
    .await?;
    Ok(())
}

async fn collect(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<()> {
    let s = &rec.slots[i as usize];
    let (Some(f), Some(c)) = (&rec.btc()?.funding, &s.btc()?.charge) else {
        return Ok(());
    };
    let req = calc::SignFundingRequest {
        job_id: rec.id_bytes()?.to_vec(),
        job_token: s.token(),
        charge: Some(common::PresignedCharge {
            tx: unhex("charge", &c.tx_hex)?,
            outsourcer_signature: unhex("sig", &c.sig_hex)?,
        }),
        funding_psbt: unhex("psbt", &f.psbt_hex)?,
    };
    match o.calculator(&s.endpoint)?.sign_funding(req).await {
        Ok(r) => {
            let r = r.into_inner();
            let psbt = Psbt::deserialize(&r.funding_psbt);
            let ok = psbt
                .as_ref()
                .is_ok_and(|p| p.unsigned_tx.compute_txid().to_string() == f.txid);
            if !ok {
                return fail(
                    o,
                    rec,
                    &format!("calculator {i} returned another funding PSBT"),
                )
                .await;
            }
            if let Err(why) = check_deposit(o, rec, i, &r.funding_psbt).await? {
                return fail(o, rec, &format!("calculator {i}: {why}")).await;
            }
            o.update(&rec.job_id, |r2| {
                r2.slots[i as usize].btc_mut()?.signed_psbt_hex =
                    Some(hex::encode(&r.funding_psbt));
                Ok(vec![set_slot(
                    r2,
                    i,
                    SlotState::FundingSigned,
                    "deposit signed",
                )])
            })
            .await?;
            Ok(())
        }
        Err(e)
            if matches!(
                e.code(),
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
            ) =>
        {
            tracing::warn!(slot = i, error = %e.message(), "calculator unreachable; retrying");
            Ok(())
        }
        Err(e) => {
            fail(
                o,
                rec,
                &format!(
                    "calculator {i} refused to sign its deposit: {}",
                    e.message()
                ),
            )
            .await
        }
    }
}

/// C_i's part of the funding, checked before O records that it signs:
/// every one of its inputs carries a valid key-path signature over O's own
/// PSBT (not the prevouts C_i sent back) and is an unspent coin of the
/// stated value on chain. Err(why): the job fails with nothing locked.
async fn check_deposit(
    o: &Outsourcer,
    rec: &JobRecord,
    i: u32,
    theirs: &[u8],
) -> Result<std::result::Result<(), String>> {
    let f = rec
        .btc()?
        .funding
        .as_ref()
        .ok_or_else(|| ServiceError::internal("funding", "none"))?;
    let mut psbt = Psbt::deserialize(&unhex("psbt", &f.psbt_hex)?)
        .map_err(|e| ServiceError::internal("stored psbt", e))?;
    let Ok(theirs) = Psbt::deserialize(theirs) else {
        return Ok(Err("unreadable signed PSBT".into()));
    };
    let coins = rec.slots[i as usize]
        .btc()?
        .funding
        .as_ref()
        .map(|f| f.inputs.clone())
        .unwrap_or_default();
    for (txid, vout, value, script) in &coins {
        let at = format!("{txid}:{vout}");
        let Some(k) = psbt
            .unsigned_tx
            .input
            .iter()
            .position(|x| x.previous_output.to_string() == at)
        else {
            return Ok(Err(format!("its coin {at} is not in the funding")));
        };
        psbt.inputs[k].tap_key_sig = theirs.inputs.get(k).and_then(|x| x.tap_key_sig);
        if let Err(e) = verify_funding_input(&psbt, k) {
            return Ok(Err(format!("bad signature on its coin {at}: {e}")));
        }
        let unspent = o.chain.list_unspent(&unhex("script", script)?).await?;
        if !unspent
            .iter()
            .any(|u| &u.txid == txid && u.vout == *vout && u.value_sat == *value)
        {
            return Ok(Err(format!(
                "its coin {at} is not an unspent coin of {value} sat on chain"
            )));
        }
    }
    Ok(Ok(()))
}

async fn sign_and_store(o: &Outsourcer, rec: &JobRecord) -> Result<()> {
    let Some(f) = rec.btc()?.funding.clone() else {
        return Ok(());
    };
    // From this record on, CancelJob is refused and the job cannot FAIL.
    let rec = o
        .update(&rec.job_id, |r| {
            if let Some(f) = r.btc_mut()?.funding.as_mut() {
                if f.o_signing {
                    return Ok(vec![]);
                }
                f.o_signing = true;
            }
            Ok(vec![Note::job(
                "every deposit signed; O signs its funding inputs",
            )])
        })
        .await?;
    let mut psbt = Psbt::deserialize(&unhex("psbt", &f.psbt_hex)?)
        .map_err(|e| ServiceError::internal("stored psbt", e))?;
    for s in &rec.slots {
        let sb = s.btc()?;
        let theirs = Psbt::deserialize(&unhex(
            "signed psbt",
            sb.signed_psbt_hex.as_deref().unwrap_or(""),
        )?)
        .map_err(|e| ServiceError::internal("signed psbt", e))?;
        let own: Vec<String> = sb
            .funding
            .as_ref()
            .map(|f| {
                f.inputs
                    .iter()
                    .map(|(t, v, _, _)| format!("{t}:{v}"))
                    .collect()
            })
            .unwrap_or_default();
        for (k, txin) in psbt.unsigned_tx.input.clone().iter().enumerate() {
            if own.contains(&txin.previous_output.to_string()) {
                psbt.inputs[k].tap_key_sig = theirs.inputs.get(k).and_then(|i| i.tap_key_sig);
            }
        }
    }
    let params = rec.escrow_params()?;
    let n = rec.slots.len() as u64;
    let max = Amount::from_sat(n * rec.btc()?.fee_sat + f.fee_sat);
    sign_funding_checked(&mut psbt, &params, o.key.keypair(), &o.own_script(), max)
        .map_err(|e| ServiceError::internal("sign funding", e))?;
    let tx = finalize_funding(&psbt).map_err(|e| ServiceError::internal("finalize funding", e))?;
    let hex_tx = hex::encode(bitcoin::consensus::serialize(&tx));
    let txid = tx.compute_txid().to_string();
    o.update(&rec.job_id, |r| {
        if let Some(f) = r.btc_mut()?.funding.as_mut() {
            f.signed_hex = Some(hex_tx.clone());
        }
        Ok(vec![
            Note::job("funding transaction signed and stored").tx(txid.clone())
        ])
    })
    .await?;
    Ok(())
}
