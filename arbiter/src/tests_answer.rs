//! Unit tests of `ChallengeAnswer` evidence on a [`FakeEth`]: T judges a
//! calculator's answer to O's on-chain challenge from the chain's logs
//! only. A wrong leaf is judged (one `judge`), right leaves are rejected
//! (LEAVES_CORRECT), no logs is NO_ANSWER_ON_CHAIN; the offer binding
//! (another job, an unsigned acceptance, a search audit, Bitcoin) is
//! refused before anything is stored.

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolEvent;
use bapay_core::auth;
use bapay_core::task::field::Fe;
use bapay_core::task::linear::{self, LinearSubTask};
use bapay_core::task::SubTask;
use bapay_daemon::eth::{EthLog, FakeEth};
use bapay_daemon::{FakeClock, MemoryStore, SecretKey};
use bapay_fairpay::{AuditParams, FairPay, JobParams};
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::arbiter_service_server::ArbiterService;
use bapay_proto::arbiter::v1::dispute_request::{Evidence, Settlement};
use bapay_proto::arbiter::v1::{DisputeState, RejectReason};
use bapay_proto::calculator::v1 as calc;
use bapay_proto::common::v1 as common;
use prost::Message;
use tonic::{Code, Request};

use crate::config::Config;
use crate::service::{Arbiter, Service};
use bapay_daemon::FakeBitcoin as FakeChain;

const JOB: [u8; 32] = [1; 32];
const CONTRACT: Address = Address::repeat_byte(0xcc);
const NOW: u64 = 1_800_000_000;
const ENDPOINT: &str = "https://c0.example:7000";

struct Fx {
    svc: Service,
    eth: Arc<FakeEth>,
    o: SecretKey,
    calc: SecretKey,
    job: JobParams,
    audit: AuditParams,
    sub: SubTask,
}

fn sub() -> SubTask {
    SubTask::Linear(LinearSubTask {
        rows: 4,
        cols: 3,
        matrix_seed: bapay_core::merkle::Hash32([5; 32]),
        share: (1..=3).map(|v| Fe::reduce(v * 101)).collect(),
        threshold: None,
    })
}

fn fixture(search: bool) -> Fx {
    let key = SecretKey::generate();
    let (o, calc) = (SecretKey::generate(), SecretKey::generate());
    let audit = AuditParams {
        leafCount: 4,
        samples: 3,
        window: 60,
        deposit: 1_000,
        search,
    };
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
        audit: bapay_fairpay::audit_hash(&audit),
    };
    let mut config = Config::default();
    config.ethereum.contract = CONTRACT.to_string();
    let clock = Arc::new(FakeClock::new(NOW));
    let eth = Arc::new(FakeEth::new(31337, NOW));
    eth.set_state(bapay_fairpay::job_id(&job), B256::repeat_byte(0x42));
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
        audit,
        sub: sub(),
    }
}

impl Fx {
    /// O's signed offer and C's acceptance of it at ENDPOINT.
    fn offer(&self, job: &JobParams) -> (Vec<u8>, Vec<u8>) {
        let mut offer = calc::OfferRequest {
            job_id: JOB.to_vec(),
            index: 0,
            sub_task: self.sub.to_bytes(),
            terms: Some(calc::offer_request::Terms::Ethereum(calc::EthereumOffer {
                job: Some(bapay_daemon::codec::eth_job_to_proto(job)),
                audit: Some(bapay_daemon::codec::eth_audit_to_proto(&self.audit)),
                ..Default::default()
            })),
            ..Default::default()
        };
        let bytes = offer.encode_to_vec();
        offer.outsourcer_signature = auth::sign(auth::OFFER_TAG, &bytes, self.o.keypair())
            .serialize()
            .to_vec();
        let digest = auth::digest(auth::OFFER_TAG, &bytes);
        let accept = auth::sign(
            auth::ACCEPT_TAG,
            &auth::acceptance_bytes(&digest, ENDPOINT),
            self.calc.keypair(),
        );
        (offer.encode_to_vec(), accept.serialize().to_vec())
    }

    fn req(&self, offer: (Vec<u8>, Vec<u8>), chain: common::Chain) -> pb::DisputeRequest {
        let mut r = pb::DisputeRequest {
            job_id: JOB.to_vec(),
            chain: chain as i32,
            calculator_index: 0,
            sub_task: self.sub.to_bytes(),
            settlement: Some(Settlement::Ethereum(pb::EthereumDispute {
                deployment: Some(common::EthereumDeployment {
                    chain_id: 31337,
                    contract: CONTRACT.to_vec(),
                }),
                job: Some(bapay_daemon::codec::eth_job_to_proto(&self.job)),
                calculator_key: self.calc.x_only_public_key().serialize().to_vec(),
            })),
            evidence: Some(Evidence::ChallengeAnswer(pb::ChallengeAnswer {
                calculator_endpoint: ENDPOINT.into(),
                offer: offer.0,
                acceptance_signature: offer.1,
                from_block: 5,
            })),
            outsourcer_key: self.o.x_only_public_key().serialize().to_vec(),
            outsourcer_signature: Vec::new(),
        };
        r.outsourcer_signature =
            auth::sign(auth::DISPUTE_TAG, &r.encode_to_vec(), self.o.keypair())
                .serialize()
                .to_vec();
        r
    }

    /// The Challenged and Responded logs of the job on the fake chain,
    /// the answer honest but at row `wrong` (if any).
    fn answered(&self, wrong: Option<u64>) {
        let id = bapay_fairpay::job_id(&self.job);
        let seed = U256::from(77);
        let SubTask::Linear(s) = &self.sub else {
            unreachable!()
        };
        let honest = <linear::Linear as bapay_core::task::TaskKind>::compute(s).expect("computes");
        let leaves = bapay_fairpay::positions(seed, &self.audit)
            .into_iter()
            .map(|p| {
                let mut v = honest.r[p as usize];
                if Some(p) == wrong {
                    v += Fe::reduce(1);
                }
                linear::leaf_bytes(p, v).to_vec().into()
            })
            .collect();
        let log = |e: alloy::primitives::LogData, block| EthLog {
            topics: e.topics().to_vec(),
            data: e.data.to_vec(),
            block_number: block,
            transaction_hash: B256::repeat_byte(block as u8),
        };
        let challenged = FairPay::Challenged {
            id,
            seed,
            deadline: NOW + 60,
        };
        let responded = FairPay::Responded {
            id,
            worker: self.job.worker,
            deposit: U256::from(1_000),
            leaves,
        };
        self.eth.push_log(log(challenged.encode_log_data(), 6));
        self.eth.push_log(log(responded.encode_log_data(), 7));
    }

    async fn dispute(&self, r: pb::DisputeRequest) -> Result<pb::Dispute, tonic::Status> {
        let d = self.svc.dispute(Request::new(r)).await?.into_inner();
        Ok(d.dispute.expect("dispute"))
    }
}

#[tokio::test]
async fn a_wrong_answered_leaf_is_judged_from_the_logs() {
    let fx = fixture(false);
    let at = bapay_fairpay::positions(U256::from(77), &fx.audit)[1];
    fx.answered(Some(at));
    let d = fx
        .dispute(fx.req(fx.offer(&fx.job), common::Chain::Ethereum))
        .await
        .expect("answer");
    assert_eq!(d.state(), DisputeState::Judged, "{d:?}");
    assert_eq!(d.fault.as_ref().map(|f| f.leaf_index), Some(at));
    assert_eq!(fx.eth.sent().len(), 1, "one judge");
}

#[tokio::test]
async fn right_leaves_or_no_answer_on_chain_are_rejected() {
    let fx = fixture(false);
    let req = fx.req(fx.offer(&fx.job), common::Chain::Ethereum);
    let d = fx.dispute(req).await.expect("answer");
    assert_eq!(d.state(), DisputeState::Rejected, "{d:?}");
    assert_eq!(d.reject_reason(), RejectReason::NoAnswerOnChain);
    let fx = fixture(false);
    fx.answered(None);
    let d = fx
        .dispute(fx.req(fx.offer(&fx.job), common::Chain::Ethereum))
        .await
        .expect("answer");
    assert_eq!(d.state(), DisputeState::Rejected, "{d:?}");
    assert_eq!(d.reject_reason(), RejectReason::LeavesCorrect);
    assert!(fx.eth.sent().is_empty(), "no judge");
}

#[tokio::test]
async fn an_answer_not_bound_to_the_calculator_is_refused() {
    let fx = fixture(false);
    fx.answered(Some(0));
    // An offer of another job (another bond): INVALID_ARGUMENT.
    let other = JobParams {
        bond: 1,
        ..fx.job.clone()
    };
    let e = fx
        .dispute(fx.req(fx.offer(&other), common::Chain::Ethereum))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // An acceptance the calculator never signed: PERMISSION_DENIED.
    let (offer, mut sig) = fx.offer(&fx.job);
    sig[0] ^= 1;
    let e = fx
        .dispute(fx.req((offer, sig), common::Chain::Ethereum))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    // On Bitcoin: INVALID_ARGUMENT.
    let e = fx
        .dispute(fx.req(fx.offer(&fx.job), common::Chain::Bitcoin))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(fx.eth.sent().is_empty());
    // A search audit: FairPay judged the answer itself.
    let fx = fixture(true);
    let e = fx
        .dispute(fx.req(fx.offer(&fx.job), common::Chain::Ethereum))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
}
