//! A declined pool calculator is replaced from the pool (issue 10 item 6):
//! on both chains the job is dealt again, every slot re-offered, and it
//! completes with the spare; with the spares used up, or with an explicit
//! list, a decline still FAILs the job with nothing locked.

use bapay_proto::common::v1 as common;

use super::*;
use crate::record::{JobState, SlotState};

async fn replaced_and_completed(chain: common::Chain) {
    let w = World::new(&[Behaviour::Declines, Behaviour::Honest, Behaviour::Honest]).await;
    let pool = w.o.config.pool.clone();
    let id = w.submit(search_job("replace", 2, chain)).await;
    let first = w.job(&id);
    assert_eq!(first.spares, vec![pool[2].clone()]);
    let rec = w.until(&id, 400, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed, "{:?}", slots(&rec));
    assert_eq!(slots(&rec), vec![SlotState::Paid, SlotState::Paid]);
    // The spare took slot 0; calculator 1 kept slot 1 under a new deal.
    assert_eq!(rec.slots[0].endpoint, pool[2]);
    assert_eq!(rec.slots[1].endpoint, pool[1]);
    assert!(rec.spares.is_empty());
    for k in 0..2 {
        assert_ne!(rec.slots[k].job_token, first.slots[k].job_token);
        assert_ne!(rec.slots[k].salt, first.slots[k].salt);
    }
    assert_ne!(rec.job_random, first.job_random);
    assert_ne!(rec.message_keys, first.message_keys);
    // The output is the direct run's.
    let direct = rec.task.run_direct().expect("direct");
    assert_eq!(rec.output.as_ref(), Some(&direct));
    let events = crate::record::events(w.o.store.as_ref(), &id, 0).expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.description.contains("replaced by") && e.slot == Some(0)),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_pool_calculator_is_replaced_on_bitcoin() {
    replaced_and_completed(common::Chain::Bitcoin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_pool_calculator_is_replaced_on_ethereum() {
    replaced_and_completed(common::Chain::Ethereum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_fails_once_its_spares_are_used_up() {
    let w = World::new(&[Behaviour::Declines, Behaviour::Honest, Behaviour::Declines]).await;
    let id = w
        .submit(search_job("spares-out", 2, common::Chain::Bitcoin))
        .await;
    let rec = w.until(&id, 100, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Failed);
    assert!(
        rec.state_reason.contains("declined"),
        "{}",
        rec.state_reason
    );
    assert_eq!(rec.slots[0].endpoint, w.o.config.pool[2]);
    assert!(rec.btc().expect("btc").funding.is_none());
    assert!(w.btc.broadcasts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_list_has_no_spares() {
    let w = World::new(&[Behaviour::Declines, Behaviour::Honest, Behaviour::Honest]).await;
    let mut req = search_job("explicit", 2, common::Chain::Bitcoin);
    req.calculators = Some(pb::submit_job_request::Calculators::Explicit(
        pb::CalculatorList {
            calculators: w.o.config.pool[..2]
                .iter()
                .map(|e| pb::CalculatorRef {
                    endpoint: e.clone(),
                    ..Default::default()
                })
                .collect(),
        },
    ));
    let id = w.submit(req).await;
    assert!(w.job(&id).spares.is_empty());
    let rec = w.until(&id, 50, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Failed);
    assert_eq!(rec.slots[0].endpoint, w.o.config.pool[0]);
}
