//! The Ethereum phases of the driver, on a fake chain that applies each
//! FairPay call: an honest job through every phase, a lazy calculator
//! caught by the trustless `disputeSearch`, and a calculator that goes
//! silent after the job is opened (refunded at the commit deadline).

use bapay_proto::common::v1 as common;

use super::*;
use crate::record::{JobState, SlotState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_job_is_opened_committed_verified_and_paid_out() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest]).await;
    let id = w
        .submit(search_job("eth-honest", 2, common::Chain::Ethereum))
        .await;
    let rec = w.until(&id, 400, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed, "{:?}", slots(&rec));
    assert_eq!(slots(&rec), vec![SlotState::Paid, SlotState::Paid]);
    assert!(rec.output.is_some());
    for s in &rec.slots {
        let e = s.eth().expect("eth");
        assert!(e.open_tx.is_some() && !e.commit_tx.is_empty());
    }
    let job = crate::view::job(&rec);
    assert_eq!(job.chain, common::Chain::Ethereum as i32);
    assert!(job.slots.iter().all(|s| s.ethereum_job.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_calculator_loses_to_dispute_search() {
    let w = World::new(&[Behaviour::Lazy, Behaviour::Honest]).await;
    let id = w
        .submit(search_job("eth-lazy", 2, common::Chain::Ethereum))
        .await;
    let rec = w.until(&id, 400, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed);
    assert_eq!(slots(&rec), vec![SlotState::Redeemed, SlotState::Paid]);
    assert!(rec.slots[0].eth().expect("eth").dispute_tx.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calculator_silent_after_the_open_is_refunded() {
    let w = World::new(&[Behaviour::Honest]).await;
    let id = w
        .submit(search_job("eth-silent", 1, common::Chain::Ethereum))
        .await;
    w.until(&id, 100, |r| r.state == JobState::Computing).await;
    w.silence(0);
    let deadline = w.job(&id).result_deadline;
    w.eth.set_time(deadline);
    let rec = w.until(&id, 200, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed);
    assert_eq!(slots(&rec), vec![SlotState::Refunded]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_trapped_before_open_is_never_funded() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest]).await;
    let id = w
        .submit(search_job("eth-trapped-early", 2, common::Chain::Ethereum))
        .await;
    // The calculators pool their offers at once and spring the trap
    // before O opens anything.
    let rec = w.until(&id, 100, |r| r.state == JobState::Funding).await;
    let group = rec.slot_job(0).expect("job").job.group;
    w.eth.set_trap(group, Address::repeat_byte(0x77));
    let rec = w.until(&id, 50, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Failed, "{}", rec.state_reason);
    assert!(rec.state_reason.contains("trapped"));
    assert!(rec
        .slots
        .iter()
        .all(|s| s.eth().is_ok_and(|e| e.open_tx.is_none())));
}
