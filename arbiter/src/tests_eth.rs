//! Unit tests of the Ethereum dispute on a [`MemoryStore`] and a [`FakeEth`]:
//! a lazy calculator judged (the `judge(job)` calldata sent once, stored
//! first), an honest one rejected, the key binding to job.worker, the
//! on-chain root, the chain checks (not committed, trapped, too late),
//! deployment / arbiter (FAILED_PRECONDITION), malformed fields
//! (INVALID_ARGUMENT), a reverted judge (EXPIRED).

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use bapay_daemon::eth::{judge_calldata, FakeEth};
use bapay_daemon::{FakeClock, MemoryStore, SecretKey};
use bapay_fairpay::JobParams;
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::arbiter_service_server::ArbiterService;
use bapay_proto::arbiter::v1::{DisputeState, RejectReason};
use tonic::{Code, Request};

#[path = "../tests/common/eth_case.rs"]
mod eth_case;
use eth_case::{case, eth_mut, request, signed_by, EthCase};

use crate::config::Config;
use crate::service::{Arbiter, Service};
use bapay_daemon::FakeBitcoin as FakeChain;

const JOB: [u8; 32] = [1; 32];
const CONTRACT: Address = Address::repeat_byte(0xcc);
const NOW: u64 = 1_800_000_000;
const M: u32 = 4;

struct Fx {
    svc: Service,
    eth: Arc<FakeEth>,
    o: SecretKey,
    calc: SecretKey,
    job: JobParams,
}

fn fixture() -> Fx {
    fixture_with(true)
}

fn fixture_with(eth_on: bool) -> Fx {
    let key = SecretKey::generate();
    let calc = SecretKey::generate();
    let o = SecretKey::generate();
    let job = JobParams {
        outsourcer: o.eth_address(),
        worker: calc.eth_address(),
        arbiter: key.eth_address(),
        commitDeadline: NOW + 100,
        payoutTime: NOW + 1000,
        reward: 1000,
        bond: 100,
        group: B256::repeat_byte(7),
        terms: B256::repeat_byte(8),
        audit: B256::repeat_byte(9),
    };
    let mut config = Config {
        sample_size: M,
        ..Config::default()
    };
    if eth_on {
        config.ethereum.contract = CONTRACT.to_string();
    }
    let clock = Arc::new(FakeClock::new(NOW));
    let eth = Arc::new(FakeEth::new(31337, NOW));
    let arb = Arbiter::new(
        Arc::new(MemoryStore::new(clock.clone())),
        key,
        Arc::new(FakeChain::new(100)),
        config,
        clock,
    )
    .with_eth(eth.clone());
    Fx {
        svc: Service(Arc::new(arb)),
        eth,
        o,
        calc,
        job,
    }
}

impl Fx {
    /// The calculator's case, committed on the fake chain.
    fn committed(&self, lazy: bool) -> EthCase {
        let c = case(JOB, 0, self.calc.keypair(), lazy, M);
        self.eth.set_state(bapay_fairpay::job_id(&self.job), c.root);
        c
    }
    fn req(&self, c: &EthCase) -> pb::DisputeRequest {
        let key = self.calc.x_only_public_key().serialize();
        request(self.o.keypair(), c, JOB, 0, &self.job, CONTRACT, 31337, key)
    }
    async fn dispute(&self, r: pb::DisputeRequest) -> Result<pb::Dispute, tonic::Status> {
        let d = self.svc.dispute(Request::new(r)).await?.into_inner();
        Ok(d.dispute.expect("dispute"))
    }
}

#[tokio::test]
async fn a_lazy_calculator_is_judged_once() {
    let fx = fixture();
    let c = fx.committed(true);
    let d = fx.dispute(fx.req(&c)).await.expect("answer");
    assert_eq!(d.state(), DisputeState::Judged, "{d:?}");
    assert!(d.judge_final);
    assert_eq!(d.judge_tx_hash.len(), 32);
    assert!(d.fault.is_some());
    let sent = fx.eth.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, CONTRACT);
    assert_eq!(sent[0].data, judge_calldata(&fx.job));
    // A repeat, and another filing about the same job: the same dispute, no
    // second judge.
    assert_eq!(fx.dispute(fx.req(&c)).await.expect("again"), d);
    let mut other = fx.req(&c);
    other.calculator_index = 0;
    if let Some(pb::dispute_request::Evidence::WrongResult(w)) = other.evidence.as_mut() {
        w.openings.truncate(1);
    }
    let other = signed_by(other, fx.o.keypair());
    assert_eq!(
        fx.dispute(other).await.expect("existing").dispute_id,
        d.dispute_id
    );
    assert_eq!(fx.eth.sent().len(), 1);
}

#[tokio::test]
async fn an_honest_calculator_a_foreign_key_and_another_root_are_rejected() {
    let fx = fixture();
    let c = fx.committed(false);
    let d = fx.dispute(fx.req(&c)).await.expect("answer");
    assert_eq!(d.state(), DisputeState::Rejected);
    assert_eq!(d.reject_reason(), RejectReason::LeavesCorrect);

    // Lazy evidence, but signed by a key that is not job.worker's.
    let fx = fixture();
    let stranger = SecretKey::generate();
    let c = case(JOB, 0, stranger.keypair(), true, M);
    fx.eth.set_state(bapay_fairpay::job_id(&fx.job), c.root);
    let r = request(
        fx.o.keypair(),
        &c,
        JOB,
        0,
        &fx.job,
        CONTRACT,
        31337,
        stranger.x_only_public_key().serialize(),
    );
    let d = fx.dispute(r).await.expect("answer");
    assert_eq!(d.reject_reason(), RejectReason::BadCommitmentSignature);

    // Lazy evidence whose root is not the committed one.
    let fx = fixture();
    let c = fx.committed(true);
    fx.eth
        .set_state(bapay_fairpay::job_id(&fx.job), B256::repeat_byte(9));
    let d = fx.dispute(fx.req(&c)).await.expect("answer");
    assert_eq!(d.reject_reason(), RejectReason::CommitmentMismatch);
    assert!(fx.eth.sent().is_empty());
}

#[tokio::test]
async fn chain_checks_are_failed_precondition_and_store_nothing() {
    let fx = fixture();
    let c = case(JOB, 0, fx.calc.keypair(), true, M);
    let id = bapay_fairpay::job_id(&fx.job);
    let code = |r: Result<pb::Dispute, tonic::Status>| r.expect_err("refused").code();
    fx.eth.set_state(id, B256::with_last_byte(1));
    assert_eq!(code(fx.dispute(fx.req(&c)).await), Code::FailedPrecondition);
    fx.eth.set_state(id, c.root);
    fx.eth.set_trap(fx.job.group, Address::repeat_byte(1));
    assert_eq!(code(fx.dispute(fx.req(&c)).await), Code::FailedPrecondition);
    fx.eth.set_trap(fx.job.group, Address::ZERO);
    fx.eth.set_time(NOW + 1000 - 60);
    assert_eq!(code(fx.dispute(fx.req(&c)).await), Code::FailedPrecondition);
    fx.eth.set_time(NOW);
    let mut r = fx.req(&c);
    eth_mut(&mut r).deployment.as_mut().expect("d").contract = vec![1; 20];
    assert_eq!(code(fx.dispute(r).await), Code::FailedPrecondition);
    let mut r = fx.req(&c);
    eth_mut(&mut r).job.as_mut().expect("job").arbiter = vec![1; 20];
    assert_eq!(code(fx.dispute(r).await), Code::FailedPrecondition);
    fx.eth.set_down(true);
    assert_eq!(code(fx.dispute(fx.req(&c)).await), Code::Unavailable);
    fx.eth.set_down(false);
    // Nothing was stored: the dispute is decided now.
    let d = fx.dispute(fx.req(&c)).await.expect("answer");
    assert_eq!(d.state(), DisputeState::Judged);
}

#[tokio::test]
async fn malformed_fields_are_invalid_argument() {
    let fx = fixture();
    let c = fx.committed(true);
    let check = |r: Result<pb::Dispute, tonic::Status>, field: &str| {
        let s = r.expect_err("refused");
        assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
        assert!(s.message().starts_with(field), "{}", s.message());
    };
    let mut r = fx.req(&c);
    eth_mut(&mut r).calculator_key = vec![1; 31];
    check(fx.dispute(r).await, "ethereum.calculator_key");
    let mut r = fx.req(&c);
    eth_mut(&mut r).job.as_mut().expect("job").worker = vec![1; 3];
    check(fx.dispute(r).await, "ethereum.job.worker");
    let mut r = fx.req(&c);
    eth_mut(&mut r).job.as_mut().expect("job").bond_wei = "0x10".into();
    check(fx.dispute(r).await, "ethereum.job.bond_wei");
    let mut r = fx.req(&c);
    eth_mut(&mut r).deployment = None;
    check(fx.dispute(r).await, "ethereum.deployment");
    let mut r = fx.req(&c);
    r.job_id = vec![1; 5];
    check(fx.dispute(r).await, "job_id");
}

#[tokio::test]
async fn a_reverted_judge_expires() {
    let fx = fixture();
    let c = fx.committed(true);
    fx.eth.set_revert_sends(true);
    let d = fx.dispute(fx.req(&c)).await.expect("answer");
    assert_eq!(d.state(), DisputeState::Expired);
    assert!(d.fault.is_some());
}

#[tokio::test]
async fn an_arbiter_without_ethereum_refuses_failed_precondition() {
    let fx = fixture_with(false);
    let c = fx.committed(true);
    let e = fx.dispute(fx.req(&c)).await.expect_err("not configured");
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("not configured"), "{e:?}");
}

#[tokio::test]
async fn only_job_outsourcer_may_file_on_ethereum() {
    let fx = fixture();
    let c = fx.committed(false);
    // The worker files against itself (a losing dispute to block O's).
    let key = fx.calc.x_only_public_key().serialize();
    let r = request(fx.calc.keypair(), &c, JOB, 0, &fx.job, CONTRACT, 31337, key);
    let e = fx.dispute(r).await.expect_err("worker");
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    // O's key named but the request signed by someone else.
    let mut r = fx.req(&c);
    let sig = signed_by(r.clone(), fx.calc.keypair()).outsourcer_signature;
    r.outsourcer_signature = sig;
    let e = fx.dispute(r).await.expect_err("forged");
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    assert!(fx.eth.sent().is_empty());
}
