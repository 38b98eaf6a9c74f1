//! The Bitcoin phases of the driver: an honest job through every phase, a
//! lazy calculator disputed and redeemed, a declined offer, cancellation
//! before and after money is locked.

use bapay_proto::common::v1 as common;
use bapay_proto::outsourcer::v1 as pb;

use super::*;
use crate::record::{JobState, SlotState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_job_goes_through_every_phase_and_pays_each_calculator() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest]).await;
    let id = w
        .submit(search_job("btc-honest", 2, common::Chain::Bitcoin))
        .await;
    assert_eq!(w.job(&id).state, JobState::Created);
    let rec = w.until(&id, 400, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed, "{:?}", slots(&rec));
    assert_eq!(slots(&rec), vec![SlotState::Paid, SlotState::Paid]);
    assert!(rec.output.is_some(), "every slot verified: output combined");
    for s in &rec.slots {
        let b = s.btc().expect("btc");
        assert!(b.paid_through_conversion, "slot {}: {}", s.index, s.reason);
    }
    assert_eq!(
        rec.btc()
            .expect("btc")
            .conversion
            .as_ref()
            .expect("P_R")
            .keys
            .len(),
        2
    );
    let events = crate::record::events(w.o.store.as_ref(), &id, 0).expect("events");
    let phases: Vec<JobState> = events.iter().map(|e| e.state).fold(Vec::new(), |mut v, s| {
        if v.last() != Some(&s) {
            v.push(s);
        }
        v
    });
    assert_eq!(
        phases,
        [
            JobState::Created,
            JobState::Offering,
            JobState::Funding,
            JobState::Computing,
            JobState::Verifying,
            JobState::AwaitingPayout,
            JobState::Completed
        ]
    );
    let job = crate::view::job(&rec);
    assert!(!job.transfers.is_empty() && !job.totals.is_empty());
    assert_eq!(job.chain, common::Chain::Bitcoin as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_calculator_is_disputed_and_redeemed() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Lazy]).await;
    let id = w
        .submit(search_job("btc-lazy", 2, common::Chain::Bitcoin))
        .await;
    let rec = w.until(&id, 400, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed);
    assert_eq!(slots(&rec), vec![SlotState::Paid, SlotState::Redeemed]);
    let redeem = rec.slots[1]
        .btc()
        .expect("btc")
        .redeem
        .clone()
        .expect("Redeem_i");
    assert!(redeem.value_sat > 60_000, "d + g minus the fee");
    assert!(rec.output.is_none(), "no output from a faulty job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeem_refused_for_its_fee_goes_in_with_a_stored_cpfp_child() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Lazy]).await;
    let id = w
        .submit(search_job("btc-redeem-bump", 2, common::Chain::Bitcoin))
        .await;
    let has_redeem =
        |r: &crate::record::JobRecord| r.slots[1].btc().is_ok_and(|b| b.redeem.is_some());
    let rec = w.until(&id, 400, has_redeem).await;
    let txid = rec.slots[1]
        .btc()
        .expect("btc")
        .redeem
        .clone()
        .expect("Redeem_i")
        .txid;
    // A fee spike: the node drops Redeem_i and refuses it alone.
    w.btc.evict(&txid);
    w.btc.fee_spike(txid.parse().expect("txid"), 30.0);
    let rec = w.until(&id, 400, |r| r.state.is_terminal()).await;
    assert_eq!(slots(&rec), vec![SlotState::Paid, SlotState::Redeemed]);
    let redeem = rec.slots[1]
        .btc()
        .expect("btc")
        .redeem
        .clone()
        .expect("Redeem_i");
    let bump = redeem.bump.expect("the child was stored");
    assert!(bump.package_rate_sat_per_vb >= 30.0, "{bump:?}");
    let packages = w.btc.packages();
    assert_eq!(packages.len(), 1, "one package relayed");
    let child: ::bitcoin::Transaction =
        ::bitcoin::consensus::deserialize(&packages[0][1]).expect("child");
    assert_eq!(child.compute_txid().to_string(), bump.txid);
    assert_eq!(
        child.output[0].script_pubkey,
        w.o.own_script(),
        "the child pays O only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_offer_fails_the_job_with_nothing_locked() {
    let w = World::new(&[Behaviour::Honest]).await;
    let mut req = search_job("btc-cheap", 1, common::Chain::Bitcoin);
    req.fee = Some(common::Amount {
        value: Some(common::amount::Value::Sat(500)),
    });
    let id = w.submit(req).await;
    let rec = w.until(&id, 50, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Failed);
    assert!(
        rec.state_reason.contains("declined"),
        "{}",
        rec.state_reason
    );
    assert!(rec.btc().expect("btc").funding.is_none());
    assert!(w.btc.broadcasts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_works_until_o_signs_then_is_refused() {
    let w = World::new(&[Behaviour::Honest]).await;
    let id = w
        .submit(search_job("btc-cancel", 1, common::Chain::Bitcoin))
        .await;
    let cancel = |id: &str| pb::CancelJobRequest {
        job_id: hex::decode(id).expect("hex"),
        reason: "test".into(),
    };
    w.round(&id).await;
    let r = crate::rpc::cancel_job::handle(&w.o, cancel(&id))
        .await
        .expect("cancels");
    assert_eq!(r.job.expect("job").state, pb::JobState::Cancelled as i32);

    let id = w
        .submit(search_job("btc-locked", 1, common::Chain::Bitcoin))
        .await;
    w.until(&id, 100, |r| r.state == JobState::Computing).await;
    let e = crate::rpc::cancel_job::handle(&w.o, cancel(&id))
        .await
        .expect_err("money is locked");
    assert_eq!(e.code, bapay_daemon::ErrorCode::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swept_pay_output_is_trapped_and_the_job_completes() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest]).await;
    let id = w
        .submit(search_job("btc-swept", 2, common::Chain::Bitcoin))
        .await;
    let rec = w
        .until(&id, 400, |r| r.state == JobState::AwaitingPayout)
        .await;
    // Colluders sweep Pay_1 before t through C_0's trap leaf (the fake
    // checks no signature); Dep_1 stays.
    let slot = rec.slot_escrow(1).expect("slot");
    let params = rec.escrow_params().expect("terms");
    let pay = bapay_core::escrow::EscrowOutput::new(&params, 1).expect("Pay_1");
    let trap = bapay_core::escrow::LeafKind::Trap(0);
    let witness = bapay_core::escrow::leaf_witness(
        pay.leaf(trap).expect("leaf"),
        &pay.control_block(trap).expect("control block"),
        &[None, None],
    );
    let sweep = ::bitcoin::Transaction {
        version: ::bitcoin::transaction::Version::TWO,
        lock_time: ::bitcoin::absolute::LockTime::ZERO,
        input: vec![::bitcoin::TxIn {
            previous_output: slot.pay.outpoint,
            script_sig: ::bitcoin::ScriptBuf::new(),
            sequence: ::bitcoin::Sequence::MAX,
            witness,
        }],
        output: vec![::bitcoin::TxOut {
            value: ::bitcoin::Amount::from_sat(10_000),
            script_pubkey: w.calcs[0].own_script(),
        }],
    };
    w.btc.add_tx(&sweep, 6);
    let rec = w.until(&id, 100, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Completed);
    assert_eq!(slots(&rec), vec![SlotState::Paid, SlotState::Trapped]);
    let sw = rec.slots[1]
        .btc()
        .expect("btc")
        .sweep
        .clone()
        .expect("sweep");
    assert_eq!((sw.by, sw.key.as_str()), (Some(0), "P_M"));
    assert_eq!(sw.txid, sweep.compute_txid().to_string());
    assert!(
        rec.slots[0].reason.contains("Charge_i"),
        "{}",
        rec.slots[0].reason
    );
    // C_1 took its deposit back alone through the reclaim leaf.
    let dep = slot.deposit.expect("Dep_1");
    let reclaim = w.btc.spender(&dep.outpoint).expect("Dep_1 reclaimed");
    assert_eq!(reclaim.input.len(), 1);
    assert_eq!(reclaim.output[0].script_pubkey, w.calcs[1].own_script());
}
