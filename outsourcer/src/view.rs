//! The stored job as the API shows it (`bapay.outsourcer.v1.Job`): what
//! every chain shares is filled here; amounts, times, chain details, each
//! slot's chain fields and the money report come from the job's
//! settlement (`crate::settlement`, `view` of each chain).

use bapay_core::task::{Output, TaskSpec};
use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;
use prost::Message;

use crate::record::{Event, JobRecord, Slot};
use crate::settlement;

/// A task spec as the API shows it.
pub fn task_to_proto(t: &TaskSpec) -> common::TaskSpec {
    use common::task_spec::Params;
    common::TaskSpec {
        params: Some(match t {
            TaskSpec::Search(s) => Params::Search(common::SearchParams {
                seed: s.seed.as_bytes().to_vec(),
                rounds: s.rounds,
                difficulty_bits: s.difficulty_bits,
                lo: s.lo,
                hi: s.hi,
            }),
            TaskSpec::Linear(l) => Params::Linear(common::LinearParams {
                rows: l.rows,
                cols: l.cols,
                matrix_seed: l.matrix_seed.as_bytes().to_vec(),
                x: l.x.iter().map(|f| f.value()).collect(),
            }),
        }),
    }
}

/// The combined output.
pub fn output_to_proto(o: &Output) -> common::TaskOutput {
    use common::task_output::{Linear, Output as O, Search};
    common::TaskOutput {
        output: Some(match o {
            Output::Search { hits } => O::Search(Search { hits: hits.clone() }),
            Output::Linear { y } => O::Linear(Linear {
                y: y.iter().map(|f| f.value()).collect(),
            }),
        }),
    }
}

fn slot(s: &Slot) -> pb::CalculatorSlot {
    let commitment = s
        .commitment_hex
        .as_ref()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| common::SignedCommitment::decode(b.as_slice()).ok());
    pb::CalculatorSlot {
        index: s.index,
        endpoint: s.endpoint.clone(),
        bitcoin_key: s
            .key
            .as_ref()
            .and_then(|k| hex::decode(k).ok())
            .unwrap_or_default(),
        state: s.state as i32,
        state_reason: s.reason.clone(),
        sub_task_hash: bapay_core::commitment::sha256(&s.sub_task_bytes().unwrap_or_default())
            .to_vec(),
        commitment,
        dispute_id: s.dispute.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
        updated_unix_ms: s.updated_ms,
        ..Default::default()
    }
}

/// The API view of a stored job.
pub fn job(rec: &JobRecord) -> pb::Job {
    let mut job = pb::Job {
        job_id: hex::decode(&rec.job_id).unwrap_or_default(),
        request_id: rec.request_id.clone(),
        state: rec.state as i32,
        state_reason: rec.state_reason.clone(),
        task: Some(task_to_proto(&rec.task)),
        calculator_count: rec.slots.len() as u32,
        sampling: Some(pb::Sampling {
            p: rec.p,
            q: rec.q,
            m: rec.m,
            achieved: rec.q.powi(rec.m as i32),
        }),
        arbiter_endpoint: rec.arbiter_url.clone(),
        slots: rec.slots.iter().map(slot).collect(),
        output: rec.output.as_ref().map(output_to_proto),
        tip: rec.tip,
        created_unix_ms: rec.created_ms,
        updated_unix_ms: rec.updated_ms,
        threshold_l: rec.task.threshold().unwrap_or(0),
        ..Default::default()
    };
    settlement::of(rec).view(rec, &mut job);
    job
}

/// The API view of a stored event.
pub fn event(e: &Event, job: pb::Job) -> pb::JobEvent {
    pb::JobEvent {
        sequence: e.seq,
        at_unix_ms: e.at_ms,
        state: e.state as i32,
        calculator_index: e.slot,
        slot_state: e.slot_state.map(|s| s as i32).unwrap_or(0),
        description: e.description.clone(),
        tx: e.tx.clone(),
        job: Some(job),
    }
}
