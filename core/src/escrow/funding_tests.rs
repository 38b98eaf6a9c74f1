//! What a party checks before it signs the funding PSBT: its own change
//! and the input types (`sign_funding_checked`).

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, TxOut, Txid};

use super::test_util::{keypair, terms};
use super::*;
use crate::Error;

fn rate(r: u64) -> FeeRate {
    FeeRate::from_sat_per_vb(r).unwrap()
}

fn payout(seed: u32) -> ScriptBuf {
    p2tr_key_spend_script(keypair(seed).x_only_public_key().0)
}

fn params() -> EscrowParams {
    EscrowParams::new(terms(3)).unwrap()
}

fn coin(tag: u8, value: u64, seed: u32) -> FundingInput {
    FundingInput {
        outpoint: OutPoint {
            txid: Txid::from_raw_hash(sha256d::Hash::hash(&[tag])),
            vout: 0,
        },
        txout: TxOut {
            value: Amount::from_sat(value),
            script_pubkey: payout(seed),
        },
    }
}

fn deposits(value: u64) -> Vec<CalculatorFunding> {
    (0..3)
        .map(|i| CalculatorFunding {
            inputs: vec![coin(10 + i as u8, value, 10 + i)],
            change: payout(10 + i),
        })
        .collect()
}

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
    assert_eq!(stolen.unsigned_tx.output[4].script_pubkey, payout(10));
    stolen.unsigned_tx.output[4].script_pubkey = payout(0);
    check_funding_outputs(&stolen.unsigned_tx, &p).unwrap();
    assert!(matches!(
        sign_funding_checked(&mut stolen, &p, &keypair(10), &payout(10), g),
        Err(Error::TermsMismatch(_))
    ));
    let mut dropped = plan.psbt.clone();
    dropped.unsigned_tx.output.remove(4);
    dropped.outputs.remove(4);
    assert!(matches!(
        sign_funding_checked(&mut dropped, &p, &keypair(10), &payout(10), g),
        Err(Error::TermsMismatch(_))
    ));
    // O's change cut by one sat more than its bound allows.
    let mut cut = plan.psbt.clone();
    cut.unsigned_tx.output[3].value -= Amount::from_sat(1);
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
