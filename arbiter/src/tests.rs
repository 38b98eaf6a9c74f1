//! Unit tests of the handlers on a [`MemoryStore`] and a [`FakeClock`]:
//! an honest calculator (REJECTED stored), a calculator at fault (T's
//! signature verifies on the Redeem_i rebuilt from the terms), O's proposed
//! Redeem_i (accepted if equal, INVALID_ARGUMENT otherwise), malformed input
//! (INVALID_ARGUMENT, the service keeps serving), not T's terms / Ethereum
//! with Bitcoin terms / unresponsive, the chain checks (too late, escrow unknown / too shallow /
//! other value / spent, adapter down), repeats (same answer, one signature per escrow) and a
//! restart on a sqlite file; only the terms' outsourcer may file
//! (PERMISSION_DENIED otherwise: a calculator filing against itself, an
//! unsigned or re-used signature).

use std::sync::Arc;

use bapay_core::auth;
use bapay_core::commitment::{Chain as CoreChain, Commitment, SignedCommitment};
use bapay_core::escrow::{
    build_redeem, escrow_txouts, p2tr_key_spend_script, slot_escrow, verify_escrow_signature,
    EscrowParams, EscrowTerms, EscrowUtxo, SlotEscrow,
};
use bapay_core::merkle::Hash32;
use bapay_core::sampling::sample_indices;
use bapay_core::task::field::Fe;
use bapay_core::task::linear::LinearSubTask;
use bapay_core::task::{SubResult, SubTask};
use bapay_daemon::{FakeClock, KeyStore, MemoryStore, SecretKey, SqliteStore, Store};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::arbiter_service_server::ArbiterService;
use bapay_proto::arbiter::v1::dispute_request::{Evidence, Settlement};
use bapay_proto::common::v1 as common;
use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::secp256k1::{rand::thread_rng, Keypair, Secp256k1};
use bitcoin::transaction::Version;
use bitcoin::{Amount, FeeRate, OutPoint, Transaction, TxIn, Txid};
use prost::Message;
use tonic::{Code, Request};

use crate::config::Config;
use crate::service::{Arbiter, Service};
use bapay_daemon::FakeBitcoin as FakeChain;

const JOB: [u8; 32] = [1; 32];
const M: u32 = 4;

struct Fx {
    svc: Service,
    chain: Arc<FakeChain>,
    o: Keypair,
    calc: Keypair,
    params: EscrowParams,
    sub: SubTask,
}

fn config() -> Config {
    Config {
        sample_size: M,
        ..Config::default()
    }
}

fn fixture_with(store: Arc<dyn Store>, key: SecretKey) -> Fx {
    let secp = Secp256k1::new();
    let t = key.x_only_public_key();
    let kp = || Keypair::new(&secp, &mut thread_rng());
    let (o, calc, other, pm) = (kp(), kp(), kp(), kp());
    let params = EscrowParams::new(EscrowTerms {
        outsourcer: o.x_only_public_key().0,
        arbiter: t,
        calculators: vec![calc.x_only_public_key().0, other.x_only_public_key().0],
        collusion_key: pm.x_only_public_key().0,
        fee: Amount::from_sat(100_000),
        deposit: Amount::from_sat(20_000),
        timeout: 300,
        threshold: None,
        trap_deposit: false,
    })
    .expect("terms");
    let sub = SubTask::Linear(LinearSubTask {
        rows: 16,
        cols: 4,
        matrix_seed: Hash32::from([5; 32]),
        share: (1..=4).map(Fe::reduce).collect(),
        threshold: None,
    });
    let chain = Arc::new(FakeChain::new(100));
    chain.add_tx(&escrow_tx(&params), 1);
    let arb = Arbiter::new(
        store,
        key,
        chain.clone(),
        config(),
        Arc::new(FakeClock::new(1_000)),
    );
    Fx {
        svc: Service(Arc::new(arb)),
        chain,
        o,
        calc,
        params,
        sub,
    }
}

fn fixture() -> Fx {
    let clock = Arc::new(FakeClock::new(1_000));
    fixture_with(Arc::new(MemoryStore::new(clock)), SecretKey::generate())
}

/// The funding transaction: Pay_0, Pay_1, Dep_0, Dep_1.
fn escrow_tx(p: &EscrowParams) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array([7; 32]),
                vout: 0,
            },
            ..TxIn::default()
        }],
        output: escrow_txouts(p).expect("outputs"),
    }
}

/// Slot 0's escrow: Pay_0 and Dep_0.
fn slot(p: &EscrowParams) -> SlotEscrow {
    slot_escrow(p, escrow_tx(p).compute_txid(), 0).expect("slot")
}

fn utxo(p: &EscrowParams) -> EscrowUtxo {
    slot(p).pay
}

fn proto_utxo(u: &EscrowUtxo) -> common::EscrowUtxo {
    common::EscrowUtxo {
        txid: u.outpoint.txid.to_string(),
        vout: u.outpoint.vout,
        value_sat: u.value.to_sat(),
    }
}

/// Where Redeem_i pays: the key-path output of the terms' outsourcer.
fn payout(p: &EscrowParams) -> bitcoin::ScriptBuf {
    p2tr_key_spend_script(p.terms().outsourcer)
}

/// `r` signed by `key` (O's signature over the request without it).
fn signed_by(mut r: pb::DisputeRequest, key: &Keypair) -> pb::DisputeRequest {
    r.outsourcer_signature.clear();
    r.outsourcer_signature = auth::sign(auth::DISPUTE_TAG, &r.encode_to_vec(), key)
        .serialize()
        .to_vec();
    r
}

/// A dispute of slot 0; `honest = false` makes C_i sign a result that is
/// off by one in every row (its tree is the honest one).
fn request(fx: &Fx, honest: bool) -> pb::DisputeRequest {
    let (res, tree) = fx.sub.compute_and_commit().expect("compute");
    let signed_res = match (&res, honest) {
        (_, true) => res.clone(),
        (SubResult::Linear(l), false) => {
            let mut l = l.clone();
            for v in &mut l.r {
                *v = Fe::reduce(v.value() + 1);
            }
            SubResult::Linear(l)
        }
        _ => unreachable!(),
    };
    let c = Commitment::new(
        CoreChain::Bitcoin,
        JOB,
        0,
        &fx.sub,
        &signed_res,
        tree.root(),
        tree.leaf_count(),
    );
    let sc = SignedCommitment::sign(c, &fx.calc);
    let sample =
        sample_indices(&JOB, 0, &tree.root(), &[0x33; 32], tree.leaf_count(), M).expect("sample");
    let openings = fx.sub.open(&res, &tree, &sample).expect("open");
    let e = slot(&fx.params);
    pb::DisputeRequest {
        job_id: JOB.to_vec(),
        chain: common::Chain::Bitcoin as i32,
        calculator_index: 0,
        sub_task: fx.sub.to_bytes(),
        settlement: Some(Settlement::Bitcoin(pb::BitcoinDispute {
            terms: Some(bapay_daemon::codec::terms_to_proto(&fx.params)),
            escrow: Some(proto_utxo(&e.pay)),
            deposit: e.deposit.as_ref().map(proto_utxo),
            fee_rate_sat_per_vb: 2.0,
            proposed_redeem_tx: Vec::new(),
        })),
        evidence: Some(Evidence::WrongResult(pb::WrongResult {
            commitment: Some(common::SignedCommitment {
                job_id: sc.commitment.job_id.to_vec(),
                calculator_index: 0,
                root: sc.commitment.root.as_bytes().to_vec(),
                leaf_count: sc.commitment.leaf_count,
                sub_task_hash: sc.commitment.subtask_hash.to_vec(),
                result_hash: sc.commitment.result_hash.to_vec(),
                signature: sc.signature.to_vec(),
            }),
            result: signed_res.to_bytes(),
            openings: openings
                .iter()
                .map(|o| common::Opening {
                    index: o.index,
                    leaf_data: o.leaf_data.clone(),
                    proof: o
                        .proof
                        .siblings
                        .iter()
                        .map(|h| h.as_bytes().to_vec())
                        .collect(),
                })
                .collect(),
        })),
        outsourcer_key: Vec::new(),
        outsourcer_signature: Vec::new(),
    }
}

fn btc(r: &mut pb::DisputeRequest) -> &mut pb::BitcoinDispute {
    match r.settlement.as_mut() {
        Some(Settlement::Bitcoin(b)) => b,
        _ => unreachable!(),
    }
}

fn wrong(r: &mut pb::DisputeRequest) -> &mut pb::WrongResult {
    match r.evidence.as_mut() {
        Some(Evidence::WrongResult(w)) => w,
        _ => unreachable!(),
    }
}

/// Files `r` signed by O.
async fn dispute(fx: &Fx, r: pb::DisputeRequest) -> Result<pb::Dispute, tonic::Status> {
    dispute_as_is(fx, signed_by(r, &fx.o)).await
}

/// Files `r` with whatever signature it carries.
async fn dispute_as_is(fx: &Fx, r: pb::DisputeRequest) -> Result<pb::Dispute, tonic::Status> {
    let out = fx.svc.dispute(Request::new(r)).await?;
    Ok(out.into_inner().dispute.expect("dispute"))
}

async fn get(fx: &Fx, id: &str) -> Result<pb::Dispute, tonic::Status> {
    let r = pb::GetDisputeRequest {
        dispute_id: id.into(),
    };
    Ok(fx
        .svc
        .get_dispute(Request::new(r))
        .await?
        .into_inner()
        .dispute
        .expect("dispute"))
}

fn rebuild(fx: &Fx) -> bapay_core::escrow::EscrowSpend {
    build_redeem(
        &fx.params,
        0,
        slot(&fx.params),
        payout(&fx.params),
        FeeRate::from_sat_per_vb(2).expect("rate"),
    )
    .expect("rebuild")
}

/// Checks T's signatures (Pay_0 and Dep_0) against the Redeem_i the test
/// rebuilds from the terms: it pays O's key-path output.
fn assert_signed_rebuild(fx: &Fx, d: &pb::Dispute) {
    let rebuilt = rebuild(fx);
    assert_eq!(d.redeem_tx, bitcoin::consensus::serialize(&rebuilt.tx));
    assert_eq!(rebuilt.tx.input.len(), 2, "Pay_0 and Dep_0");
    assert_eq!(d.arbiter_signatures.len(), 2);
    let t = fx.params.terms().arbiter;
    for (k, sig) in d.arbiter_signatures.iter().enumerate() {
        let sig = Signature::from_slice(sig).expect("sig");
        verify_escrow_signature(&rebuilt, k, &t, &sig).expect("T's signature verifies");
    }
}

#[tokio::test]
async fn get_info_reports_key_and_bitcoin() {
    let fx = fixture();
    let info = fx
        .svc
        .get_info(Request::new(pb::GetInfoRequest {}))
        .await
        .expect("info")
        .into_inner();
    assert_eq!(
        info.bitcoin_key,
        fx.params.terms().arbiter.serialize().to_vec()
    );
    assert_eq!(info.chains, vec![common::Chain::Bitcoin as i32]);
    assert!(info.ethereum_address.is_empty());
}

#[tokio::test]
async fn honest_calculator_is_rejected_and_stored() {
    let fx = fixture();
    let d = dispute(&fx, request(&fx, true)).await.expect("dispute");
    assert_eq!(d.state, pb::DisputeState::Rejected as i32);
    assert_eq!(d.reject_reason, pb::RejectReason::LeavesCorrect as i32);
    assert!(d.arbiter_signatures.is_empty());
    assert!(d.redeem_tx.is_empty());
    let stored = get(&fx, &d.dispute_id).await.expect("stored");
    assert_eq!(stored, d);
}

#[tokio::test]
async fn calculator_at_fault_gets_redeem_signed() {
    let fx = fixture();
    let d = dispute(&fx, request(&fx, false)).await.expect("dispute");
    assert_eq!(d.state, pb::DisputeState::AtFault as i32, "{d:?}");
    let f = d.fault.as_ref().expect("fault");
    assert_eq!(f.kind, pb::fault::Kind::ResultMismatch as i32, "{f:?}");
    assert_signed_rebuild(&fx, &d);
    assert_eq!(get(&fx, &d.dispute_id).await.expect("stored"), d);
}

#[tokio::test]
async fn proposed_redeem_must_equal_the_rebuild() {
    let fx = fixture();
    let rebuilt = rebuild(&fx);
    // Another payout (a calculator's): refused.
    let mut bad = rebuilt.tx.clone();
    bad.output[0].script_pubkey = p2tr_key_spend_script(fx.calc.x_only_public_key().0);
    let mut r = request(&fx, false);
    btc(&mut r).proposed_redeem_tx = bitcoin::consensus::serialize(&bad);
    let e = dispute(&fx, r).await.expect_err("refused");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("proposed_redeem_tx"), "{e:?}");
    // The same transaction: signed.
    let mut r = request(&fx, false);
    btc(&mut r).proposed_redeem_tx = bitcoin::consensus::serialize(&rebuilt.tx);
    let d = dispute(&fx, r).await.expect("dispute");
    assert_eq!(d.state, pb::DisputeState::AtFault as i32);
    assert_signed_rebuild(&fx, &d);
}

#[tokio::test]
async fn malformed_input_is_invalid_argument_and_service_keeps_serving() {
    let fx = fixture();
    type Edit = fn(&mut pb::DisputeRequest);
    let cases: Vec<(&str, Edit)> = vec![
        ("job_id", |r| r.job_id = vec![1; 31]),
        ("chain", |r| r.chain = 0),
        ("chain", |r| r.chain = 99),
        ("settlement", |r| r.settlement = None),
        ("evidence", |r| r.evidence = None),
        ("terms.outsourcer", |r| {
            btc(r).terms.as_mut().expect("terms").outsourcer = vec![0; 32]
        }),
        ("calculator_index", |r| r.calculator_index = 2),
        ("txid", |r| {
            btc(r).escrow.as_mut().expect("escrow").txid = "zz".into()
        }),
        ("fee_rate", |r| btc(r).fee_rate_sat_per_vb = 0.5),
        ("fee_rate", |r| btc(r).fee_rate_sat_per_vb = f64::NAN),
        ("deposit", |r| btc(r).deposit = None),
        ("deposit.txid", |r| {
            btc(r).deposit.as_mut().expect("deposit").txid = "zz".into()
        }),
        ("proposed_redeem_tx", |r| {
            btc(r).proposed_redeem_tx = vec![0xff; 5]
        }),
        ("sub_task", |r| r.sub_task = vec![1, 2, 3]),
        ("commitment", |r| wrong(r).commitment = None),
        ("commitment.signature", |r| {
            wrong(r).commitment.as_mut().expect("c").signature = vec![0; 63]
        }),
        ("commitment.root", |r| {
            wrong(r).commitment.as_mut().expect("c").root = vec![0; 5]
        }),
        ("openings", |r| wrong(r).openings.clear()),
        ("proof", |r| wrong(r).openings[0].proof.push(vec![0; 31])),
    ];
    for (field, edit) in cases {
        let mut r = request(&fx, false);
        edit(&mut r);
        let e = dispute(&fx, r).await.expect_err(field);
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert!(e.message().contains(field), "{field}: {}", e.message());
    }
    // Nothing was stored; the service still decides a good dispute.
    let d = dispute(&fx, request(&fx, true)).await.expect("serving");
    assert_eq!(d.state, pb::DisputeState::Rejected as i32);
}

#[tokio::test]
async fn not_ours_ethereum_unresponsive_are_refused() {
    let fx = fixture();
    let mut r = request(&fx, false);
    let other = SecretKey::generate().x_only_public_key();
    btc(&mut r).terms.as_mut().expect("terms").arbiter = other.serialize().to_vec();
    let e = dispute(&fx, r).await.expect_err("not ours");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    // Chain ETHEREUM with Bitcoin terms (Ethereum disputes: tests_eth.rs).
    let mut r = request(&fx, false);
    r.chain = common::Chain::Ethereum as i32;
    let e = dispute(&fx, r).await.expect_err("ethereum");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("settlement"), "{e:?}");

    let mut r = request(&fx, false);
    r.evidence = Some(Evidence::Unresponsive(pb::Unresponsive::default()));
    let e = dispute(&fx, r).await.expect_err("unresponsive");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    let e = get(&fx, "00ff").await.expect_err("unknown");
    assert_eq!(e.code(), Code::NotFound);
    let e = get(&fx, "not hex").await.expect_err("bad id");
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn repeats_return_the_stored_answer_and_one_signature_per_escrow() {
    let fx = fixture();
    let r = request(&fx, false);
    let first = dispute(&fx, r.clone()).await.expect("first");
    let again = dispute(&fx, r.clone()).await.expect("again");
    assert_eq!(first, again);
    // Other fee rate for the same slot / escrow: the AT_FAULT dispute, unchanged.
    let mut other = r.clone();
    btc(&mut other).fee_rate_sat_per_vb = 5.0;
    let d = dispute(&fx, other).await.expect("other");
    assert_eq!(d, first);
    // Another slot on the same escrow outpoint: still no second signature.
    let mut slot1 = request(&fx, true);
    slot1.calculator_index = 1;
    let d = dispute(&fx, slot1).await.expect("slot 1");
    assert_eq!(d.dispute_id, first.dispute_id);

    // After a REJECTED dispute, new evidence is decided afresh.
    let fx = fixture();
    let rejected = dispute(&fx, request(&fx, true)).await.expect("rejected");
    assert_eq!(rejected.state, pb::DisputeState::Rejected as i32);
    assert_eq!(
        dispute(&fx, request(&fx, true)).await.expect("repeat"),
        rejected
    );
    let fault = dispute(&fx, request(&fx, false))
        .await
        .expect("new evidence");
    assert_ne!(fault.dispute_id, rejected.dispute_id);
    assert_eq!(fault.state, pb::DisputeState::AtFault as i32);
}

#[tokio::test]
async fn restart_on_sqlite_keeps_the_decision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || {
        let clock = Arc::new(FakeClock::new(1_000));
        let store = SqliteStore::open(&dir.path().join("arbiter.sqlite"), clock).expect("db");
        let key = KeyStore::new(dir.path())
            .load_or_create("arbiter")
            .expect("key");
        (Arc::new(store) as Arc<dyn Store>, key)
    };
    let (store, key) = open();
    let fx = fixture_with(store, key);
    let r = request(&fx, false);
    let first = dispute(&fx, r.clone()).await.expect("first");
    assert_eq!(first.state, pb::DisputeState::AtFault as i32);
    let (o, calc, params, sub) = (fx.o, fx.calc, fx.params, fx.sub);
    drop(fx.svc);

    let (store, key) = open();
    let mut fx = fixture_with(store, key);
    (fx.o, fx.calc, fx.params, fx.sub) = (o, calc, params, sub);
    fx.chain.add_tx(&escrow_tx(&fx.params), 1);
    assert_eq!(get(&fx, &first.dispute_id).await.expect("kept"), first);
    assert_eq!(dispute(&fx, r).await.expect("repeat"), first);
    assert_signed_rebuild(&fx, &first);
}

#[tokio::test]
async fn chain_checks_refuse_new_disputes() {
    let fx = fixture();
    // t = 300, margin 2: T refuses once tip >= 298.
    fx.chain.set_tip(298);
    let e = dispute(&fx, request(&fx, false))
        .await
        .expect_err("too late");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("too late"), "{e:?}");
    fx.chain.set_tip(100);

    // Escrow transaction unknown.
    let mut r = request(&fx, false);
    btc(&mut r).escrow.as_mut().expect("escrow").txid = Txid::from_byte_array([8; 32]).to_string();
    let e = dispute(&fx, r).await.expect_err("unknown escrow");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    // Other value than the output's.
    let mut r = request(&fx, false);
    btc(&mut r).escrow.as_mut().expect("escrow").value_sat -= 1;
    let e = dispute(&fx, r).await.expect_err("other value");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    // Not deep enough.
    fx.chain.add_tx(&escrow_tx(&fx.params), 0);
    let e = dispute(&fx, request(&fx, false))
        .await
        .expect_err("shallow");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    fx.chain.add_tx(&escrow_tx(&fx.params), 1);

    // Escrow output already spent.
    fx.chain.spend(utxo(&fx.params).outpoint);
    let e = dispute(&fx, request(&fx, false)).await.expect_err("spent");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("spent"), "{e:?}");
    let fx = fixture();

    // Dep_0 already spent (C_0 reclaimed it, or it was never there).
    fx.chain
        .spend(slot(&fx.params).deposit.expect("Dep_0").outpoint);
    let e = dispute(&fx, request(&fx, false)).await.expect_err("spent");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let fx = fixture();

    // Dep_0 with another value than the output's.
    let mut r = request(&fx, false);
    btc(&mut r).deposit.as_mut().expect("deposit").value_sat += 1;
    let e = dispute(&fx, r).await.expect_err("other deposit value");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    // Adapter down: UNAVAILABLE, retry later works.
    fx.chain.set_down(true);
    let e = dispute(&fx, request(&fx, false)).await.expect_err("down");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    fx.chain.set_down(false);
    let d = dispute(&fx, request(&fx, false)).await.expect("judged");
    assert_eq!(d.state, pb::DisputeState::AtFault as i32);

    // A stored answer is returned even after t - margin.
    fx.chain.set_tip(299);
    assert_eq!(dispute(&fx, request(&fx, false)).await.expect("stored"), d);
}

/// A store whose job writes fail after the first `ok_writes`: a crash (or a
/// full disk) between two steps of a dispute.
struct FailingStore {
    inner: MemoryStore,
    ok_writes: std::sync::atomic::AtomicUsize,
}

impl Store for FailingStore {
    fn append_step(
        &self,
        job_id: &str,
        kind: &str,
        payload: &serde_json::Value,
        status: bapay_daemon::StepStatus,
    ) -> bapay_daemon::Result<u64> {
        self.inner.append_step(job_id, kind, payload, status)
    }
    fn finish_step(&self, seq: u64, status: bapay_daemon::StepStatus) -> bapay_daemon::Result<()> {
        self.inner.finish_step(seq, status)
    }
    fn steps(&self, job_id: &str) -> bapay_daemon::Result<Vec<bapay_daemon::StepRecord>> {
        self.inner.steps(job_id)
    }
    fn pending_steps(&self) -> bapay_daemon::Result<Vec<bapay_daemon::StepRecord>> {
        self.inner.pending_steps()
    }
    fn put_job(
        &self,
        id: &str,
        expected_version: Option<u64>,
        data: &serde_json::Value,
    ) -> bapay_daemon::Result<u64> {
        use std::sync::atomic::Ordering;
        let left = self.ok_writes.load(Ordering::SeqCst);
        if left == 0 {
            return Err(bapay_daemon::Error::Store("disk full".into()));
        }
        self.ok_writes.store(left - 1, Ordering::SeqCst);
        self.inner.put_job(id, expected_version, data)
    }
    fn get_job(&self, id: &str) -> bapay_daemon::Result<Option<bapay_daemon::JobRecord>> {
        self.inner.get_job(id)
    }
    fn list_jobs(&self) -> bapay_daemon::Result<Vec<bapay_daemon::JobSummary>> {
        self.inner.list_jobs()
    }
}

#[tokio::test]
async fn stored_before_signed_and_resumed_after_a_crash() {
    let store = Arc::new(FailingStore {
        inner: MemoryStore::new(Arc::new(FakeClock::new(1_000))),
        ok_writes: 0.into(),
    });
    let fx = fixture_with(store.clone(), SecretKey::generate());
    // Nothing can be stored: nothing is decided, nothing signed.
    let e = dispute(&fx, request(&fx, false))
        .await
        .expect_err("no store");
    assert_ne!(e.code(), Code::Ok);
    assert!(store.inner.list_jobs().expect("list").is_empty());

    // The evidence is stored, the verdict write fails: no signature leaves,
    // the stored record is CHECKING with the request and Redeem_i.
    store
        .ok_writes
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let e = dispute(&fx, request(&fx, false))
        .await
        .expect_err("verdict lost");
    assert_ne!(e.code(), Code::Ok);
    let jobs = store.inner.list_jobs().expect("list");
    assert_eq!(jobs.len(), 1);
    let id = jobs[0]
        .id
        .strip_prefix("dispute-")
        .expect("key")
        .to_string();
    let pending = get(&fx, &id).await.expect("stored");
    assert_eq!(pending.state, pb::DisputeState::Checking as i32);
    assert!(pending.arbiter_signatures.is_empty());
    assert!(pending.redeem_tx.is_empty());

    // The repeat (after the "restart") decides the stored dispute.
    store
        .ok_writes
        .store(10, std::sync::atomic::Ordering::SeqCst);
    let d = dispute(&fx, request(&fx, false)).await.expect("resumed");
    assert_eq!(d.dispute_id, id);
    assert_eq!(d.state, pb::DisputeState::AtFault as i32);
    assert_signed_rebuild(&fx, &d);
}

#[tokio::test]
async fn only_the_terms_outsourcer_may_file() {
    let fx = fixture();
    // Unsigned.
    let e = dispute_as_is(&fx, request(&fx, false))
        .await
        .expect_err("unsigned");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    // Signed by the calculator itself (it would file a losing dispute to
    // block O's, "one answer per escrow"), or by a stranger.
    for key in [
        &fx.calc,
        &Keypair::new(&Secp256k1::new(), &mut thread_rng()),
    ] {
        let e = dispute_as_is(&fx, signed_by(request(&fx, true), key))
            .await
            .expect_err("not O");
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    }
    // O's signature over another request (evidence swapped afterwards).
    let mut r = signed_by(request(&fx, true), &fx.o);
    wrong(&mut r).openings.pop();
    let e = dispute_as_is(&fx, r).await.expect_err("replayed");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    // Nothing was stored: O's own dispute is decided afresh.
    assert!(fx.svc.0.store.list_jobs().expect("list").is_empty());
    let d = dispute(&fx, request(&fx, false)).await.expect("O files");
    assert_eq!(d.state, pb::DisputeState::AtFault as i32);
    assert_signed_rebuild(&fx, &d);
}

/// Unresponsive evidence for slot 0: O's signed offer (signed by
/// `offer_signer`) and C_0's acceptance of it at `signed_endpoint`, filed
/// with `endpoint`.
fn unresponsive(
    fx: &Fx,
    offer_signer: &Keypair,
    signed_endpoint: &str,
    endpoint: &str,
) -> pb::DisputeRequest {
    unresponsive_until(fx, offer_signer, signed_endpoint, endpoint, 90)
}

/// The same with the offer's result deadline at `deadline` (the fake tip is 100).
fn unresponsive_until(
    fx: &Fx,
    offer_signer: &Keypair,
    signed_endpoint: &str,
    endpoint: &str,
    deadline: u64,
) -> pb::DisputeRequest {
    use bapay_proto::calculator::v1 as calc;
    let mut r = request(fx, true);
    let token = vec![9u8; 32];
    let mut offer = calc::OfferRequest {
        job_id: JOB.to_vec(),
        job_token: token.clone(),
        chain: common::Chain::Bitcoin as i32,
        calculator_count: 2,
        index: 0,
        sub_task: fx.sub.to_bytes(),
        terms: Some(calc::offer_request::Terms::Bitcoin(calc::BitcoinOffer {
            terms: btc(&mut r).terms.clone(),
            result_deadline_height: deadline,
            ..Default::default()
        })),
        ..Default::default()
    };
    let digest = auth::digest(auth::OFFER_TAG, &offer.encode_to_vec());
    offer.outsourcer_signature = auth::sign(auth::OFFER_TAG, &offer.encode_to_vec(), offer_signer)
        .serialize()
        .to_vec();
    let acceptance = auth::sign(
        auth::ACCEPT_TAG,
        &auth::acceptance_bytes(&digest, signed_endpoint),
        &fx.calc,
    );
    r.evidence = Some(Evidence::Unresponsive(pb::Unresponsive {
        calculator_endpoint: endpoint.into(),
        job_token: token,
        offer: offer.encode_to_vec(),
        acceptance_signature: acceptance.serialize().to_vec(),
        ..Default::default()
    }));
    r
}

/// Issue 10: O may accuse C_i of silence only with the offer it signed and
/// C_i's signed acceptance naming where C_i answers; then T waits for
/// C_i's answer (AWAITING_CALCULATOR) instead of deciding, and not before
/// the offer's result deadline (C_i may still be computing). O cannot point
/// T at an address of its own (C_i never answers there), nor accuse with
/// an offer it did not sign, nor with another m_i.
#[tokio::test]
async fn unresponsive_evidence_binds_the_offer_and_the_endpoint() {
    let fx = fixture();
    let here = "http://127.0.0.1:1";
    let e = dispute(&fx, unresponsive(&fx, &fx.o, here, "http://o.example:1"))
        .await
        .expect_err("O's own endpoint");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let e = dispute(&fx, unresponsive(&fx, &fx.calc, here, here))
        .await
        .expect_err("offer not signed by O");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    let mut r = unresponsive(&fx, &fx.o, here, here);
    r.sub_task = SubTask::Linear(LinearSubTask {
        rows: 16,
        cols: 4,
        matrix_seed: Hash32::from([6; 32]),
        share: (1..=4).map(Fe::reduce).collect(),
        threshold: None,
    })
    .to_bytes();
    let e = dispute(&fx, r).await.expect_err("another m_i");
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // Before the result deadline C_i may still be computing.
    let e = dispute(&fx, unresponsive_until(&fx, &fx.o, here, here, 150))
        .await
        .expect_err("too early");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let d = dispute(&fx, unresponsive(&fx, &fx.o, here, here))
        .await
        .expect("filed");
    assert_eq!(
        d.state,
        pb::DisputeState::AwaitingCalculator as i32,
        "{d:?}"
    );
    assert!(d.arbiter_signatures.is_empty(), "nothing signed yet: {d:?}");
}
