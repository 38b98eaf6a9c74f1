//! Typed refusals of the builders and signers (the consensus side is proven
//! in `core/tests/kernel_verify.rs`).

use bitcoin::{Amount, ScriptBuf};

use super::test_util::{coin, deposits, escrow_utxo, keypair, params, payout, rate, slot, terms};
use super::*;
use crate::Error;

fn utxo(value: u64) -> EscrowUtxo {
    escrow_utxo(b"f", 0, value)
}

/// Calculator 0's Pay_0 and Dep_0 in a made-up funding.
fn sl(pay: u64, deposit: u64) -> SlotEscrow {
    slot(b"f", 0, pay, deposit)
}

#[test]
fn charge_with_t_not_in_future_refused() {
    let p = params();
    for h in [200, 201, 1000] {
        assert!(matches!(
            build_charge(&p, 0, sl(100_000, 50_000), payout(10), rate(1), h),
            Err(Error::InvalidTimeout { t: 200, .. })
        ));
    }
    build_charge(&p, 0, sl(100_000, 50_000), payout(10), rate(1), 199).unwrap();
}

#[test]
fn fee_above_amount_and_dust_refused() {
    let p = params();
    let fee = build_charge(&p, 0, sl(100_000, 50_000), payout(10), rate(1), 0)
        .unwrap()
        .fee
        .to_sat();
    assert!(matches!(
        build_charge(&p, 0, sl(fee / 2, fee - fee / 2), payout(10), rate(1), 0),
        Err(Error::FeeTooHigh { .. })
    ));
    assert_eq!(
        build_charge(
            &p,
            0,
            sl(fee / 2, fee - fee / 2 + 100),
            payout(10),
            rate(1),
            0
        )
        .unwrap_err(),
        Error::Dust {
            value: 100,
            limit: 330
        }
    );
    assert!(matches!(
        build_redeem(&p, 0, sl(500, 500), payout(0), rate(10_000)),
        Err(Error::FeeTooHigh { .. })
    ));
}

#[test]
fn index_out_of_range_refused() {
    let p = params();
    assert!(matches!(
        build_charge(&p, 3, sl(100_000, 50_000), payout(10), rate(1), 0),
        Err(Error::EscrowIndexOutOfRange { index: 3, len: 3 })
    ));
    assert!(matches!(
        build_sweep(
            &p,
            3,
            &[utxo(1); 3],
            payout(10),
            rate(1),
            TrapKind::Aggregate
        ),
        Err(Error::EscrowIndexOutOfRange { .. })
    ));
    assert!(matches!(
        build_sweep(
            &p,
            0,
            &[utxo(150_000); 2],
            payout(10),
            rate(1),
            TrapKind::Aggregate
        ),
        Err(Error::TermsMismatch(_))
    ));
    // No threshold leaf in these terms.
    assert!(matches!(
        build_sweep(
            &p,
            0,
            &[utxo(150_000); 3],
            payout(10),
            rate(1),
            TrapKind::Threshold
        ),
        Err(Error::Taproot(_))
    ));
}

#[test]
fn conversion_must_change_only_the_collusion_key() {
    let p = params();
    assert!(matches!(
        build_conversion(&p, &p, 0, utxo(150_000), rate(1)),
        Err(Error::TermsMismatch(_))
    ));
    let mut other = terms(3);
    other.collusion_key = keypair(50).x_only_public_key().0;
    other.fee = Amount::from_sat(500);
    let other = EscrowParams::new(other).unwrap();
    assert!(matches!(
        build_conversion(&p, &other, 0, utxo(150_000), rate(1)),
        Err(Error::TermsMismatch(_))
    ));
    let conv = p
        .converted(keypair(50).x_only_public_key().0, None)
        .unwrap();
    let spend = build_conversion(&p, &conv, 0, utxo(150_000), rate(1)).unwrap();
    assert_eq!(
        spend.tx.output[0].script_pubkey,
        EscrowOutput::new(&conv, 0).unwrap().script_pubkey()
    );
}

#[test]
fn signing_and_finalizing_check_the_signers() {
    let p = params();
    let spend = build_charge(
        &p,
        1,
        slot(b"f", 1, 100_000, 50_000),
        payout(11),
        rate(3),
        0,
    )
    .unwrap();
    let (o, c2, c3) = (keypair(0), keypair(11), keypair(12));
    assert!(matches!(
        sign_escrow_input(&spend, 0, &c3),
        Err(Error::NotASigner(_))
    ));
    // Dep_i's reclaim leaf is C_i's alone: O is no signer of input 1.
    assert!(matches!(
        sign_escrow_input(&spend, 1, &o),
        Err(Error::NotASigner(_))
    ));
    let o_sig = sign_escrow_input(&spend, 0, &o).unwrap();
    let c_sig = sign_escrow_input(&spend, 0, &c2).unwrap();
    let c_dep = sign_escrow_input(&spend, 1, &c2).unwrap();
    let (ko, kc) = (o.x_only_public_key().0, c2.x_only_public_key().0);
    assert!(matches!(
        spend.finalize(&[vec![(ko, o_sig)], vec![(kc, c_dep)]]),
        Err(Error::MissingSignature(_))
    ));
    assert!(matches!(
        spend.finalize(&[vec![(ko, c_sig), (kc, o_sig)], vec![(kc, c_dep)]]),
        Err(Error::InvalidSignature(_))
    ));
    assert!(matches!(
        spend.finalize(&[vec![(kc, c_sig), (ko, o_sig)], vec![]]),
        Err(Error::MissingSignature(_))
    ));
    let tx = spend
        .finalize(&[vec![(kc, c_sig), (ko, o_sig)], vec![(kc, c_dep)]])
        .unwrap();
    assert_eq!(tx.input[0].witness.len(), 4);
    assert_eq!(
        tx.input[1].witness.len(),
        3,
        "C_i's signature, script, control"
    );
    assert_eq!(rate(3).fee_vb(tx.vsize() as u64).unwrap(), spend.fee);
}

#[test]
fn funding_layout_fee_and_refusals() {
    let p = params();
    let o_coins = vec![coin(1, 400_000, 0)];
    let plan = build_funding(&p, &o_coins, payout(0), &deposits(60_000), rate(2)).unwrap();
    let tx = &plan.psbt.unsigned_tx;
    assert_eq!(tx.output.len(), 3 + 3 + 1 + 3);
    check_funding_outputs(tx, &p).unwrap();
    for i in 0..3 {
        assert_eq!(
            tx.output[i].value,
            Amount::from_sat(100_000),
            "Pay_i holds d"
        );
        assert_eq!(
            tx.output[3 + i].value,
            Amount::from_sat(50_000),
            "Dep_i holds g"
        );
    }
    // O's change = 400k - 300k - fee.
    assert_eq!(tx.output[6].value, Amount::from_sat(100_000) - plan.fee);
    assert_eq!(tx.output[7].value, Amount::from_sat(10_000));
    assert_eq!(plan.pay_utxo(2).unwrap().outpoint.vout, 2);
    let s2 = plan.slot_escrow(2).unwrap();
    assert_eq!(s2.deposit.unwrap().outpoint.vout, 5);
    assert_eq!(s2, slot_escrow(&p, tx.compute_txid(), 2).unwrap());
    assert!(plan.pay_utxo(3).is_err());
    // Dust change (calculators put in exactly g + 100) is dropped.
    let plan2 = build_funding(&p, &o_coins, payout(0), &deposits(50_100), rate(2)).unwrap();
    assert_eq!(plan2.psbt.unsigned_tx.output.len(), 7);
    assert!(plan2.fee > plan.fee);
    // Refusals.
    assert!(matches!(
        build_funding(
            &p,
            &[coin(1, 300_000, 0)],
            payout(0),
            &deposits(60_000),
            rate(2)
        ),
        Err(Error::InsufficientFunds { .. })
    ));
    assert!(matches!(
        build_funding(&p, &o_coins, payout(0), &deposits(49_999), rate(2)),
        Err(Error::InsufficientFunds { .. })
    ));
    assert!(matches!(
        build_funding(&p, &o_coins, payout(0), &deposits(60_000)[..2], rate(2)),
        Err(Error::TermsMismatch(_))
    ));
    let mut legacy = o_coins.clone();
    legacy[0].txout.script_pubkey = ScriptBuf::new_op_return([1u8; 4]);
    assert!(matches!(
        build_funding(&p, &legacy, payout(0), &deposits(60_000), rate(2)),
        Err(Error::TermsMismatch(_))
    ));
}

#[test]
fn funding_signing_checks_terms_and_ownership() {
    let p = params();
    let plan = build_funding(
        &p,
        &[coin(1, 400_000, 0)],
        payout(0),
        &deposits(60_000),
        rate(2),
    )
    .unwrap();
    let mut psbt = plan.psbt.clone();
    assert!(matches!(
        sign_funding(&mut psbt, &p, &keypair(1)),
        Err(Error::NotASigner(_))
    ));
    let mut tampered = plan.psbt.clone();
    tampered.unsigned_tx.output[0].value -= Amount::from_sat(1);
    assert!(matches!(
        sign_funding(&mut tampered, &p, &keypair(10)),
        Err(Error::TermsMismatch(_))
    ));
    assert_eq!(sign_funding(&mut psbt, &p, &keypair(10)).unwrap(), 1);
    assert!(matches!(
        finalize_funding(&psbt),
        Err(Error::MissingSignature(_))
    ));
    for s in [0, 11, 12] {
        sign_funding(&mut psbt, &p, &keypair(s)).unwrap();
    }
    let tx = finalize_funding(&psbt).unwrap();
    assert_eq!(rate(2).fee_vb(tx.vsize() as u64).unwrap(), plan.fee);
}

#[test]
fn presigned_charge_checks() {
    let p = params();
    let u = slot(b"f", 1, 100_000, 50_000);
    let spend = build_charge(&p, 1, u, payout(11), rate(2), 0).unwrap();
    let o_sig = sign_escrow_input(&spend, 0, &keypair(0)).unwrap();
    let max = Amount::from_sat(2_000);
    let ok = check_presigned_charge(&p, 1, u, &spend.tx, &o_sig, &payout(11), max).unwrap();
    assert_eq!(ok, spend);
    // Wrong payout, too high a fee, wrong locktime, wrong index: refused.
    assert!(matches!(
        check_presigned_charge(&p, 1, u, &spend.tx, &o_sig, &payout(0), max),
        Err(Error::TermsMismatch(_))
    ));
    assert!(matches!(
        check_presigned_charge(
            &p,
            1,
            u,
            &spend.tx,
            &o_sig,
            &payout(11),
            Amount::from_sat(10)
        ),
        Err(Error::TermsMismatch(_))
    ));
    let mut early = spend.tx.clone();
    early.lock_time = bitcoin::absolute::LockTime::ZERO;
    assert!(matches!(
        check_presigned_charge(&p, 1, u, &early, &o_sig, &payout(11), max),
        Err(Error::TermsMismatch(_))
    ));
    assert!(check_presigned_charge(&p, 0, u, &spend.tx, &o_sig, &payout(11), max).is_err());
    // A Charge_i that leaves Dep_i out (C_i's deposit) is refused.
    let mut pay_only = spend.tx.clone();
    pay_only.input.truncate(1);
    assert!(matches!(
        check_presigned_charge(&p, 1, u, &pay_only, &o_sig, &payout(11), max),
        Err(Error::TermsMismatch(_))
    ));
    // A script sig leaves O's signature valid but the Charge_i unspendable.
    let mut with_sig = spend.tx.clone();
    with_sig.input[0].script_sig = ScriptBuf::from_bytes(vec![0x51]);
    assert!(matches!(
        check_presigned_charge(&p, 1, u, &with_sig, &o_sig, &payout(11), max),
        Err(Error::TermsMismatch(_))
    ));
}

#[test]
fn spent_leaf_names_the_leaf_and_whose_trap() {
    let p = params();
    let spend = build_charge(
        &p,
        1,
        slot(b"f", 1, 100_000, 50_000),
        payout(11),
        rate(3),
        0,
    )
    .unwrap();
    let (o, c2) = (keypair(0), keypair(11));
    let (ko, kc) = (o.x_only_public_key().0, c2.x_only_public_key().0);
    let tx = spend
        .finalize(&[
            vec![
                (kc, sign_escrow_input(&spend, 0, &c2).unwrap()),
                (ko, sign_escrow_input(&spend, 0, &o).unwrap()),
            ],
            vec![(kc, sign_escrow_input(&spend, 1, &c2).unwrap())],
        ])
        .unwrap();
    let pay = EscrowOutput::new(&p, 1).unwrap();
    let dep = EscrowOutput::deposit(&p, 1).unwrap();
    assert_eq!(pay.spent_leaf(&tx.input[0].witness), Some(LeafKind::Charge));
    assert_eq!(
        dep.spent_leaf(&tx.input[1].witness),
        Some(LeafKind::Reclaim)
    );
    // Another output's leaves do not match.
    assert_eq!(
        EscrowOutput::new(&p, 0)
            .unwrap()
            .spent_leaf(&tx.input[0].witness),
        None
    );
    assert_eq!(pay.spent_leaf(&bitcoin::Witness::new()), None);
    // Every trap leaf j is told apart (the witness's signatures unchecked).
    for j in 0..p.n() {
        let leaf = pay.leaf(LeafKind::Trap(j)).unwrap();
        let cb = pay.control_block(LeafKind::Trap(j)).unwrap();
        let w = leaf_witness(leaf, &cb, &[None, None]);
        assert_eq!(pay.spent_leaf(&w), Some(LeafKind::Trap(j)));
    }
}
