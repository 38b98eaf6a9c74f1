//! What a party checks before it signs the funding PSBT: its own change
//! and the input types (`sign_funding_checked`); what `build_funding` and
//! the spend builders refuse (repeated coins, a rate below 1 sat/vB).

use bitcoin::hashes::Hash;
use bitcoin::{Amount, FeeRate, ScriptBuf};

use super::test_util::{coin, deposits, keypair, keys, params, payout, rate};
use super::*;
use crate::Error;

#[test]
fn funding_signing_checks_own_change() {
    // A PSBT whose escrow outputs are right but that pays C_1's change to O:
    // `sign_funding` alone would sign it; the checked variant refuses.
    let p = params();
    let plan = build_funding(
        &p,
        &[coin(1, 400_000, 0)],
        payout(0),
        &deposits(60_000),
        rate(2),
    )
    .unwrap();
    let g = p.terms().deposit;
    let mut ok = plan.psbt.clone();
    assert_eq!(
        sign_funding_checked(&mut ok, &p, &keypair(10), &payout(10), g).unwrap(),
        1
    );
    let o_max = Amount::from_sat(300_000) + plan.fee;
    assert_eq!(
        sign_funding_checked(&mut ok, &p, &keypair(0), &payout(0), o_max).unwrap(),
        1
    );
    let mut stolen = plan.psbt.clone();
    assert_eq!(stolen.unsigned_tx.output[7].script_pubkey, payout(10));
    stolen.unsigned_tx.output[7].script_pubkey = payout(0);
    check_funding_outputs(&stolen.unsigned_tx, &p).unwrap();
    assert!(matches!(
        sign_funding_checked(&mut stolen, &p, &keypair(10), &payout(10), g),
        Err(Error::TermsMismatch(_))
    ));
    let mut dropped = plan.psbt.clone();
    dropped.unsigned_tx.output.remove(7);
    dropped.outputs.remove(7);
    assert!(matches!(
        sign_funding_checked(&mut dropped, &p, &keypair(10), &payout(10), g),
        Err(Error::TermsMismatch(_))
    ));
    // O's change cut by one sat more than its bound allows.
    let mut cut = plan.psbt.clone();
    cut.unsigned_tx.output[6].value -= Amount::from_sat(1);
    assert!(matches!(
        sign_funding_checked(&mut cut, &p, &keypair(0), &payout(0), o_max),
        Err(Error::TermsMismatch(_))
    ));
    // A legacy input of O's would let O re-sign it after C_1 signed and
    // change the funding txid, orphaning C_1's presigned Charge_1.
    let mut legacy = plan.psbt.clone();
    let pkh = bitcoin::PubkeyHash::from_raw_hash(Hash::hash(b"O"));
    legacy.inputs[0]
        .witness_utxo
        .as_mut()
        .unwrap()
        .script_pubkey = ScriptBuf::new_p2pkh(&pkh);
    assert!(matches!(
        sign_funding_checked(&mut legacy, &p, &keypair(10), &payout(10), g),
        Err(Error::TermsMismatch(_))
    ));
    // Dust change may be left to the miners, as build_funding does.
    let dust = build_funding(
        &p,
        &[coin(1, 400_000, 0)],
        payout(0),
        &deposits(50_100),
        rate(2),
    )
    .unwrap();
    let mut d = dust.psbt.clone();
    assert_eq!(
        sign_funding_checked(&mut d, &p, &keypair(10), &payout(10), g).unwrap(),
        1
    );
}

#[test]
fn pay_utxo_refuses_change_outputs() {
    // Outputs n.. are change: they are not escrow outputs.
    let p = params();
    let plan = build_funding(
        &p,
        &[coin(1, 400_000, 0)],
        payout(0),
        &deposits(60_000),
        rate(2),
    )
    .unwrap();
    assert!(plan.psbt.unsigned_tx.output.len() > 3);
    assert_eq!(plan.pay_utxo(2).unwrap().outpoint.vout, 2);
    for index in [3, 4, usize::MAX] {
        assert_eq!(
            plan.pay_utxo(index),
            Err(Error::EscrowIndexOutOfRange { index, len: 3 })
        );
    }
}

#[test]
fn duplicate_funding_outpoints_refused() {
    let p = params();
    let build =
        |o: &[FundingInput], c: &[CalculatorFunding]| build_funding(&p, o, payout(0), c, rate(2));
    // O gives the same coin twice.
    let twice = [coin(1, 400_000, 0), coin(1, 400_000, 0)];
    let dup = Err(Error::DuplicateOutpoint {
        outpoint: twice[0].outpoint,
    });
    assert_eq!(build(&twice, &deposits(60_000)).map(|_| ()), dup);
    // A calculator gives O's coin (same outpoint, its own script).
    let mut c = deposits(60_000);
    c[1].inputs[0].outpoint = coin(1, 0, 0).outpoint;
    assert_eq!(build(&[coin(1, 400_000, 0)], &c).map(|_| ()), dup);
    // Two calculators give the same coin.
    let mut c = deposits(60_000);
    let first = c[0].inputs[0].clone();
    c[2].inputs.push(first);
    assert_eq!(
        build(&[coin(1, 400_000, 0)], &c).map(|_| ()),
        Err(Error::DuplicateOutpoint {
            outpoint: c[0].inputs[0].outpoint
        })
    );
}

#[test]
fn builders_refuse_fee_rate_below_min_relay() {
    let p = params();
    let low = FeeRate::from_sat_per_kwu(249);
    let too_low = |r: Result<(), Error>| {
        assert!(
            matches!(
                r,
                Err(Error::FeeRateTooLow {
                    sat_per_kwu: 249,
                    min_sat_per_kwu: 250
                })
            ),
            "{r:?}"
        )
    };
    let o = [coin(1, 400_000, 0)];
    too_low(build_funding(&p, &o, payout(0), &deposits(60_000), low).map(|_| ()));
    let plan = build_funding(&p, &o, payout(0), &deposits(60_000), rate(1)).unwrap();
    let pay = plan.pay_utxo(0).unwrap();
    let slot = plan.slot_escrow(0).unwrap();
    let pays: Vec<_> = (0..3).map(|i| plan.pay_utxo(i).unwrap()).collect();
    too_low(build_charge(&p, 0, slot, payout(10), low, 0).map(|_| ()));
    too_low(build_redeem(&p, 0, slot, payout(10), low).map(|_| ()));
    too_low(build_reclaim(&p, 0, slot.deposit.unwrap(), payout(10), low, 0).map(|_| ()));
    let conv = p.converted(keys(50, 1)[0], None).unwrap();
    too_low(build_conversion(&p, &conv, 0, pay, low).map(|_| ()));
    too_low(build_sweep(&p, 0, &pays, payout(10), low, TrapKind::Aggregate).map(|_| ()));
    build_charge(&p, 0, slot, payout(10), rate(1), 0).unwrap();
}
