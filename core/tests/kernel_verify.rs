//! The escrow of PROTOCOL.md §4 checked by Bitcoin Core's own script
//! interpreter (libbitcoinkernel, all consensus flags including Taproot):
//! every honest path is accepted, every attack is rejected. Pay_i's paths
//! and the traps are here; Dep_i's own paths (reclaim, its dispute leaf,
//! no trap) and the paper's variant are in `kernel_deposit.rs`.

mod common;

use bapay_core::escrow::{
    build_charge, build_conversion, build_reclaim, build_redeem, build_sweep, check_conversion,
    check_presigned_charge, check_redeem, finalize_funding, is_final, is_final_at_tip,
    sign_escrow_input, sign_funding, EscrowOutput, EscrowUtxo, InputOwner, LeafKind, SlotEscrow,
    TrapKind,
};
use bapay_core::keys::{
    aggregate_secret, collusion_secret, result_secret, scalar_from_hash, tagged_hash,
    PublishedKeys, MSG_TAG, RES_TAG,
};
use bapay_core::Error;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::{Amount, OutPoint};
use common::{
    assert_all_inputs_invalid, assert_exact_fee, assert_script_invalid, charge_sigs, forge,
    kernel_verify, kernel_verify_all, kp, rate, raw_sign, script, sign_all, x, Fixture, DEPOSIT_G,
    FEE_D, TIP,
};

const N: usize = 3;
const L: usize = 2;
const MAX_FEE: Amount = Amount::from_sat(1_000);

fn fixture() -> Fixture {
    Fixture::new(7, N, L)
}

#[test]
fn accepted_charge_signed_by_outsourcer_and_calculator() {
    let f = fixture();
    let (spend, tx) = f.charge(1);
    // Pay_2 through the charge leaf, Dep_2 through the reclaim leaf.
    assert_eq!(tx.input.len(), 2);
    assert_eq!(tx.input[0].previous_output, f.pays[1].outpoint);
    assert_eq!(tx.input[1].previous_output, f.dep(1).outpoint);
    assert_eq!(spend.inputs[0].leaf.kind, LeafKind::Charge);
    assert_eq!(spend.inputs[1].leaf.kind, LeafKind::Reclaim);
    assert_eq!(spend.inputs[1].leaf.signers, vec![x(&f.c[1])]);
    assert_eq!(spend.inputs[0].control_block.size(), 65);
    assert_eq!(spend.inputs[1].control_block.size(), 65);
    assert_eq!(spend.prevouts[0], f.plan.psbt.unsigned_tx.output[1]);
    assert_eq!(spend.prevouts[1], f.plan.psbt.unsigned_tx.output[N + 1]);
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    assert_exact_fee(&tx, spend.fee);
    assert_eq!(
        tx.output[0].value.to_sat(),
        FEE_D + DEPOSIT_G - spend.fee.to_sat()
    );
    assert_eq!(tx.output[0].script_pubkey, script(&f.c[1]));
    assert_eq!(tx.lock_time.to_consensus_u32(), f.timeout);
    assert!(tx.input.iter().all(|i| i.sequence.0 == 0xFFFF_FFFE));
}

#[test]
fn accepted_presigned_charge_checked_by_calculator() {
    let f = fixture();
    let spend = f.charge_spend(1);
    // O signs Pay_2's input only: the reclaim input is C_2's alone.
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    assert!(matches!(
        sign_escrow_input(&spend, 1, &f.o),
        Err(Error::NotASigner(_))
    ));
    let payout = script(&f.c[1]);
    let check = |tx: &bitcoin::Transaction, sig| {
        check_presigned_charge(&f.params, 1, f.slots[1], tx, sig, &payout, MAX_FEE)
    };
    let checked = check(&spend.tx, &o_sig).unwrap();
    assert_eq!(checked.prevouts, spend.prevouts);
    // A signature by someone else than O is refused.
    let bad = sign_escrow_input(&spend, 0, &f.c[1]).unwrap();
    assert!(matches!(
        check(&spend.tx, &bad),
        Err(Error::InvalidSignature(_))
    ));
    // A Charge_2 without Dep_2 (C_2 would never get its deposit back
    // through it) is refused, even with O's valid signature on Pay_2.
    let mut short = spend.tx.clone();
    short.input.truncate(1);
    assert!(matches!(
        check(&short, &o_sig),
        Err(Error::TermsMismatch(_))
    ));
    // So is the Charge_2 checked against a slot without its deposit.
    let no_dep = SlotEscrow {
        deposit: None,
        ..f.slots[1]
    };
    assert!(matches!(
        check_presigned_charge(&f.params, 1, no_dep, &spend.tx, &o_sig, &payout, MAX_FEE),
        Err(Error::TermsMismatch(_))
    ));
    // C_2 completes both inputs of what it checked.
    let tx = checked
        .finalize(&charge_sigs(&checked, o_sig, &f.o, &f.c[1]))
        .unwrap();
    kernel_verify_all(&tx, &checked.prevouts).unwrap();
    assert_eq!(tx.input.len(), 2);
}

#[test]
fn accepted_redeem_through_dispute_leaf() {
    let f = fixture();
    let o_payout = script(&f.o);
    let proposal = build_redeem(&f.params, 0, f.slots[0], o_payout.clone(), rate()).unwrap();
    // T checks O's proposal and signs only the rebuilt spend.
    let checked = check_redeem(&f.params, 0, f.slots[0], &proposal, &o_payout, MAX_FEE).unwrap();
    assert_eq!(checked.inputs.len(), 2);
    assert!(checked
        .inputs
        .iter()
        .all(|i| i.leaf.kind == LeafKind::Dispute));
    assert_eq!(checked.tx.input[1].previous_output, f.dep(0).outpoint);
    // Dep_i's dispute leaf is at depth 1, Pay_i's at depth 2.
    assert_eq!(checked.inputs[0].control_block.size(), 97);
    assert_eq!(checked.inputs[1].control_block.size(), 65);
    let tx = checked
        .finalize(&sign_all(&checked, &[&f.o, &f.t]))
        .unwrap();
    kernel_verify_all(&tx, &checked.prevouts).unwrap();
    assert_exact_fee(&tx, checked.fee);
    assert_eq!(
        tx.output[0].value.to_sat(),
        FEE_D + DEPOSIT_G - checked.fee.to_sat()
    );
    assert_eq!(tx.lock_time.to_consensus_u32(), 0);
}

#[test]
fn accepted_trap_sweep_by_calculator_holding_every_message() {
    let f = fixture();
    // C_3 pooled every (m_j, s_j): the salted collusion secret is P_M's.
    let agg = f.collusion_keypair();
    assert_eq!(x(&agg), f.published.aggregate_x_only());
    let spend = build_sweep(
        &f.params,
        2,
        &f.pays,
        script(&f.c[2]),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    // Every Pay_j and nothing else: the deposits are out of the trap's reach.
    assert_eq!(spend.tx.input.len(), N);
    for (j, input) in spend.tx.input.iter().enumerate() {
        assert_eq!(input.previous_output, f.pays[j].outpoint);
        assert!(f
            .slots
            .iter()
            .all(|s| Some(input.previous_output) != s.deposit.map(|d| d.outpoint)));
    }
    let tx = spend.finalize(&sign_all(&spend, &[&agg, &f.c[2]])).unwrap();
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    assert_exact_fee(&tx, spend.fee);
    assert_eq!(
        tx.output[0].value.to_sat(),
        N as u64 * FEE_D - spend.fee.to_sat()
    );
}

#[test]
fn accepted_threshold_trap_with_exactly_l_messages() {
    let f = fixture();
    // C_1 holds m_1 and m_3 with their salts (l = 2 of n = 3).
    let (m1, m3) = (kp(&f.msg_secrets[0]), kp(&f.msg_secrets[2]));
    let spend = build_sweep(
        &f.params,
        0,
        &f.pays,
        script(&f.c[0]),
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
    let results: Vec<(Vec<u8>, [u8; 32])> =
        (0..N).map(|i| (vec![i as u8; 16], f.salts[i])).collect();
    let res_secrets: Vec<SecretKey> = results
        .iter()
        .map(|(r, s)| result_secret(r, s, &f.job_random).unwrap())
        .collect();
    let pr = PublishedKeys::from_secrets(&secp, &res_secrets).unwrap();
    let converted = f
        .params
        .converted(pr.aggregate_x_only(), Some(pr.x_only_keys()))
        .unwrap();
    // Dep_i does not depend on the collusion key: it is not converted.
    assert_eq!(
        EscrowOutput::deposit(&converted, 1)
            .unwrap()
            .script_pubkey(),
        f.deposit_output(1).script_pubkey()
    );
    let proposal = build_conversion(&f.params, &converted, 1, f.pays[1], rate()).unwrap();
    assert_eq!(proposal.tx.input.len(), 1, "only Pay_2 is converted");
    let pay2 = EscrowUtxo {
        outpoint: OutPoint {
            txid: proposal.tx.compute_txid(),
            vout: 0,
        },
        value: proposal.tx.output[0].value,
    };
    let slot2 = SlotEscrow {
        pay: pay2,
        deposit: f.slots[1].deposit,
    };
    // O presigns Charge'_2 (Pay'_2 + Dep_2); C_2 checks it, then the conversion.
    let payout = script(&f.c[1]);
    let charge2 = build_charge(&converted, 1, slot2, payout.clone(), rate(), TIP).unwrap();
    let o_sig2 = sign_escrow_input(&charge2, 0, &f.o).unwrap();
    let kept = check_presigned_charge(&converted, 1, slot2, &charge2.tx, &o_sig2, &payout, MAX_FEE)
        .unwrap();
    let conv = check_conversion(
        &f.params, &converted, 1, f.slots[1], &proposal, MAX_FEE, &kept,
    )
    .unwrap();
    let tx = conv.finalize(&sign_all(&conv, &[&f.o, &f.c[1]])).unwrap();
    assert_eq!(tx.compute_txid(), pay2.outpoint.txid);
    kernel_verify(&tx, &conv.prevouts, 0).unwrap();
    assert_exact_fee(&tx, conv.fee);
    assert_eq!(tx.lock_time.to_consensus_u32(), 0);
    // Charge'_2 spends Pay'_2 and the unconverted Dep_2.
    let ctx = kept
        .finalize(&charge_sigs(&kept, o_sig2, &f.o, &f.c[1]))
        .unwrap();
    assert_eq!(ctx.input[1].previous_output, f.dep(1).outpoint);
    kernel_verify_all(&ctx, &kept.prevouts).unwrap();
    assert_exact_fee(&ctx, kept.fee);
    // And the salted result-key trap works on Pay'.
    let agg = kp(&collusion_secret(RES_TAG, &results, &f.job_random).unwrap());
    assert_eq!(x(&agg), pr.aggregate_x_only());
    let sweep_src = vec![pay2; N];
    let sweep = build_sweep(
        &converted,
        1,
        &sweep_src,
        script(&f.c[1]),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    // Only index 1 of sweep_src is really Pay'_2; verify that input alone.
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
    // Pay_1..Pay_n (d each), then Dep_1..Dep_n (g each), then change.
    for i in 0..N {
        let pay = EscrowOutput::new(&f.params, i).unwrap().txout();
        assert_eq!(tx.output[i], pay);
        assert_eq!(pay.value.to_sat(), FEE_D);
        assert_eq!(tx.output[N + i], f.deposit_output(i).txout());
        assert_eq!(tx.output[N + i].value.to_sat(), DEPOSIT_G);
        assert_eq!(f.dep(i).outpoint.vout as usize, N + i);
    }
    assert_eq!(f.params.escrow_outputs(), 2 * N);
}

#[test]
fn rejected_charge_signed_by_wrong_calculator() {
    let f = fixture();
    let spend = f.charge_spend(1);
    assert!(matches!(
        sign_escrow_input(&spend, 0, &f.c[2]),
        Err(Error::NotASigner(_))
    ));
    assert!(matches!(
        sign_escrow_input(&spend, 1, &f.c[2]),
        Err(Error::NotASigner(_))
    ));
    // Forge the witness by hand with C_3's signature in C_2's slot.
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    let own = sign_escrow_input(&spend, 1, &f.c[1]).unwrap();
    let mut tx = spend.tx.clone();
    forge(
        &mut tx,
        &spend,
        0,
        &[Some(o_sig), Some(raw_sign(&spend, 0, &f.c[2]))],
    );
    forge(&mut tx, &spend, 1, &[Some(own)]);
    assert_script_invalid(&tx, &spend.prevouts, 0);
    kernel_verify(&tx, &spend.prevouts, 1).unwrap();
    // Nor does C_3 reclaim C_2's deposit.
    forge(&mut tx, &spend, 1, &[Some(raw_sign(&spend, 1, &f.c[2]))]);
    assert_script_invalid(&tx, &spend.prevouts, 1);
}

#[test]
fn rejected_dispute_without_arbiter_signature() {
    let f = fixture();
    let spend = build_redeem(&f.params, 0, f.slots[0], script(&f.o), rate()).unwrap();
    let o_sigs: Vec<_> = (0..2)
        .map(|i| sign_escrow_input(&spend, i, &f.o).unwrap())
        .collect();
    assert!(matches!(
        spend.finalize(&[vec![(x(&f.o), o_sigs[0])], vec![(x(&f.o), o_sigs[1])]]),
        Err(Error::MissingSignature(_))
    ));
    // Pay_1 (input 0) and Dep_1 (input 1): O alone, or twice, fails.
    let mut tx = spend.tx.clone();
    for (i, o_sig) in o_sigs.iter().enumerate() {
        forge(&mut tx, &spend, i, &[Some(*o_sig), None]);
        assert_script_invalid(&tx, &spend.prevouts, i);
        forge(&mut tx, &spend, i, &[Some(*o_sig), Some(*o_sig)]);
        assert_script_invalid(&tx, &spend.prevouts, i);
    }
}

#[test]
fn rejected_outsourcer_using_trap_leaf_despite_knowing_all_messages() {
    let f = fixture();
    // O knows every message and every salt, hence the P_M secret, but
    // holds no C_j key.
    let agg = f.collusion_keypair();
    assert_eq!(x(&agg), f.published.aggregate_x_only());
    let spend = build_sweep(
        &f.params,
        0,
        &f.pays,
        script(&f.o),
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
        forge(
            &mut tx,
            &spend,
            i,
            &[Some(m_sig), Some(raw_sign(&spend, i, &f.o))],
        );
    }
    assert_all_inputs_invalid(&tx, &spend.prevouts);
    // Nor with P_M's signature alone.
    for i in 0..N {
        let m_sig = sign_escrow_input(&spend, i, &agg).unwrap();
        forge(&mut tx, &spend, i, &[Some(m_sig), None]);
    }
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

/// A sweep by C_1 signed with `secret` for P_M, every input forged.
fn forged_sweep(
    f: &Fixture,
    secret: &SecretKey,
) -> (bapay_core::escrow::EscrowSpend, bitcoin::Transaction) {
    let key = kp(secret);
    assert_ne!(x(&key), f.published.aggregate_x_only());
    let spend = build_sweep(
        &f.params,
        0,
        &f.pays,
        script(&f.c[0]),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    assert!(matches!(
        sign_escrow_input(&spend, 0, &key),
        Err(Error::NotASigner(_))
    ));
    let mut tx = spend.tx.clone();
    for i in 0..N {
        let p_sig = raw_sign(&spend, i, &key);
        let c_sig = sign_escrow_input(&spend, i, &f.c[0]).unwrap();
        forge(&mut tx, &spend, i, &[Some(p_sig), Some(c_sig)]);
    }
    (spend, tx)
}

#[test]
fn rejected_trap_by_calculator_missing_one_message() {
    let f = fixture();
    let salted = f.salted_messages();
    let partial = collusion_secret(MSG_TAG, &salted[..N - 1], &f.job_random).unwrap();
    let (spend, tx) = forged_sweep(&f, &partial);
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

#[test]
fn rejected_sweep_with_every_message_but_one_guessed_salt() {
    let f = fixture();
    // C_1 rebuilt every m_j (a search range is guessable) and knows its own
    // s_1, but not s_3: its guess gives another key than P_M.
    let mut guessed = f.salted_messages();
    guessed[2].1 = [0u8; 32];
    let wrong = collusion_secret(MSG_TAG, &guessed, &f.job_random).unwrap();
    let (spend, tx) = forged_sweep(&f, &wrong);
    assert_all_inputs_invalid(&tx, &spend.prevouts);
    // Nor does the unsalted derivation H_tag("BAPay/msg", m_j || R) of
    // every message give P_M's secret.
    let unsalted: Vec<SecretKey> = f
        .messages
        .iter()
        .map(|m| scalar_from_hash(tagged_hash(MSG_TAG, &[&m[..], &f.job_random].concat())).unwrap())
        .collect();
    let (spend, tx) = forged_sweep(&f, &aggregate_secret(&unsalted).unwrap());
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
        script(&f.c[0]),
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
        forge(&mut tx, &spend, i, &[Some(c_sig), None, Some(m_sig), None]);
    }
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

#[test]
fn rejected_charge_tampered_after_signing() {
    let f = fixture();
    let (spend, mut tx) = f.charge(1);
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    // SIGHASH_DEFAULT covers the outputs and nLockTime: both inputs fail.
    tx.output[0].value += Amount::from_sat(1);
    assert_all_inputs_invalid(&tx, &spend.prevouts);
    let (_, mut tx) = f.charge(1);
    tx.output[0].script_pubkey = script(&f.o);
    assert_all_inputs_invalid(&tx, &spend.prevouts);
    let (_, mut tx) = f.charge(1);
    tx.lock_time = bitcoin::absolute::LockTime::ZERO;
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

/// The BIP-341 sighash does not cover the script sig, so O's signature on a
/// Charge_i with one still verifies, yet Core rejects the spend: this is why
/// `check_presigned_charge` refuses a script sig.
#[test]
fn rejected_charge_with_script_sig_though_signatures_verify() {
    let f = fixture();
    let (spend, tx) = f.charge(1);
    for i in 0..2 {
        let mut tx = tx.clone();
        tx.input[i].script_sig = bitcoin::ScriptBuf::from_bytes(vec![0x51]);
        let mut with_sig = spend.clone();
        with_sig.tx.input[i].script_sig = tx.input[i].script_sig.clone();
        assert_eq!(with_sig.sighash(i).unwrap(), spend.sighash(i).unwrap());
        assert_script_invalid(&tx, &spend.prevouts, i);
    }
}

#[test]
fn rejected_charge_missing_calculator_signature() {
    let f = fixture();
    let spend = f.charge_spend(1);
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    let c_sigs: Vec<_> = (0..2)
        .map(|i| (x(&f.c[1]), sign_escrow_input(&spend, i, &f.c[1]).unwrap()))
        .collect();
    assert!(matches!(
        spend.finalize(&[vec![(x(&f.o), o_sig)], vec![c_sigs[1]]]),
        Err(Error::MissingSignature(_))
    ));
    assert!(matches!(
        spend.finalize(&[vec![(x(&f.o), o_sig), c_sigs[0]], vec![]]),
        Err(Error::MissingSignature(_))
    ));
    let mut tx = spend.tx.clone();
    forge(&mut tx, &spend, 0, &[Some(o_sig), None]);
    forge(&mut tx, &spend, 1, &[None]);
    assert_all_inputs_invalid(&tx, &spend.prevouts);
}

#[test]
fn locktime_charge_final_from_block_t_plus_one_redeem_at_once() {
    let f = fixture();
    let (_, charge_tx) = f.charge(0);
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
    let spend = build_redeem(&f.params, 0, f.slots[0], script(&f.o), rate()).unwrap();
    let redeem = spend.finalize(&sign_all(&spend, &[&f.o, &f.t])).unwrap();
    assert!(is_final(&redeem, 1, 0));
    // A charge or reclaim whose t is not in the future is refused.
    assert!(matches!(
        build_charge(&f.params, 0, f.slots[0], script(&f.c[0]), rate(), t),
        Err(Error::InvalidTimeout { .. })
    ));
    assert!(matches!(
        build_reclaim(&f.params, 0, f.dep(0), script(&f.c[0]), rate(), t),
        Err(Error::InvalidTimeout { .. })
    ));
}
