//! Hostile funding on Bitcoin: a calculator that double-spends its deposit
//! coin after O signed (O voids its own coins and fails the job), and a
//! calculator whose coin is gone before O signs (the job fails before O
//! signs anything).

use ::bitcoin::OutPoint;
use bapay_daemon::BitcoinChain;
use bapay_proto::common::v1 as common;

use super::*;
use crate::record::JobState;

fn calculator_coin(rec: &JobRecord, i: usize) -> OutPoint {
    let (txid, vout, _, _) = rec.slots[i]
        .btc()
        .expect("btc")
        .funding
        .as_ref()
        .expect("coins")
        .inputs[0]
        .clone();
    OutPoint {
        txid: txid.parse().expect("txid"),
        vout,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_spent_deposit_after_o_signed_voids_o_coins_and_fails() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest]).await;
    let id = w
        .submit(search_job("btc-doublespend", 2, common::Chain::Bitcoin))
        .await;
    // Drive O alone until it has signed and stored the funding.
    let mut rec = w.job(&id);
    for _ in 0..50 {
        let signed = rec
            .btc()
            .expect("btc")
            .funding
            .as_ref()
            .is_some_and(|f| f.signed_hex.is_some());
        if signed {
            break;
        }
        crate::driver::tick(&w.o).await.expect("O ticks");
        for c in &w.calcs {
            let _ = bapay_calculator::driver::tick(c).await;
        }
        rec = w.job(&id);
    }
    let f = rec.btc().expect("btc").funding.clone().expect("funding");
    assert!(f.o_signing && f.signed_hex.is_some());
    // C_1 spends its deposit coin elsewhere (confirmed) before the funding
    // reaches the chain.
    w.btc.spend(calculator_coin(&rec, 1));
    let rec = w.until(&id, 50, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Failed);
    assert!(
        rec.state_reason.contains("calculator 1's funding coin"),
        "{}",
        rec.state_reason
    );
    // O's funding coin is spent by the void, back to O; no escrow exists.
    let void = rec
        .btc()
        .expect("btc")
        .funding
        .as_ref()
        .and_then(|f| f.void.clone())
        .expect("void stored");
    let o_coin = OutPoint {
        txid: ::bitcoin::Txid::from_byte_array([1; 32]),
        vout: 0,
    };
    let spender = w.btc.spender(&o_coin).expect("O's coin is spent");
    assert_eq!(spender.compute_txid().to_string(), void.txid);
    assert_eq!(spender.output.len(), 1);
    assert_eq!(spender.output[0].script_pubkey, w.o.own_script());
    assert!(w.btc.tx_status(&f.txid).await.expect("status").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_coin_gone_before_o_signs_fails_the_job_unsigned() {
    let w = World::new(&[Behaviour::Honest, Behaviour::Honest]).await;
    let id = w
        .submit(search_job("btc-gone", 2, common::Chain::Bitcoin))
        .await;
    // Until O has built the funding and presigned the charges.
    let rec = w
        .until(&id, 50, |r| {
            r.btc().is_ok_and(|b| b.funding.is_some()) || r.state.is_terminal()
        })
        .await;
    w.btc.spend(calculator_coin(&rec, 0));
    let rec = w.until(&id, 50, |r| r.state.is_terminal()).await;
    assert_eq!(rec.state, JobState::Failed);
    let f = rec.btc().expect("btc").funding.clone().expect("funding");
    assert!(!f.o_signing && f.signed_hex.is_none(), "O never signed");
    assert!(w.btc.broadcasts().is_empty(), "nothing broadcast");
}
