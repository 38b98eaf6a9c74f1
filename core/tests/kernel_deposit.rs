//! The deposit output Dep_i checked by Bitcoin Core's script interpreter
//! (libbitcoinkernel, all consensus flags including Taproot): C_i alone
//! reclaims it from t on (also after a sweep took Pay_i), O needs T before
//! that, and no trap leaf reaches it. Then the paper's variant
//! (`trap_deposit`: Pay_i holds d + g, no Dep_i), whose charge and sweep
//! still work. Pay_i's paths are in `kernel_verify.rs`.

mod common;

use bapay_core::escrow::{
    build_charge, build_reclaim, build_redeem, build_sweep, sign_escrow_input, EscrowOutput,
    EscrowSpend, LeafKind, SlotEscrow, TrapKind,
};
use bapay_core::Error;
use bitcoin::absolute::LockTime;
use bitcoin::{Sequence, Transaction};
use common::{
    assert_all_inputs_invalid, assert_exact_fee, assert_script_invalid, charge_sigs, forge,
    kernel_verify, kernel_verify_all, kp, rate, raw_sign, script, sign_all, x, Fixture, DEPOSIT_G,
    FEE_D, TIP,
};

const N: usize = 3;
const L: usize = 2;

fn fixture() -> Fixture {
    Fixture::new(11, N, L)
}

/// C_i's reclaim of Dep_i as built (nLockTime t), unsigned.
fn reclaim(f: &Fixture, i: usize) -> EscrowSpend {
    build_reclaim(&f.params, i, f.dep(i), script(&f.c[i]), rate(), TIP).unwrap()
}

/// The reclaim of Dep_1 with nLockTime `lock` and nSequence `seq`, signed
/// (after the edit) by C_1 through the reclaim leaf.
fn reclaim_with(f: &Fixture, lock: u32, seq: Sequence) -> (EscrowSpend, Transaction) {
    let mut spend = reclaim(f, 0);
    spend.tx.lock_time = LockTime::from_consensus(lock);
    spend.tx.input[0].sequence = seq;
    let sig = sign_escrow_input(&spend, 0, &f.c[0]).unwrap();
    let tx = spend.finalize(&[vec![(x(&f.c[0]), sig)]]).unwrap();
    (spend, tx)
}

#[test]
fn accepted_reclaim_of_deposit_at_t() {
    let f = fixture();
    let spend = reclaim(&f, 1);
    assert_eq!(spend.tx.input.len(), 1);
    assert_eq!(spend.tx.input[0].previous_output, f.dep(1).outpoint);
    assert_eq!(spend.prevouts[0], f.deposit_output(1).txout());
    assert_eq!(spend.inputs[0].leaf.kind, LeafKind::Reclaim);
    assert_eq!(spend.inputs[0].control_block.size(), 65);
    assert_eq!(
        spend.inputs[0].leaf.script.to_asm_string(),
        format!(
            "OP_PUSHBYTES_2 2c01 OP_CLTV OP_DROP OP_PUSHBYTES_32 {} OP_CHECKSIG",
            x(&f.c[1])
        ),
        "<t = 300> CLTV DROP <C_2> CHECKSIG"
    );
    let sig = sign_escrow_input(&spend, 0, &f.c[1]).unwrap();
    let tx = spend.finalize(&[vec![(x(&f.c[1]), sig)]]).unwrap();
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    assert_exact_fee(&tx, spend.fee);
    assert_eq!(tx.output[0].value.to_sat(), DEPOSIT_G - spend.fee.to_sat());
    assert_eq!(tx.lock_time.to_consensus_u32(), f.timeout);
    assert_eq!(tx.input[0].sequence.0, 0xFFFF_FFFE);
    // CLTV asks for nLockTime >= t: a later one is fine too.
    let (spend, tx) = reclaim_with(&f, f.timeout + 50, Sequence::ENABLE_LOCKTIME_NO_RBF);
    kernel_verify(&tx, &spend.prevouts, 0).unwrap();
}

#[test]
fn accepted_sweep_leaves_every_deposit_to_its_reclaim() {
    let f = fixture();
    let agg = f.collusion_keypair();
    let sweep = build_sweep(
        &f.params,
        0,
        &f.pays,
        script(&f.c[0]),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    let stx = sweep.finalize(&sign_all(&sweep, &[&agg, &f.c[0]])).unwrap();
    kernel_verify_all(&stx, &sweep.prevouts).unwrap();
    // Charge_j can no longer be mined (Pay_j is gone), but every C_j, the
    // colluder too, still reclaims its Dep_j at t: no outpoint in common.
    for j in 0..N {
        let spend = reclaim(&f, j);
        let dep = spend.tx.input[0].previous_output;
        assert!(stx.input.iter().all(|i| i.previous_output != dep));
        let sig = sign_escrow_input(&spend, 0, &f.c[j]).unwrap();
        let tx = spend.finalize(&[vec![(x(&f.c[j]), sig)]]).unwrap();
        kernel_verify(&tx, &spend.prevouts, 0).unwrap();
    }
}

#[test]
fn rejected_reclaim_before_t() {
    let f = fixture();
    let t = f.timeout;
    let final_seq = Sequence::ENABLE_LOCKTIME_NO_RBF;
    // OP_CHECKLOCKTIMEVERIFY fails for nLockTime < t, though C_1 signed.
    for lock in [t - 1, TIP, 0] {
        let (spend, tx) = reclaim_with(&f, lock, final_seq);
        assert_script_invalid(&tx, &spend.prevouts, 0);
    }
    // A timestamp nLockTime is not a height >= t either.
    let (spend, tx) = reclaim_with(&f, 500_000_000 + t, final_seq);
    assert_script_invalid(&tx, &spend.prevouts, 0);
    // nLockTime t with a final input (nSequence 0xFFFFFFFF) disables the
    // lock time, so CLTV fails too.
    let (spend, tx) = reclaim_with(&f, t, Sequence::MAX);
    assert_script_invalid(&tx, &spend.prevouts, 0);
}

#[test]
fn rejected_charge_before_t_on_its_deposit_input() {
    let f = fixture();
    // O and C_1 re-sign Charge_1 with nLockTime t - 1: the charge leaf has
    // no CLTV (the conversion uses it at once), the reclaim leaf has.
    let mut spend = f.charge_spend(0);
    spend.tx.lock_time = LockTime::from_consensus(f.timeout - 1);
    let o_sig = sign_escrow_input(&spend, 0, &f.o).unwrap();
    let tx = spend
        .finalize(&charge_sigs(&spend, o_sig, &f.o, &f.c[0]))
        .unwrap();
    kernel_verify(&tx, &spend.prevouts, 0).unwrap();
    assert_script_invalid(&tx, &spend.prevouts, 1);
}

#[test]
fn rejected_reclaim_signed_by_outsourcer() {
    let f = fixture();
    let spend = reclaim(&f, 0);
    assert!(matches!(
        sign_escrow_input(&spend, 0, &f.o),
        Err(Error::NotASigner(_))
    ));
    // O (or T, or another calculator) in C_1's place, at t.
    for key in [&f.o, &f.t, &f.c[1]] {
        let mut tx = spend.tx.clone();
        forge(&mut tx, &spend, 0, &[Some(raw_sign(&spend, 0, key))]);
        assert_script_invalid(&tx, &spend.prevouts, 0);
    }
    // O signing both inputs of Charge_1 does not take Dep_1 either.
    let charge = f.charge_spend(0);
    let o_sig = sign_escrow_input(&charge, 0, &f.o).unwrap();
    let mut tx = charge
        .finalize(&charge_sigs(&charge, o_sig, &f.o, &f.c[0]))
        .unwrap();
    forge(&mut tx, &charge, 1, &[Some(raw_sign(&charge, 1, &f.o))]);
    kernel_verify(&tx, &charge.prevouts, 0).unwrap();
    assert_script_invalid(&tx, &charge.prevouts, 1);
}

#[test]
fn rejected_deposit_dispute_without_arbiter() {
    let f = fixture();
    let spend = build_redeem(&f.params, 1, f.slots[1], script(&f.o), rate()).unwrap();
    assert_eq!(spend.inputs[1].leaf.signers, vec![x(&f.o), x(&f.t)]);
    let o_sig = sign_escrow_input(&spend, 1, &f.o).unwrap();
    assert!(matches!(
        sign_escrow_input(&spend, 1, &f.c[1]),
        Err(Error::NotASigner(_))
    ));
    let mut tx = spend.finalize(&sign_all(&spend, &[&f.o, &f.t])).unwrap();
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    // Dep_2 (input 1): O alone, O twice, O with C_2 in T's place.
    let c_sig = raw_sign(&spend, 1, &f.c[1]);
    for sigs in [
        [Some(o_sig), None],
        [Some(o_sig), Some(o_sig)],
        [Some(o_sig), Some(c_sig)],
    ] {
        forge(&mut tx, &spend, 1, &sigs);
        kernel_verify(&tx, &spend.prevouts, 0).unwrap();
        assert_script_invalid(&tx, &spend.prevouts, 1);
    }
}

/// A spend of Dep_2 (or, with `on_pay`, of Pay_2) through Pay_2's leaf
/// `kind`, signed by `keys` in the leaf's signer order (None: no signature).
fn through_pay_leaf(
    f: &Fixture,
    kind: LeafKind,
    keys: &[Option<&bitcoin::secp256k1::Keypair>],
    on_pay: bool,
) -> (EscrowSpend, Transaction) {
    let mut spend = reclaim(f, 1);
    spend.inputs[0] = f.pay_leaf(1, kind);
    if on_pay {
        spend.tx.input[0].previous_output = f.pays[1].outpoint;
        spend.prevouts[0] = EscrowOutput::new(&f.params, 1).unwrap().txout();
    }
    let sigs: Vec<_> = keys
        .iter()
        .map(|k| k.map(|k| raw_sign(&spend, 0, k)))
        .collect();
    let mut tx = spend.tx.clone();
    forge(&mut tx, &spend, 0, &sigs);
    (spend, tx)
}

#[test]
fn rejected_trap_leaves_against_deposit() {
    let f = fixture();
    let agg = f.collusion_keypair();
    let (m1, m3) = (kp(&f.msg_secrets[0]), kp(&f.msg_secrets[2]));
    for k in 0..N {
        let trap: [Option<&_>; 2] = [Some(&agg), Some(&f.c[k])];
        let threshold = [Some(&f.c[k]), Some(&m1), None, Some(&m3)];
        for (kind, keys) in [
            (LeafKind::Trap(k), &trap[..]),
            (LeafKind::ThresholdTrap(k), &threshold[..]),
        ] {
            // The control block proves the leaf in Pay_2's tree only.
            let (spend, tx) = through_pay_leaf(&f, kind, keys, true);
            kernel_verify(&tx, &spend.prevouts, 0).unwrap();
            let (spend, tx) = through_pay_leaf(&f, kind, keys, false);
            assert_eq!(spend.prevouts[0], f.deposit_output(1).txout());
            assert_script_invalid(&tx, &spend.prevouts, 0);
        }
    }
}

#[test]
fn rejected_sweep_aimed_at_every_deposit() {
    let f = fixture();
    let agg = f.collusion_keypair();
    let (m1, m2) = (kp(&f.msg_secrets[0]), kp(&f.msg_secrets[1]));
    let deps: Vec<_> = (0..N).map(|j| f.dep(j)).collect();
    for kind in [TrapKind::Aggregate, TrapKind::Threshold] {
        let mut spend = build_sweep(&f.params, 0, &deps, script(&f.c[0]), rate(), kind).unwrap();
        // The sighash commits to the real prevouts: Dep_1..Dep_n.
        spend.prevouts = (0..N).map(|j| f.deposit_output(j).txout()).collect();
        let keys = match kind {
            TrapKind::Aggregate => vec![&agg, &f.c[0]],
            TrapKind::Threshold => vec![&f.c[0], &m1, &m2],
        };
        let tx = spend.finalize(&sign_all(&spend, &keys)).unwrap();
        assert_all_inputs_invalid(&tx, &spend.prevouts);
    }
}

#[test]
fn accepted_paper_variant_charge_and_sweep() {
    let f = Fixture::trap_deposit(11, N, L);
    assert!(!f.params.split());
    assert_eq!(f.params.escrow_outputs(), N);
    assert!(f.slots.iter().all(|s| s.deposit.is_none()));
    let funding = &f.plan.psbt.unsigned_tx;
    for i in 0..N {
        assert_eq!(funding.output[i].value.to_sat(), FEE_D + DEPOSIT_G);
        assert_eq!(
            funding.output[i],
            EscrowOutput::new(&f.params, i).unwrap().txout()
        );
    }
    // Charge_2: Pay_2 alone, d + g to C_2.
    let (spend, tx) = f.charge(1);
    assert_eq!(tx.input.len(), 1);
    kernel_verify_all(&tx, &spend.prevouts).unwrap();
    assert_exact_fee(&tx, spend.fee);
    assert_eq!(
        tx.output[0].value.to_sat(),
        FEE_D + DEPOSIT_G - spend.fee.to_sat()
    );
    // Redeem_2: Pay_2 alone through the dispute leaf.
    let redeem = build_redeem(&f.params, 1, f.slots[1], script(&f.o), rate()).unwrap();
    let rtx = redeem.finalize(&sign_all(&redeem, &[&f.o, &f.t])).unwrap();
    kernel_verify_all(&rtx, &redeem.prevouts).unwrap();
    // The sweep takes every d + g, deposits included.
    let agg = f.collusion_keypair();
    let sweep = build_sweep(
        &f.params,
        2,
        &f.pays,
        script(&f.c[2]),
        rate(),
        TrapKind::Aggregate,
    )
    .unwrap();
    let stx = sweep.finalize(&sign_all(&sweep, &[&agg, &f.c[2]])).unwrap();
    kernel_verify_all(&stx, &sweep.prevouts).unwrap();
    assert_exact_fee(&stx, sweep.fee);
    assert_eq!(
        stx.output[0].value.to_sat(),
        N as u64 * (FEE_D + DEPOSIT_G) - sweep.fee.to_sat()
    );
    // There is no Dep_i to build, reclaim, or pass with Pay_i.
    assert!(matches!(
        EscrowOutput::deposit(&f.params, 0),
        Err(Error::TermsMismatch(_))
    ));
    assert!(matches!(
        build_reclaim(&f.params, 0, f.pays[0], script(&f.c[0]), rate(), TIP),
        Err(Error::TermsMismatch(_))
    ));
    let with_dep = SlotEscrow {
        pay: f.pays[0],
        deposit: Some(f.pays[1]),
    };
    assert!(matches!(
        build_charge(&f.params, 0, with_dep, script(&f.c[0]), rate(), TIP),
        Err(Error::TermsMismatch(_))
    ));
}

/// O's void of its own funding coins (`build_void`, when a calculator
/// double-spent its deposit coin) is a valid key-path spend of each.
#[test]
fn void_of_o_funding_coins_verifies() {
    use bapay_core::escrow::{build_void, FundingInput};
    let f = fixture();
    let own = script(&f.o);
    let coins: Vec<FundingInput> = f
        .plan
        .psbt
        .unsigned_tx
        .input
        .iter()
        .zip(&f.plan.psbt.inputs)
        .filter_map(|(txin, p)| {
            let txout = p.witness_utxo.clone()?;
            (txout.script_pubkey == own).then_some(FundingInput {
                outpoint: txin.previous_output,
                txout,
            })
        })
        .collect();
    assert!(!coins.is_empty());
    let tx = build_void(&coins, &f.o, own, rate()).unwrap();
    let prevouts: Vec<_> = coins.iter().map(|c| c.txout.clone()).collect();
    kernel_verify_all(&tx, &prevouts).unwrap();
    // Another key's coins are refused.
    assert!(build_void(&coins, &f.c[0], script(&f.c[0]), rate()).is_err());
}
