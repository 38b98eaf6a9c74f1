//! What [`EscrowParams::new`] refuses, including the size bounds of
//! `escrow::limits` (checked against transactions actually built at them).

use bitcoin::Amount;

use super::limits::{threshold_sweep_weight_bound, MAX_ESCROW_CALCULATORS, MAX_STANDARD_TX_WEIGHT};
use super::terms::*;
use super::test_util::{keys, terms};
use super::*;
use crate::Error;

#[test]
fn valid_terms_accepted() {
    let p = EscrowParams::new(terms(3)).unwrap();
    assert_eq!(p.n(), 3);
    assert_eq!(p.pay_value(), Amount::from_sat(100_000));
    assert_eq!(p.deposit_value(), Some(Amount::from_sat(50_000)));
    assert_eq!(p.slot_value(), Amount::from_sat(150_000));
    assert_eq!(p.escrow_outputs(), 6);
    let mut paper = terms(3);
    paper.trap_deposit = true;
    let p = EscrowParams::new(paper).unwrap();
    assert_eq!(p.pay_value(), Amount::from_sat(150_000));
    assert_eq!((p.deposit_value(), p.escrow_outputs()), (None, 3));
    assert!(matches!(
        p.calculator(3),
        Err(Error::EscrowIndexOutOfRange { index: 3, len: 3 })
    ));
}

#[test]
fn serde_round_trip_validates() {
    let p = EscrowParams::new(terms(2)).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<EscrowParams>(&json).unwrap(), p);
    let mut bad = terms(2);
    bad.timeout = 0;
    let json = serde_json::to_string(&bad).unwrap();
    assert!(serde_json::from_str::<EscrowParams>(&json).is_err());
}

#[test]
fn zero_calculators_refused() {
    let mut t = terms(3);
    t.calculators.clear();
    assert_eq!(EscrowParams::new(t), Err(Error::NoCalculators));
}

#[test]
fn duplicate_keys_refused() {
    let mut t = terms(3);
    t.calculators[2] = t.calculators[0];
    assert!(matches!(EscrowParams::new(t), Err(Error::DuplicateKey(_))));
    let mut t = terms(3);
    t.arbiter = t.outsourcer;
    assert!(matches!(EscrowParams::new(t), Err(Error::DuplicateKey(_))));
    let mut t = terms(3);
    t.collusion_key = t.calculators[1];
    assert!(matches!(EscrowParams::new(t), Err(Error::DuplicateKey(_))));
}

#[test]
fn dust_escrow_refused() {
    // The paper's variant: d + g in one output.
    let mut t = terms(2);
    t.trap_deposit = true;
    t.fee = Amount::from_sat(200);
    t.deposit = Amount::from_sat(129);
    assert_eq!(
        EscrowParams::new(t),
        Err(Error::Dust {
            value: 329,
            limit: 330
        })
    );
    // Split off: Pay_i (d) and Dep_i (g) each above dust.
    let mut t = terms(2);
    t.deposit = Amount::from_sat(329);
    assert_eq!(
        EscrowParams::new(t),
        Err(Error::Dust {
            value: 329,
            limit: 330
        })
    );
    let mut t = terms(2);
    t.fee = Amount::from_sat(100);
    assert!(matches!(
        EscrowParams::new(t),
        Err(Error::Dust { value: 100, .. })
    ));
}

#[test]
fn zero_or_timestamp_timeout_refused() {
    let mut t = terms(2);
    t.timeout = 0;
    assert!(matches!(
        EscrowParams::new(t),
        Err(Error::InvalidTimeout { t: 0, .. })
    ));
    let mut t = terms(2);
    t.timeout = 500_000_000;
    assert!(matches!(
        EscrowParams::new(t),
        Err(Error::InvalidTimeout { .. })
    ));
}

#[test]
fn bad_threshold_refused() {
    let mut t = terms(3);
    t.threshold = Some(ThresholdTrap {
        message_keys: keys(100, 3),
        l: 4,
    });
    assert!(matches!(
        EscrowParams::new(t),
        Err(Error::InvalidThreshold(_))
    ));
    let mut t = terms(3);
    t.threshold = Some(ThresholdTrap {
        message_keys: keys(100, 2),
        l: 2,
    });
    assert!(matches!(
        EscrowParams::new(t),
        Err(Error::InvalidThreshold(_))
    ));
}

fn threshold_terms(n: u32, l: usize) -> EscrowTerms {
    let mut t = terms(n);
    t.threshold = Some(ThresholdTrap {
        message_keys: keys(5_000, n),
        l,
    });
    t
}

fn utxos(n: usize, value: u64) -> Vec<EscrowUtxo> {
    use bitcoin::hashes::{sha256d, Hash};
    (0..n)
        .map(|i| EscrowUtxo {
            outpoint: bitcoin::OutPoint {
                txid: bitcoin::Txid::from_raw_hash(sha256d::Hash::hash(&i.to_be_bytes())),
                vout: 0,
            },
            value: Amount::from_sat(value),
        })
        .collect()
}

#[test]
fn escrow_cap_keeps_funding_and_sweep_standard() {
    let max = MAX_ESCROW_CALCULATORS;
    assert_eq!(
        EscrowParams::new(terms(max as u32 + 1)),
        Err(Error::TooManyEscrowCalculators { n: max + 1, max })
    );
    let p = EscrowParams::new(terms(max as u32)).unwrap();
    let rate = bitcoin::FeeRate::from_sat_per_vb(1).unwrap();
    let spk = |seed| p2tr_key_spend_script(keys(seed, 1)[0]);
    let coin = |u: &EscrowUtxo, seed| FundingInput {
        outpoint: u.outpoint,
        txout: bitcoin::TxOut {
            value: u.value,
            script_pubkey: spk(seed),
        },
    };
    let coins = utxos(max + 1, 60_000);
    let deposits: Vec<_> = (0..max)
        .map(|i| CalculatorFunding {
            inputs: vec![coin(&coins[i + 1], 10 + i as u32)],
            change: spk(10 + i as u32),
        })
        .collect();
    let mut o = coins[0];
    o.value = Amount::from_sat(100_000 * max as u64 + 1_000_000);
    let plan = build_funding(&p, &[coin(&o, 0)], spk(0), &deposits, rate).unwrap();
    // At 1 sat/vB the fee is the vsize.
    assert!(
        plan.fee.to_sat() * 4 <= MAX_STANDARD_TX_WEIGHT,
        "{}",
        plan.fee
    );
    let pays: Vec<_> = (0..max).map(|i| plan.pay_utxo(i).unwrap()).collect();
    let sweep = build_sweep(&p, 0, &pays, spk(1), rate, TrapKind::Aggregate).unwrap();
    assert!(
        sweep.fee.to_sat() * 4 <= MAX_STANDARD_TX_WEIGHT,
        "{}",
        sweep.fee
    );
}

#[test]
fn threshold_trap_must_be_spendable_and_its_sweep_standard() {
    // The bound is the real weight of the sweep, rounded up a little.
    let rate = bitcoin::FeeRate::from_sat_per_vb(1).unwrap();
    for (n, l) in [(60, 60), (97, 1), (3, 2)] {
        let p = EscrowParams::new(threshold_terms(n, l)).unwrap();
        let n = n as usize;
        let sweep = build_sweep(
            &p,
            0,
            &utxos(n, 150_000),
            p2tr_key_spend_script(keys(1, 1)[0]),
            rate,
            TrapKind::Threshold,
        );
        let vsize = sweep.unwrap().fee.to_sat();
        let bound = threshold_sweep_weight_bound(n, l);
        assert!(
            vsize * 4 <= bound + 3 && bound <= MAX_STANDARD_TX_WEIGHT,
            "n = {n}: {vsize} vB, bound {bound} WU"
        );
        assert!(
            bound < vsize * 4 + 16 * n as u64,
            "n = {n}: bound {bound} WU is loose"
        );
    }
    for (n, l) in [(61, 61), (98, 1)] {
        assert!(matches!(
            EscrowParams::new(threshold_terms(n, l)),
            Err(Error::ThresholdTooLarge {
                what: "sweep weight",
                max: 400_000,
                ..
            })
        ));
    }
    // n + 2 stack elements: 998 message keys is the most a leaf can take.
    assert_eq!(super::limits::threshold_peak_stack(998), 1000);
    assert_eq!(
        super::limits::check_escrow_size(999, Some(1)),
        Err(Error::ThresholdTooLarge {
            n: 999,
            what: "peak stack size",
            value: 1001,
            max: 1000
        })
    );
}
