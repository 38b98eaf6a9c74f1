//! Refusals of [`check_redeem`] and [`check_conversion`]: every deviation
//! from the builders' transaction is a typed [`SpendFault`].

use bitcoin::absolute::LockTime;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, TxOut};

use super::test_util::{escrow_utxo, keypair, keys, params, payout, rate, terms};
use super::*;
use crate::Error;

const MAX_FEE: Amount = Amount::from_sat(5_000);

fn pay(index: u32) -> EscrowUtxo {
    escrow_utxo(b"funding", index, 100_000)
}

/// Pay_i and Dep_i of calculator `index`.
fn slot(index: u32) -> SlotEscrow {
    SlotEscrow {
        pay: pay(index),
        deposit: Some(escrow_utxo(b"funding", 3 + index, 50_000)),
    }
}

fn converted() -> EscrowParams {
    params().converted(keys(3, 1)[0], None).unwrap()
}

/// The fault of a refusal, or a panic naming what came instead.
fn fault(r: crate::Result<EscrowSpend>) -> SpendFault {
    match r {
        Err(Error::SpendRefused { fault, .. }) => fault,
        other => panic!("expected SpendRefused, got {other:?}"),
    }
}

fn redeem() -> EscrowSpend {
    build_redeem(&params(), 1, slot(1), payout(0), rate(2)).unwrap()
}

fn check_r(p: &EscrowSpend) -> crate::Result<EscrowSpend> {
    check_redeem(&params(), 1, slot(1), p, &payout(0), MAX_FEE)
}

/// O's conversion of Pay_2 and the Charge'_2 C_2 checked on it.
fn conversion() -> (EscrowSpend, EscrowSpend) {
    let (p, c) = (params(), converted());
    let conv = build_conversion(&p, &c, 1, pay(1), rate(2)).unwrap();
    let pay2 = EscrowUtxo {
        outpoint: OutPoint {
            txid: conv.tx.compute_txid(),
            vout: 0,
        },
        value: conv.tx.output[0].value,
    };
    let prime = SlotEscrow {
        pay: pay2,
        deposit: slot(1).deposit,
    };
    let charge = build_charge(&c, 1, prime, payout(11), rate(2), 100).unwrap();
    let o_sig = sign_escrow_input(&charge, 0, &keypair(0)).unwrap();
    let checked =
        check_presigned_charge(&c, 1, prime, &charge.tx, &o_sig, &payout(11), MAX_FEE).unwrap();
    (conv, checked)
}

fn check_c(p: &EscrowSpend, charge: &EscrowSpend) -> crate::Result<EscrowSpend> {
    check_conversion(&params(), &converted(), 1, slot(1), p, MAX_FEE, charge)
}

#[test]
fn honest_redeem_accepted_and_signed_by_t() {
    let proposal = redeem();
    let spend = check_r(&proposal).unwrap();
    assert_eq!(spend, proposal);
    let sigs = vec![
        (
            keypair(0).x_only_public_key().0,
            sign_escrow_input(&spend, 0, &keypair(0)).unwrap(),
        ),
        (
            keypair(1).x_only_public_key().0,
            sign_escrow_input(&spend, 0, &keypair(1)).unwrap(),
        ),
    ];
    let sigs1 = vec![
        (
            keypair(0).x_only_public_key().0,
            sign_escrow_input(&spend, 1, &keypair(0)).unwrap(),
        ),
        (
            keypair(1).x_only_public_key().0,
            sign_escrow_input(&spend, 1, &keypair(1)).unwrap(),
        ),
    ];
    spend.finalize(&[sigs, sigs1]).unwrap();
    // Another fee rate within the bound is fine.
    let cheaper = build_redeem(&params(), 1, slot(1), payout(0), rate(1)).unwrap();
    assert_eq!(check_r(&cheaper).unwrap().fee, cheaper.fee);
}

#[test]
fn redeem_refusals() {
    let mut p = redeem();
    p.tx.output[0].script_pubkey = payout(11);
    assert_eq!(fault(check_r(&p)), SpendFault::WrongOutput);

    let mut p = redeem();
    p.tx.output.push(TxOut {
        value: Amount::from_sat(1_000),
        script_pubkey: payout(11),
    });
    assert_eq!(fault(check_r(&p)), SpendFault::OutputCount(2));

    // The charge leaf (O, C_2) instead of the dispute leaf.
    let charge = build_charge(&params(), 1, slot(1), payout(0), rate(2), 100).unwrap();
    let mut p = redeem();
    p.inputs = charge.inputs.clone();
    assert_eq!(fault(check_r(&p)), SpendFault::WrongLeaf("dispute"));

    let p = build_redeem(&params(), 1, slot(1), payout(0), rate(200)).unwrap();
    assert!(matches!(
        fault(check_r(&p)),
        SpendFault::FeeAboveMax { max: 5_000, .. }
    ));

    // Pay_1 instead of Pay_2, Pay_2 without Dep_2, and another input more.
    let p = build_redeem(&params(), 0, slot(0), payout(0), rate(2)).unwrap();
    assert_eq!(fault(check_r(&p)), SpendFault::WrongInput);
    let mut p = redeem();
    p.tx.input.truncate(1);
    assert_eq!(
        fault(check_r(&p)),
        SpendFault::InputCount {
            expected: 2,
            got: 1
        }
    );
    let mut p = redeem();
    p.tx.input.push(p.tx.input[0].clone());
    p.tx.input[2].previous_output.vout = 7;
    assert_eq!(
        fault(check_r(&p)),
        SpendFault::InputCount {
            expected: 2,
            got: 3
        }
    );
    let mut p = redeem();
    p.tx.input[0].script_sig = ScriptBuf::from_bytes(vec![0x51]);
    assert_eq!(fault(check_r(&p)), SpendFault::WrongInput);
}

#[test]
fn redeem_locktime_sequence_prevout_and_value_refusals() {
    let mut p = redeem();
    p.tx.lock_time = LockTime::from_height(150).unwrap();
    assert_eq!(
        fault(check_r(&p)),
        SpendFault::LockTime {
            expected: 0,
            got: 150
        }
    );
    let mut p = redeem();
    p.tx.input[0].sequence = Sequence::MAX;
    assert!(matches!(
        fault(check_r(&p)),
        SpendFault::Sequence {
            got: 0xffff_ffff,
            ..
        }
    ));
    let mut p = redeem();
    p.tx.version = bitcoin::transaction::Version::ONE;
    assert_eq!(fault(check_r(&p)), SpendFault::Version(1));
    // A prevout value other than Pay_2's would make T sign another sighash.
    let mut p = redeem();
    p.prevouts[0].value = Amount::from_sat(1);
    assert_eq!(fault(check_r(&p)), SpendFault::WrongPrevout);
    let mut p = redeem();
    p.tx.output[0].value = Amount::from_sat(150_001);
    assert_eq!(fault(check_r(&p)), SpendFault::OutputAboveInput);
    // A redeem of a wrong index is refused by the index check.
    assert!(matches!(
        check_redeem(&params(), 3, slot(1), &redeem(), &payout(0), MAX_FEE),
        Err(Error::EscrowIndexOutOfRange { index: 3, len: 3 })
    ));
}

#[test]
fn honest_conversion_accepted() {
    let (conv, charge) = conversion();
    let spend = check_c(&conv, &charge).unwrap();
    assert_eq!(spend, conv);
    sign_escrow_input(&spend, 0, &keypair(11)).unwrap();
}

#[test]
fn conversion_refusals() {
    let (conv, charge) = conversion();
    let mut p = conv.clone();
    p.tx.output[0].script_pubkey = payout(0);
    assert_eq!(fault(check_c(&p, &charge)), SpendFault::WrongOutput);

    let mut p = conv.clone();
    p.tx.output[0].value -= Amount::from_sat(1_000);
    p.tx.output.push(TxOut {
        value: Amount::from_sat(1_000),
        script_pubkey: payout(0),
    });
    assert_eq!(fault(check_c(&p, &charge)), SpendFault::OutputCount(2));

    // trap_2 (P_M, C_2): O knows P_M's secret, so C_2 must never sign it.
    let trap = build_sweep(
        &params(),
        1,
        &[pay(0), pay(1), pay(2)],
        payout(0),
        rate(2),
        TrapKind::Aggregate,
    )
    .unwrap();
    let mut p = conv.clone();
    p.inputs = vec![trap.inputs[1].clone()];
    assert_eq!(fault(check_c(&p, &charge)), SpendFault::WrongLeaf("charge"));

    let c = converted();
    let p = build_conversion(&params(), &c, 1, pay(1), rate(200)).unwrap();
    assert!(matches!(
        fault(check_c(&p, &charge)),
        SpendFault::FeeAboveMax { .. }
    ));

    let p = build_conversion(&params(), &c, 0, pay(0), rate(2)).unwrap();
    assert_eq!(fault(check_c(&p, &charge)), SpendFault::WrongInput);
}

#[test]
fn conversion_needs_pay_prime_terms_and_its_checked_charge() {
    let (conv, charge) = conversion();
    // "Converted" terms that change the fee, or nothing.
    let mut t = terms(3);
    t.collusion_key = keys(3, 1)[0];
    t.fee = Amount::from_sat(500);
    let bad = EscrowParams::new(t).unwrap();
    assert_eq!(
        fault(check_conversion(
            &params(),
            &bad,
            1,
            slot(1),
            &conv,
            MAX_FEE,
            &charge
        )),
        SpendFault::NotAConversion
    );
    assert_eq!(
        fault(check_conversion(
            &params(),
            &params(),
            1,
            slot(1),
            &conv,
            MAX_FEE,
            &charge
        )),
        SpendFault::NotAConversion
    );
    // A Charge'_i on another conversion (other fee rate, other txid).
    let other = build_conversion(&params(), &converted(), 1, pay(1), rate(1)).unwrap();
    assert_eq!(
        fault(check_c(&other, &charge)),
        SpendFault::ChargeNotOnConversion
    );
    // The old Charge_i (on Pay_i) instead of Charge'_i.
    let old = build_charge(&params(), 1, slot(1), payout(11), rate(2), 100).unwrap();
    assert_eq!(
        fault(check_c(&conv, &old)),
        SpendFault::ChargeNotOnConversion
    );
    // C_i's Dep_i is not the one Charge'_i spends (another outpoint), or
    // is missing: Charge'_i would never be mined.
    let elsewhere = SlotEscrow {
        deposit: Some(escrow_utxo(b"other", 4, 50_000)),
        ..slot(1)
    };
    let no_deposit = SlotEscrow {
        deposit: None,
        ..slot(1)
    };
    for s in [elsewhere, no_deposit] {
        assert_eq!(
            fault(check_conversion(
                &params(),
                &converted(),
                1,
                s,
                &conv,
                MAX_FEE,
                &charge
            )),
            SpendFault::ChargeNotOnConversion
        );
    }
}
