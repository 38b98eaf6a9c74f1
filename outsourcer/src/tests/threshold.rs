//! l-of-n linear jobs (issue 10 item 3) at SubmitJob and through the
//! driver: `threshold_l` is refused with a reason for a search job, on
//! Ethereum and above n; a fully verified 2-of-3 Bitcoin job deals Shamir
//! shares, converts to Pay' with threshold leaves over the result keys and
//! gives the direct run's y. Completion with silent calculators goes
//! through T's response window, which these fakes' frozen clock never
//! ends: `scenarios/tests/threshold.rs` shows it on real nodes.

use bapay_core::task::linear::ShareAt;
use bapay_daemon::ErrorCode;
use bapay_proto::common::v1 as common;

use super::*;
use crate::record::{JobState, SlotState};

fn linear_job(id: &str, n: u32, l: u32, chain: common::Chain) -> pb::SubmitJobRequest {
    let mut req = search_job(id, n, chain);
    req.task = Some(common::TaskSpec {
        params: Some(common::task_spec::Params::Linear(common::LinearParams {
            rows: 8,
            cols: 3,
            matrix_seed: vec![4; 32],
            x: vec![11, 22, 33],
        })),
    });
    req.threshold_l = l;
    req
}

async fn refused(w: &World, req: pb::SubmitJobRequest, code: ErrorCode, field: &str) {
    let e = crate::rpc::submit_job::handle(&w.o, req)
        .await
        .expect_err("refused");
    assert_eq!(e.code, code, "{e:?}");
    assert!(e.to_string().contains(field), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_l_is_checked_at_submit() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest]).await;
    let mut search = search_job("s", 2, common::Chain::Bitcoin);
    search.threshold_l = 2;
    refused(&w, search, ErrorCode::InvalidArgument, "linear kind").await;
    refused(
        &w,
        linear_job("big", 2, 3, common::Chain::Bitcoin),
        ErrorCode::InvalidArgument,
        "l = 3 > n = 2",
    )
    .await;
    refused(
        &w,
        linear_job("one", 2, 1, common::Chain::Bitcoin),
        ErrorCode::InvalidArgument,
        "l = 1",
    )
    .await;
    refused(
        &w,
        linear_job("eth", 2, 2, common::Chain::Ethereum),
        ErrorCode::FailedPrecondition,
        "only Bitcoin",
    )
    .await;
    assert!(w.o.all().expect("jobs").is_empty(), "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fully_verified_threshold_job_converts_with_threshold_leaves_over_the_result_keys() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest, Behaviour::Honest]).await;
    let id = w
        .submit(linear_job("all-in", 3, 2, common::Chain::Bitcoin))
        .await;
    for (i, s) in w.job(&id).slots.iter().enumerate() {
        let sub = s.sub_task().expect("m_i");
        assert_eq!(
            sub.share_at(),
            Some(ShareAt {
                l: 2,
                index: i as u32
            })
        );
    }
    let rec = w.until(&id, 800, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed, "{:?}", slots(&rec));
    assert_eq!(slots(&rec), vec![SlotState::Paid; 3]);
    for s in &rec.slots {
        let b = s.btc().expect("btc");
        assert!(b.paid_through_conversion, "slot {}: {}", s.index, s.reason);
    }
    let converted = crate::settlement::bitcoin::convert::converted_params(&rec).expect("Pay'");
    let th = converted
        .terms()
        .threshold
        .as_ref()
        .expect("threshold leaves");
    assert_eq!(th.l, 2);
    let result_keys = &rec
        .btc()
        .expect("btc")
        .conversion
        .as_ref()
        .expect("P_R")
        .keys;
    let xonly: Vec<String> = th
        .message_keys
        .iter()
        .map(|k| hex::encode(k.serialize()))
        .collect();
    for (k, x) in result_keys.iter().zip(&xonly) {
        assert!(
            k.ends_with(x.as_str()),
            "Pay' threshold keys are the result keys"
        );
    }
    assert_eq!(
        rec.output.as_ref(),
        Some(&rec.task.run_direct().expect("direct"))
    );
}
