//! Unit tests of the Ethereum offer checks (every decline reason and the
//! INVALID_ARGUMENT cases), idempotency, StartWork's on-chain check, that
//! Bitcoin-only RPCs refuse Ethereum jobs, the stored-then-sent commit, the
//! driver's payout at t, LOST / TRAPPED, and withdrawal at the commit
//! deadline. Memory store, [`FakeEth`].

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use bapay_core::merkle::Hash32;
use bapay_core::task::search::SearchParams;
use bapay_core::task::SubTask;
use bapay_daemon::{FakeClock, MemoryStore, SecretKey};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::calculator::v1::{DeclineReason, SubTaskState};

#[path = "../tests/common/eth_offer.rs"]
mod eth_offer;
use eth_offer::{build, eth_mut, OfferSpec};

use crate::config::Config;
use crate::rpc;
use crate::service::Calculator;
use bapay_daemon::FakeEth;
use bapay_daemon::{ErrorCode, FakeBitcoin as FakeChain, ServiceError};

const CONTRACT: Address = Address::repeat_byte(0xcc);
const NOW: u64 = 1_800_000_000;
/// The arbiter this calculator trusts.
const ARBITER: Address = Address::repeat_byte(0x0b);

struct Fx {
    calc: Arc<Calculator>,
    eth: Arc<FakeEth>,
    spec: OfferSpec,
}

fn sub(lo: u64) -> SubTask {
    SubTask::Search(SearchParams {
        seed: Hash32::from([5; 32]),
        rounds: 1,
        difficulty_bits: 3,
        lo,
        hi: lo + 64,
    })
}

fn config() -> Config {
    let mut c = Config::default();
    c.ethereum.deployment.contract = CONTRACT.to_string();
    c.trusted_arbiters = vec![ARBITER.to_string()];
    c
}

fn fixture_with(config: Config, eth_on: bool) -> Fx {
    let key = SecretKey::generate();
    let me = key.eth_address();
    let clock = Arc::new(FakeClock::new(NOW));
    let eth = Arc::new(FakeEth::new(31337, NOW));
    let mut calc = Calculator::new(
        Arc::new(MemoryStore::new(clock.clone())),
        key,
        Arc::new(FakeChain::default()),
        config,
        clock,
    );
    if eth_on {
        calc = calc.with_eth(eth.clone());
    }
    let spec = OfferSpec {
        job_id: [1; 32],
        token: [2; 32],
        random: [9; 32],
        index: 0,
        subs: vec![sub(0), sub(64)],
        workers: vec![me, Address::repeat_byte(0x22)],
        outsourcer_secret: [0x0a; 32],
        arbiter: ARBITER,
        contract: CONTRACT,
        chain_id: 31337,
        commit_deadline: NOW + 3600,
        payout_time: NOW + 7200,
        reward: 10_000_000_000_000_000,
        bond: 1_000_000_000_000_000,
    };
    Fx {
        calc: Arc::new(calc),
        eth,
        spec,
    }
}

fn fixture() -> Fx {
    fixture_with(config(), true)
}

impl Fx {
    /// Sends `req` signed by O (so hand-edited offers reach the checks
    /// after the signature).
    async fn offer(&self, req: pb::OfferRequest) -> Result<pb::OfferResponse, ServiceError> {
        let o = eth_offer::outsourcer_keypair(&self.spec);
        rpc::offer::handle(&self.calc, eth_offer::signed(req, &o)).await
    }

    async fn declined_with(&self, req: pb::OfferRequest) -> DeclineReason {
        let r = self.offer(req).await.expect("an answer");
        assert!(!r.accepted, "accepted: {r:?}");
        assert!(!r.decline_detail.is_empty());
        r.decline_reason()
    }

    /// Declines the offer built from an edited spec.
    async fn spec_declined(&self, edit: impl FnOnce(&mut OfferSpec)) -> DeclineReason {
        let mut spec = self.spec.clone();
        edit(&mut spec);
        self.declined_with(build(&spec).1).await
    }
}

fn invalid(r: Result<pb::OfferResponse, ServiceError>, field: &str) {
    match r {
        Err(ServiceError {
            code: ErrorCode::InvalidArgument,
            message: m,
            ..
        }) => assert!(m.starts_with(field), "{m}"),
        other => panic!("want INVALID_ARGUMENT {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_correct_offer_is_accepted_stored_and_idempotent() {
    let fx = fixture();
    let (_, req) = build(&fx.spec);
    let r = fx.offer(req.clone()).await.expect("answer");
    assert!(r.accepted, "{r:?}");
    assert_eq!(fx.offer(req.clone()).await.expect("again"), r);
    let mut other = req.clone();
    other.job_token = vec![3; 32];
    assert!(matches!(
        fx.offer(other).await,
        Err(ServiceError {
            code: ErrorCode::AlreadyExists,
            ..
        })
    ));
    let status = rpc::get_status::handle(
        &fx.calc,
        pb::GetStatusRequest {
            job_id: req.job_id.clone(),
            job_token: req.job_token.clone(),
        },
    )
    .expect("status");
    assert_eq!(status.state(), SubTaskState::Accepted);
    assert_eq!(status.contract_job_id.len(), 32);
    // Bitcoin-only RPCs refuse the Ethereum job.
    let e = rpc::sign_funding::handle(
        &fx.calc,
        pb::SignFundingRequest {
            job_id: req.job_id.clone(),
            job_token: req.job_token.clone(),
            charge: None,
            funding_psbt: vec![],
        },
    )
    .await;
    assert!(
        matches!(
            e,
            Err(ServiceError {
                code: ErrorCode::FailedPrecondition,
                ..
            })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn every_decline_reason() {
    let fx = fixture();
    let me = fx.spec.workers[0];
    let other = Address::repeat_byte(0x33);
    use DeclineReason as D;
    assert_eq!(
        fx.spec_declined(|s| s.contract = other).await,
        D::BadContractTerms
    );
    assert_eq!(
        fx.spec_declined(|s| s.chain_id = 1).await,
        D::BadContractTerms
    );
    assert_eq!(
        fx.spec_declined(|s| s.workers[0] = other).await,
        D::NotMyKey
    );
    assert_eq!(
        fx.spec_declined(|s| s.arbiter = Address::ZERO).await,
        D::BadContractTerms
    );
    // An arbiter of O's own (a valid address, just not trusted).
    assert_eq!(
        fx.spec_declined(|s| s.arbiter = other).await,
        D::UntrustedParty
    );
    // t years away: the bond would be locked that long.
    assert_eq!(
        fx.spec_declined(|s| s.payout_time = NOW + 5 * 365 * 86_400)
            .await,
        D::TimeoutTooFar
    );
    assert_eq!(fx.spec_declined(|s| s.reward = 1).await, D::FeeTooLow);
    assert_eq!(
        fx.spec_declined(|s| s.bond = u128::MAX).await,
        D::DepositTooHigh
    );
    assert_eq!(
        fx.spec_declined(|s| s.commit_deadline = NOW + 10).await,
        D::NotEnoughTime
    );

    // Hand-edited offers (built, then one field changed).
    let (_, base) = build(&fx.spec);
    let mut r = base.clone();
    r.message_keys.swap(0, 1);
    assert_eq!(fx.declined_with(r).await, D::MessageKeyMismatch);
    // A salt that does not give the published key.
    let mut r = base.clone();
    r.sub_task_salt = vec![0x77; 32];
    assert_eq!(fx.declined_with(r).await, D::MessageKeyMismatch);
    let mut r = base.clone();
    eth_mut(&mut r)
        .group
        .as_mut()
        .expect("group")
        .collusion_address = other.to_vec();
    assert_eq!(fx.declined_with(r).await, D::MessageKeyMismatch);
    let mut r = base.clone();
    eth_mut(&mut r).job.as_mut().expect("job").group = vec![7; 32];
    assert_eq!(fx.declined_with(r).await, D::BadContractTerms);
    let mut r = base.clone();
    eth_mut(&mut r).search_terms.as_mut().expect("terms").lo = 1;
    assert_eq!(fx.declined_with(r).await, D::BadContractTerms);
    let mut r = base.clone();
    eth_mut(&mut r).job.as_mut().expect("job").terms = vec![7; 32];
    assert_eq!(fx.declined_with(r).await, D::BadContractTerms);
    let mut r = base.clone();
    eth_mut(&mut r).contract_job_id = vec![7; 32];
    assert_eq!(fx.declined_with(r).await, D::BadContractTerms);
    let mut r = base.clone();
    eth_mut(&mut r).search_terms = None;
    assert_eq!(fx.declined_with(r).await, D::BadContractTerms);

    // The group is trapped already.
    let (job, req) = build(&fx.spec);
    fx.eth.set_trap(job.group, me);
    assert_eq!(fx.declined_with(req).await, D::BadContractTerms);
}

#[tokio::test]
async fn unsupported_and_too_much_work() {
    let fx = fixture_with(config(), false);
    assert_eq!(
        fx.declined_with(build(&fx.spec).1).await,
        DeclineReason::Unsupported
    );
    let mut c = config();
    c.limits.max_work = 10;
    let fx = fixture_with(c, true);
    assert_eq!(
        fx.declined_with(build(&fx.spec).1).await,
        DeclineReason::TooMuchWork
    );
}

#[tokio::test]
async fn malformed_offers_are_invalid_argument_naming_the_field() {
    let fx = fixture();
    let (_, base) = build(&fx.spec);
    let mut r = base.clone();
    eth_mut(&mut r).deployment = None;
    invalid(fx.offer(r).await, "ethereum.deployment");
    let mut r = base.clone();
    eth_mut(&mut r).job.as_mut().expect("job").worker = vec![1; 19];
    invalid(fx.offer(r).await, "ethereum.job.worker");
    let mut r = base.clone();
    eth_mut(&mut r).job.as_mut().expect("job").reward_wei = "1e18".into();
    invalid(fx.offer(r).await, "ethereum.job.reward_wei");
    let mut r = base.clone();
    eth_mut(&mut r).job.as_mut().expect("job").group = vec![1; 31];
    invalid(fx.offer(r).await, "ethereum.job.group");
    let mut r = base.clone();
    eth_mut(&mut r).group.as_mut().expect("group").workers.pop();
    invalid(fx.offer(r).await, "calculator_count");
    let mut r = base.clone();
    eth_mut(&mut r).contract_job_id = vec![];
    invalid(fx.offer(r).await, "ethereum.contract_job_id");
    let mut r = base.clone();
    r.outsourcer = vec![9; 20];
    invalid(fx.offer(r).await, "outsourcer");
    let mut r = base.clone();
    let job = eth_mut(&mut r).job.as_mut().expect("job");
    job.commit_deadline = job.payout_time;
    invalid(fx.offer(r).await, "ethereum.job.commit_deadline");
    let mut r = base;
    r.message_keys.pop();
    invalid(fx.offer(r).await, "message_keys");
}

#[tokio::test]
async fn start_work_needs_the_job_opened_and_not_trapped() {
    let fx = fixture();
    let (job, req) = build(&fx.spec);
    assert!(fx.offer(req.clone()).await.expect("answer").accepted);
    let start = pb::StartWorkRequest {
        job_id: req.job_id.clone(),
        job_token: req.job_token.clone(),
        funding_txid: String::new(),
        open_tx_hash: vec![4; 32],
    };
    let e = rpc::start_work::handle(&fx.calc, start.clone()).await;
    assert!(
        matches!(
            e,
            Err(ServiceError {
                code: ErrorCode::FailedPrecondition,
                ..
            })
        ),
        "{e:?}"
    );
    let id = bapay_fairpay::job_id(&job);
    fx.eth.set_state(id, B256::with_last_byte(1));
    fx.eth.set_trap(job.group, Address::repeat_byte(1));
    let e = rpc::start_work::handle(&fx.calc, start.clone()).await;
    assert!(
        matches!(
            e,
            Err(ServiceError {
                code: ErrorCode::FailedPrecondition,
                ..
            })
        ),
        "{e:?}"
    );
    fx.eth.set_trap(job.group, Address::ZERO);
    let mut bad = start.clone();
    bad.open_tx_hash = vec![1; 3];
    assert!(matches!(
        rpc::start_work::handle(&fx.calc, bad).await,
        Err(ServiceError { code: ErrorCode::InvalidArgument, message: m, .. }) if m.starts_with("open_tx_hash")
    ));
    let mut wrong = start.clone();
    wrong.job_token = vec![0; 32];
    assert!(matches!(
        rpc::start_work::handle(&fx.calc, wrong).await,
        Err(ServiceError {
            code: ErrorCode::PermissionDenied,
            ..
        })
    ));
    let ok = rpc::start_work::handle(&fx.calc, start)
        .await
        .expect("starts");
    assert_eq!(ok.state(), SubTaskState::Computing);
}

/// Offer accepted, job opened on the fake chain, StartWork, commit sent.
async fn committed(fx: &Fx) -> (bapay_fairpay::JobParams, String) {
    let (job, req) = build(&fx.spec);
    assert!(fx.offer(req.clone()).await.expect("answer").accepted);
    let id = bapay_fairpay::job_id(&job);
    fx.eth.set_state(id, B256::with_last_byte(1));
    let start = pb::StartWorkRequest {
        job_id: req.job_id.clone(),
        job_token: req.job_token.clone(),
        funding_txid: String::new(),
        open_tx_hash: vec![4; 32],
    };
    rpc::start_work::handle(&fx.calc, start)
        .await
        .expect("starts");
    let job_hex = hex::encode(fx.spec.job_id);
    crate::work::compute(&fx.calc, &job_hex)
        .await
        .expect("commits");
    (job, job_hex)
}

fn eth_state(fx: &Fx, job_hex: &str) -> crate::record::State {
    crate::record::load(fx.calc.store.as_ref(), job_hex)
        .expect("store")
        .expect("record")
        .0
        .state
}

#[tokio::test]
async fn commit_is_stored_sent_and_paid_out_at_t() {
    use crate::record::State;
    let fx = fixture();
    let (job, job_hex) = committed(&fx).await;
    assert_eq!(eth_state(&fx, &job_hex), State::Committed);
    let rec = crate::record::load(fx.calc.store.as_ref(), &job_hex)
        .expect("store")
        .expect("record")
        .0;
    let root = B256::from(
        rec.commitment
            .as_ref()
            .expect("commitment")
            .commitment
            .root
            .0,
    );
    let sent = fx.eth.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, CONTRACT);
    assert_eq!(sent[0].value, alloy::primitives::U256::from(fx.spec.bond));
    assert_eq!(sent[0].data, bapay_daemon::eth::commit_calldata(&job, root));
    assert_eq!(
        Some(sent[0].hash),
        rec.eth().unwrap().commit_tx.as_ref().map(|t| t.hash)
    );
    let fetched = rpc::fetch_result::handle(
        &fx.calc,
        pb::FetchResultRequest {
            job_id: fx.spec.job_id.to_vec(),
            job_token: fx.spec.token.to_vec(),
        },
    )
    .expect("fetch");
    assert_eq!(fetched.commit_tx_hash, sent[0].hash.to_vec());
    assert!(fetched.commitment.is_some() && !fetched.result.is_empty());

    // Before t nothing happens; from t on the payout is sent and PAID.
    fx.eth.set_state(bapay_fairpay::job_id(&job), root);
    crate::driver::tick(&fx.calc).await.expect("tick");
    assert_eq!(eth_state(&fx, &job_hex), State::Committed);
    fx.eth.set_time(fx.spec.payout_time);
    crate::driver::tick(&fx.calc).await.expect("tick");
    assert_eq!(eth_state(&fx, &job_hex), State::Paid);
    let sent = fx.eth.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].data, bapay_daemon::eth::payout_calldata(&job));
}

#[tokio::test]
async fn a_settled_job_is_lost_or_trapped() {
    use crate::record::State;
    let fx = fixture();
    let (_, job_hex) = committed(&fx).await;
    // state(id) = 0 while COMMITTED, no trap: O took it (judge / dispute).
    fx.eth
        .set_state(bapay_fairpay::job_id(&build(&fx.spec).0), B256::ZERO);
    crate::driver::tick(&fx.calc).await.expect("tick");
    assert_eq!(eth_state(&fx, &job_hex), State::Lost);

    let fx = fixture();
    let (job, job_hex) = committed(&fx).await;
    fx.eth.set_state(bapay_fairpay::job_id(&job), B256::ZERO);
    fx.eth.set_trap(job.group, Address::repeat_byte(0x22));
    crate::driver::tick(&fx.calc).await.expect("tick");
    assert_eq!(eth_state(&fx, &job_hex), State::Trapped);
}

/// The trapper took the reward (BOND_LEFT): the calculator waits for t and
/// takes its bond back with payout; it ends TRAPPED, not PAID.
#[tokio::test]
async fn a_trapped_job_returns_the_bond_at_t() {
    use crate::record::State;
    let fx = fixture();
    let (job, job_hex) = committed(&fx).await;
    fx.eth
        .set_state(bapay_fairpay::job_id(&job), bapay_fairpay::STATE_BOND_LEFT);
    fx.eth.set_trap(job.group, Address::repeat_byte(0x22));
    let sent = fx.eth.sent().len();
    crate::driver::tick(&fx.calc).await.expect("tick");
    assert_eq!(eth_state(&fx, &job_hex), State::Committed, "waits for t");
    assert_eq!(fx.eth.sent().len(), sent);
    fx.eth.set_time(fx.spec.payout_time);
    crate::driver::tick(&fx.calc).await.expect("tick");
    assert_eq!(eth_state(&fx, &job_hex), State::Trapped);
    let last = fx.eth.sent().last().cloned().expect("payout sent");
    assert_eq!(last.data, bapay_daemon::eth::payout_calldata(&job));
}

#[tokio::test]
async fn an_unstarted_offer_is_withdrawn_at_the_commit_deadline() {
    let fx = fixture();
    let (_, req) = build(&fx.spec);
    assert!(fx.offer(req).await.expect("answer").accepted);
    let job_hex = hex::encode(fx.spec.job_id);
    fx.eth.set_time(fx.spec.commit_deadline);
    crate::driver::tick(&fx.calc).await.expect("tick");
    assert_eq!(eth_state(&fx, &job_hex), crate::record::State::Withdrawn);
}

/// An offer whose audit (job.audit hashes it, the id follows) is O's own
/// and hostile: a deposit below the answer's gas, a window too short to
/// answer in, too many positions, a leaf count that is not m_i's, a
/// non-search audit for a search job, or no audit at all.
#[tokio::test]
async fn hostile_audit_terms_are_declined() {
    let fx = fixture();
    let (_, base) = build(&fx.spec);
    let good = bapay_daemon::codec::eth_audit(
        "audit",
        eth_mut(&mut base.clone()).audit.as_ref().expect("audit"),
    )
    .expect("audit");
    let with = |a: bapay_fairpay::AuditParams| {
        let mut r = base.clone();
        let e = eth_mut(&mut r);
        let mut job =
            bapay_daemon::codec::eth_job("job", e.job.as_ref().expect("job")).expect("job");
        job.audit = bapay_fairpay::audit_hash(&a);
        e.contract_job_id = bapay_fairpay::job_id(&job).to_vec();
        e.job = Some(bapay_daemon::codec::eth_job_to_proto(&job));
        e.audit = Some(bapay_daemon::codec::eth_audit_to_proto(&a));
        r
    };
    use bapay_fairpay::AuditParams as A;
    for hostile in [
        A {
            deposit: 1,
            ..good.clone()
        },
        A {
            window: 1,
            ..good.clone()
        },
        A {
            samples: 129,
            ..good.clone()
        },
        A {
            leafCount: good.leafCount + 1,
            ..good.clone()
        },
        A {
            search: false,
            ..good.clone()
        },
    ] {
        assert_eq!(
            fx.declined_with(with(hostile.clone())).await,
            DeclineReason::BadContractTerms,
            "{hostile:?}"
        );
    }
    // The good audit through the same rebuild is accepted.
    assert!(fx.offer(with(good)).await.expect("answer").accepted);
    let mut r = base.clone();
    eth_mut(&mut r).audit = None;
    invalid(fx.offer(r).await, "ethereum.audit");
}
