//! COMPUTING: StartWork to every escrowed calculator, then FetchResult
//! until each returns r_i with a commitment O checks itself (its m_i, the
//! hash of r_i, the job, the slot, C_i's signature). The result and the
//! commitment are stored (the evidence for T) before the slot is COMMITTED.
//! Every slot committed, or the result deadline reached, → VERIFYING; a slot
//! with no valid result by then is FAULTY; on Bitcoin O then files an
//! `Unresponsive` dispute (driver/dispute.rs: T asks C_i itself; silent, it
//! loses its deposit). The chain may add its own check of the result
//! (Ethereum: FairPay's root).

use bapay_core::commitment::Commitment;
use bapay_core::task::SubResult;
use bapay_daemon::{codec, ErrorCode, ServiceError};
use bapay_proto::calculator::v1 as calc;
use prost::Message;

use crate::record::{JobRecord, JobState, SlotState};
use crate::service::{set_slot, Note, Outsourcer};
use crate::settlement;
use crate::Result;

/// One pass of the computing phase.
pub async fn step(o: &Outsourcer, rec: &JobRecord, tip: u64) -> Result<()> {
    for s in &rec.slots {
        match s.state {
            SlotState::Escrowed => start(o, rec, s.index).await?,
            SlotState::Working => fetch(o, rec, s.index).await?,
            _ => {}
        }
    }
    let rec = o.get(&rec.job_id)?.0;
    let late = tip >= rec.result_deadline;
    let done = rec
        .slots
        .iter()
        .all(|s| matches!(s.state, SlotState::Committed | SlotState::Faulty));
    if done || late {
        o.update(&rec.job_id, |r| {
            let mut notes = Vec::new();
            for i in 0..r.slots.len() {
                if matches!(r.slots[i].state, SlotState::Escrowed | SlotState::Working) {
                    notes.push(set_slot(
                        r,
                        i as u32,
                        SlotState::Faulty,
                        "no result by the result deadline",
                    ));
                }
            }
            r.state = JobState::Verifying;
            notes.push(Note::job("results in; verifying"));
            Ok(notes)
        })
        .await?;
    }
    Ok(())
}

async fn start(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<()> {
    let s = &rec.slots[i as usize];
    let req = settlement::of(rec).start_work(rec, i);
    match o.calculator(&s.endpoint)?.start_work(req).await {
        Ok(_) => {
            o.update(&rec.job_id, |r| {
                Ok(vec![set_slot(r, i, SlotState::Working, "")])
            })
            .await?;
        }
        Err(e) => tracing::warn!(slot = i, error = %e.message(), "StartWork failed; retrying"),
    }
    Ok(())
}

async fn fetch(o: &Outsourcer, rec: &JobRecord, i: u32) -> Result<()> {
    if o.config.misbehave.false_unresponsive {
        return Ok(());
    }
    let s = &rec.slots[i as usize];
    let req = calc::FetchResultRequest {
        job_id: rec.id_bytes()?.to_vec(),
        job_token: s.token(),
    };
    let r = match o.calculator(&s.endpoint)?.fetch_result(req).await {
        Ok(r) => r.into_inner(),
        Err(e) => {
            tracing::warn!(slot = i, error = %e.message(), "FetchResult failed; retrying");
            return Ok(());
        }
    };
    let Some(pc) = r.commitment.as_ref().filter(|_| !r.result.is_empty()) else {
        return Ok(());
    };
    let chain = settlement::of(rec);
    let mut verdict = check(rec, i, &r.result, pc);
    if verdict.is_ok() {
        // The chain's own check (Ethereum: FairPay holds the same root, what
        // judge and disputeSearch check against).
        verdict = chain.check_committed(o, rec, i, &pc.root).await;
        if verdict
            .as_ref()
            .is_err_and(|e| e.code == ErrorCode::Unavailable)
        {
            return Ok(());
        }
    }
    let commitment_hex = hex::encode(pc.encode_to_vec());
    let result_hex = hex::encode(&r.result);
    o.update(&rec.job_id, |r2| {
        let slot = &mut r2.slots[i as usize];
        slot.result_hex = Some(result_hex.clone());
        slot.commitment_hex = Some(commitment_hex.clone());
        chain.fetched(slot, &r);
        Ok(vec![match &verdict {
            Ok(()) => set_slot(r2, i, SlotState::Committed, "signed result received"),
            Err(e) => set_slot(
                r2,
                i,
                SlotState::Faulty,
                &format!("invalid signed result: {e}"),
            ),
        }])
    })
    .await?;
    Ok(())
}

/// O's check of a returned result and commitment.
pub(crate) fn check(
    rec: &JobRecord,
    i: u32,
    result: &[u8],
    pc: &bapay_proto::common::v1::SignedCommitment,
) -> Result<()> {
    let s = &rec.slots[i as usize];
    let sub = s.sub_task()?;
    let res = SubResult::from_bytes(result).map_err(|e| ServiceError::invalid("result", e))?;
    let chain = settlement::of(rec).commit_chain();
    let signed = codec::commitment("commitment", Some(pc), chain)?;
    let expect = Commitment::new(
        chain,
        rec.id_bytes()?,
        i,
        &sub,
        &res,
        signed.commitment.root,
        signed.commitment.leaf_count,
    );
    if expect != signed.commitment {
        return Err(ServiceError::invalid(
            "commitment",
            "does not commit to this job, slot, m_i and r_i",
        ));
    }
    signed
        .verify(&s.calculator_key()?)
        .map_err(|e| ServiceError::invalid("commitment.signature", e))
}
