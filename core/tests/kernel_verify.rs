//! The escrow of PROTOCOL.md §4 checked by Bitcoin Core's own script
//! interpreter (libbitcoinkernel, all consensus flags including Taproot):
//! every honest path is accepted, every attack is rejected.

mod common;

use bapay_core::escrow::{
    build_charge, build_conversion, build_redeem, build_sweep, check_presigned_charge,
    finalize_funding, is_final, is_final_at_tip, leaf_witness, p2tr_key_spend_script,
    sign_escrow_input, sign_funding, EscrowSpend, InputOwner, TrapKind,
};
use bapay_core::keys::{collusion_secret, result_secret, PublishedKeys, MSG_TAG, RES_TAG};
use bapay_core::Error;
use bitcoin::secp256k1::{schnorr::Signature, Keypair, Secp256k1, SecretKey};
use bitcoin::{Amount, Transaction};
use common::{
    assert_all_inputs_invalid, assert_exact_fee, assert_script_invalid, kernel_verify,
    kernel_verify_all, rate, raw_sign, x, Fixture,
};

const N: usize = 3;
const L: usize = 2;
const TIP: u32 = 100;

fn fixture() -> Fixture {
    Fixture::new(7, N, L)
}

fn kp(sk: &SecretKey) -> Keypair {
    Keypair::from_secret_key(&Secp256k1::new(), sk)
}

/// Charge_2, signed by O and C_2.
fn charge(f: &Fixture) -> (EscrowSpend, Transaction) {
    let spend = build_charge(
        &f.params,
        1,
        f.pays[1],
        p2tr_key_spend_script(x(&f.c[1])),
        rate(),
        TIP,
    )
    .unwrap();
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    let c_sig = sign_escrow_input(&spend, 0, &f.c[1]).unwrap();
    let tx = spend
        .finalize(&[vec![(x(&f.o), o_sig), (x(&f.c[1]), c_sig)]])
        .unwrap();
    (spend, tx)
}

/// Signs every input of `spend` with each of `keys`.
fn sign_all(
    spend: &EscrowSpend,
    keys: &[&Keypair],
) -> Vec<Vec<(bitcoin::secp256k1::XOnlyPublicKey, Signature)>> {
    (0..spend.inputs.len())
        .map(|i| {
            keys.iter()
                .map(|k| (x(k), sign_escrow_input(spend, i, k).unwrap()))
                .collect()
        })
        .collect()
}

#[test]
fn accepted_charge_signed_by_outsourcer_and_calculator() {
    let f = fixture();
    let (spend, tx) = charge(&f);
    kernel_verify(&tx, &spend.prevouts, 0).unwrap();
    assert_exact_fee(&tx, spend.fee);
    assert_eq!(tx.lock_time.to_consensus_u32(), f.timeout);
    assert_eq!(tx.input[0].sequence.0, 0xFFFF_FFFE);
}

#[test]
fn accepted_presigned_charge_checked_by_calculator() {
    let f = fixture();
    let spend = build_charge(
        &f.params,
        1,
        f.pays[1],
        p2tr_key_spend_script(x(&f.c[1])),
        rate(),
        TIP,
    )
    .unwrap();
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    let payout = p2tr_key_spend_script(x(&f.c[1]));
    let checked = check_presigned_charge(
        &f.params,
        1,
        f.pays[1],
        &spend.tx,
        &o_sig,
        &payout,
        Amount::from_sat(1_000),
    )
    .unwrap();
    // A signature by someone else than O is refused.
    let bad = sign_escrow_input(&spend, 0, &f.c[1]).unwrap();
    assert!(matches!(
        check_presigned_charge(
            &f.params,
            1,
            f.pays[1],
            &spend.tx,
            &bad,
            &payout,
            Amount::from_sat(1_000)
        ),
        Err(Error::InvalidSignature(_))
    ));
    let c_sig = sign_escrow_input(&checked, 0, &f.c[1]).unwrap();
    let tx = checked
        .finalize(&[vec![(x(&f.o), o_sig), (x(&f.c[1]), c_sig)]])
        .unwrap();
    kernel_verify(&tx, &checked.prevouts, 0).unwrap();
}

#[test]
fn accepted_redeem_through_dispute_leaf() {
    let f = fixture();
    let spend = build_redeem(
        &f.params,
        0,
        f.pays[0],
        p2tr_key_spend_script(x(&f.o)),
        rate(),
    )
    .unwrap();
    let tx = spend.finalize(&sign_all(&spend, &[&f.o, &f.t])).unwrap();
    kernel_verify(&tx, &spend.prevouts, 0).unwrap();
    assert_exact_fee(&tx, spend.fee);
    assert_eq!(tx.lock_time.to_consensus_u32(), 0);
}

#[test]
fn accepted_trap_sweep_by_calculator_holding_every_message() {
    let f = fixture();
    let agg = kp(&collusion_secret(MSG_TAG, &f.messages, &f.job_random).unwrap());
    assert_eq!(x(&agg), f.published.aggregate_x_only());
    let spend = build_sweep(
        &f.params,
        2,
        &f.pays,
        p2tr_key_spend_script(x(&f.c[2])),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    assert_eq!(spend.tx.input.len(), N);
    let tx = spend.finalize(&sign_all(&spend, &[&agg, &f.c[2]])).unwrap();
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    assert_exact_fee(&tx, spend.fee);
}

#[test]
fn accepted_threshold_trap_with_exactly_l_messages() {
    let f = fixture();
    // C_1 holds m_1 and m_3 (l = 2 of n = 3).
    let (m1, m3) = (kp(&f.msg_secrets[0]), kp(&f.msg_secrets[2]));
    let spend = build_sweep(
        &f.params,
        0,
        &f.pays,
        p2tr_key_spend_script(x(&f.c[0])),
        rate(),
        TrapKind::Threshold,
    )
    .unwrap();
    let tx = spend
        .finalize(&sign_all(&spend, &[&f.c[0], &m1, &m3]))
        .unwrap();
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    assert_exact_fee(&tx, spend.fee);
}

#[test]
fn accepted_conversion_to_pay_prime_and_its_charge() {
    let f = fixture();
    let secp = Secp256k1::new();
    let results: Vec<Vec<u8>> = (0..N).map(|i| vec![i as u8; 16]).collect();
    let res_secrets: Vec<SecretKey> = results
        .iter()
        .map(|r| result_secret(r, &f.job_random).unwrap())
        .collect();
    let pr = PublishedKeys::from_secrets(&secp, &res_secrets).unwrap();
    let converted = f
        .params
        .converted(pr.aggregate_x_only(), Some(pr.x_only_keys()))
        .unwrap();
    let spend = build_conversion(&f.params, &converted, 1, f.pays[1], rate()).unwrap();
    let tx = spend.finalize(&sign_all(&spend, &[&f.o, &f.c[1]])).unwrap();
    kernel_verify(&tx, &spend.prevouts, 0).unwrap();
    assert_exact_fee(&tx, spend.fee);
    assert_eq!(tx.lock_time.to_consensus_u32(), 0);
    // Charge'_2 spends Pay'_2.
    let utxo = bapay_core::escrow::EscrowUtxo {
        outpoint: bitcoin::OutPoint {
            txid: tx.compute_txid(),
            vout: 0,
        },
        value: tx.output[0].value,
    };
    let charge2 = build_charge(
        &converted,
        1,
        utxo,
        p2tr_key_spend_script(x(&f.c[1])),
        rate(),
        TIP,
    )
    .unwrap();
    let ctx = charge2
        .finalize(&sign_all(&charge2, &[&f.o, &f.c[1]]))
        .unwrap();
    kernel_verify(&ctx, &charge2.prevouts, 0).unwrap();
    // And the result-key trap works on Pay'.
    let agg = kp(&collusion_secret(RES_TAG, &results, &f.job_random).unwrap());
    let sweep_src = vec![utxo; N];
    let sweep = build_sweep(
        &converted,
        1,
        &sweep_src,
        p2tr_key_spend_script(x(&f.c[1])),
        rate(),
        TrapKind::Aggregate,
    );
    // Only index 1 of sweep_src is really Pay'_2; verify that input alone.
    let sweep = sweep.unwrap();
    let stx = sweep.finalize(&sign_all(&sweep, &[&agg, &f.c[1]])).unwrap();
    kernel_verify(&stx, &sweep.prevouts, 1).unwrap();
}

#[test]
fn accepted_funding_key_path_inputs() {
    let f = fixture();
    let mut psbt = f.plan.psbt.clone();
    assert_eq!(sign_funding(&mut psbt, &f.params, &f.o).unwrap(), 2);
    for c in &f.c {
        assert_eq!(sign_funding(&mut psbt, &f.params, c).unwrap(), 1);
    }
    assert_eq!(f.plan.owners[0], InputOwner::Outsourcer);
    let tx = finalize_funding(&psbt).unwrap();
    let prevouts: Vec<_> = psbt
        .inputs
        .iter()
        .map(|i| i.witness_utxo.clone().unwrap())
        .collect();
    kernel_verify_all(&tx, &prevouts).unwrap();
    assert_exact_fee(&tx, f.plan.fee);
    assert_eq!(tx.compute_txid(), f.pays[0].outpoint.txid);
    assert!(tx
        .output
        .iter()
        .take(N)
        .all(|o| o.value == Amount::from_sat(120_000)));
}

#[test]
fn rejected_charge_signed_by_wrong_calculator() {
    let f = fixture();
    let spend = build_charge(
        &f.params,
        1,
        f.pays[1],
        p2tr_key_spend_script(x(&f.c[1])),
        rate(),
        TIP,
    )
    .unwrap();
    assert!(matches!(
        sign_escrow_input(&spend, 0, &f.c[2]),
        Err(Error::NotASigner(_))
    ));
    // Forge the witness by hand with C_3's signature in C_2's slot.
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    let wrong = raw_sign(&spend, 0, &f.c[2]);
    let mut tx = spend.tx.clone();
    tx.input[0].witness = leaf_witness(
        &spend.inputs[0].leaf,
        &spend.inputs[0].control_block,
        &[Some(o_sig), Some(wrong)],
    );
    assert_script_invalid(&tx, &spend.prevouts, 0);
}

#[test]
fn rejected_dispute_without_arbiter_signature() {
    let f = fixture();
    let spend = build_redeem(
        &f.params,
        0,
        f.pays[0],
        p2tr_key_spend_script(x(&f.o)),
        rate(),
    )
    .unwrap();
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    assert!(matches!(
        spend.finalize(&[vec![(x(&f.o), o_sig)]]),
        Err(Error::MissingSignature(_))
    ));
    let mut tx = spend.tx.clone();
    let (leaf, cb) = (&spend.inputs[0].leaf, &spend.inputs[0].control_block);
    tx.input[0].witness = leaf_witness(leaf, cb, &[Some(o_sig), None]);
    assert_script_invalid(&tx, &spend.prevouts, 0);
    // O signing twice does not help either.
    tx.input[0].witness = leaf_witness(leaf, cb, &[Some(o_sig), Some(o_sig)]);
    assert_script_invalid(&tx, &spend.prevouts, 0);
}

#[test]
fn rejected_outsourcer_using_trap_leaf_despite_knowing_all_messages() {
    let f = fixture();
    // O knows every message, hence the P_M secret, but holds no C_j key.
    let agg = kp(&collusion_secret(MSG_TAG, &f.messages, &f.job_random).unwrap());
    let spend = build_sweep(
        &f.params,
        0,
        &f.pays,
        p2tr_key_spend_script(x(&f.o)),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    assert!(matches!(
        sign_escrow_input(&spend, 0, &f.o),
        Err(Error::NotASigner(_))
    ));
    let mut tx = spend.tx.clone();
    for i in 0..N {
        let m_sig = sign_escrow_input(&spend, i, &agg).unwrap();
        let o_sig = raw_sign(&spend, i, &f.o);
        tx.input[i].witness = leaf_witness(
            &spend.inputs[i].leaf,
            &spend.inputs[i].control_block,
            &[Some(m_sig), Some(o_sig)],
        );
    }
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

#[test]
fn rejected_trap_by_calculator_missing_one_message() {
    let f = fixture();
    let partial = kp(&collusion_secret(MSG_TAG, &f.messages[..N - 1], &f.job_random).unwrap());
    assert_ne!(x(&partial), f.published.aggregate_x_only());
    let spend = build_sweep(
        &f.params,
        0,
        &f.pays,
        p2tr_key_spend_script(x(&f.c[0])),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    assert!(matches!(
        sign_escrow_input(&spend, 0, &partial),
        Err(Error::NotASigner(_))
    ));
    let mut tx = spend.tx.clone();
    for i in 0..N {
        let p_sig = raw_sign(&spend, i, &partial);
        let c_sig = sign_escrow_input(&spend, i, &f.c[0]).unwrap();
        tx.input[i].witness = leaf_witness(
            &spend.inputs[i].leaf,
            &spend.inputs[i].control_block,
            &[Some(p_sig), Some(c_sig)],
        );
    }
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

#[test]
fn rejected_threshold_trap_with_l_minus_one_messages() {
    let f = fixture();
    let m2 = kp(&f.msg_secrets[1]);
    let spend = build_sweep(
        &f.params,
        0,
        &f.pays,
        p2tr_key_spend_script(x(&f.c[0])),
        rate(),
        TrapKind::Threshold,
    )
    .unwrap();
    assert!(matches!(
        spend.finalize(&sign_all(&spend, &[&f.c[0], &m2])),
        Err(Error::InvalidThreshold(_))
    ));
    let mut tx = spend.tx.clone();
    for i in 0..N {
        let c_sig = sign_escrow_input(&spend, i, &f.c[0]).unwrap();
        let m_sig = sign_escrow_input(&spend, i, &m2).unwrap();
        // signer order: C_1, pk_m1, pk_m2, pk_m3
        tx.input[i].witness = leaf_witness(
            &spend.inputs[i].leaf,
            &spend.inputs[i].control_block,
            &[Some(c_sig), None, Some(m_sig), None],
        );
    }
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

#[test]
fn rejected_charge_tampered_after_signing() {
    let f = fixture();
    let (spend, mut tx) = charge(&f);
    kernel_verify(&tx, &spend.prevouts, 0).unwrap();
    tx.output[0].value += Amount::from_sat(1);
    assert_script_invalid(&tx, &spend.prevouts, 0);
    let (_, mut tx) = charge(&f);
    tx.output[0].script_pubkey = p2tr_key_spend_script(x(&f.o));
    assert_script_invalid(&tx, &spend.prevouts, 0);
    let (_, mut tx) = charge(&f);
    tx.lock_time = bitcoin::absolute::LockTime::ZERO;
    assert_script_invalid(&tx, &spend.prevouts, 0);
}

/// The BIP-341 sighash does not cover the script sig, so O's signature on a
/// Charge_i with one still verifies, yet Core rejects the spend: this is why
/// `check_presigned_charge` refuses a script sig.
#[test]
fn rejected_charge_with_script_sig_though_signatures_verify() {
    let f = fixture();
    let (spend, mut tx) = charge(&f);
    tx.input[0].script_sig = bitcoin::ScriptBuf::from_bytes(vec![0x51]);
    let mut with_sig = spend.clone();
    with_sig.tx.input[0].script_sig = tx.input[0].script_sig.clone();
    assert_eq!(with_sig.sighash(0).unwrap(), spend.sighash(0).unwrap());
    assert_script_invalid(&tx, &spend.prevouts, 0);
}

#[test]
fn rejected_charge_missing_calculator_signature() {
    let f = fixture();
    let spend = build_charge(
        &f.params,
        1,
        f.pays[1],
        p2tr_key_spend_script(x(&f.c[1])),
        rate(),
        TIP,
    )
    .unwrap();
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    assert!(matches!(
        spend.finalize(&[vec![(x(&f.o), o_sig)]]),
        Err(Error::MissingSignature(_))
    ));
    let mut tx = spend.tx.clone();
    tx.input[0].witness = leaf_witness(
        &spend.inputs[0].leaf,
        &spend.inputs[0].control_block,
        &[Some(o_sig), None],
    );
    assert_script_invalid(&tx, &spend.prevouts, 0);
}

#[test]
fn locktime_charge_final_from_block_t_plus_one_redeem_at_once() {
    let f = fixture();
    let (_, charge_tx) = charge(&f);
    let t = f.timeout;
    assert!(!is_final(&charge_tx, t, 0), "Charge_i cannot be in block t");
    assert!(
        is_final(&charge_tx, t + 1, 0),
        "Charge_i can be in block t + 1"
    );
    assert!(
        !is_final_at_tip(&charge_tx, t - 1, 0),
        "not in the mempool while tip = t - 1"
    );
    assert!(
        is_final_at_tip(&charge_tx, t, 0),
        "mempool accepts it once tip = t"
    );
    let spend = build_redeem(
        &f.params,
        0,
        f.pays[0],
        p2tr_key_spend_script(x(&f.o)),
        rate(),
    )
    .unwrap();
    let redeem = spend.finalize(&sign_all(&spend, &[&f.o, &f.t])).unwrap();
    assert!(is_final(&redeem, 1, 0));
    // A charge whose t is not in the future is refused.
    assert!(matches!(
        build_charge(
            &f.params,
            0,
            f.pays[0],
            p2tr_key_spend_script(x(&f.c[0])),
            rate(),
            t
        ),
        Err(Error::InvalidTimeout { .. })
    ));
}
