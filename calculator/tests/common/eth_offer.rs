//! Builds an Ethereum offer the way O does (shared by the unit tests and
//! `tests/ethereum.rs`): message keys from m_k and R, the collusion address
//! of their sum, the group, the terms (search terms bound to
//! `job_ref(job_id, index)`), the job and its id.
#![allow(dead_code)]

use alloy::primitives::{Address, B256};
use bapay_core::keys::{message_secret, PublishedKeys};
use bapay_core::task::SubTask;
use bapay_fairpay::job::{group_id, job_id, opaque_terms, search_terms};
use bapay_fairpay::{JobParams, SearchParams};
use bapay_proto::calculator::v1 as pb;
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::Secp256k1;

/// What an offer is built from.
#[derive(Clone, Debug)]
pub struct OfferSpec {
    pub job_id: [u8; 32],
    pub token: [u8; 32],
    pub random: [u8; 32],
    pub index: u32,
    pub subs: Vec<SubTask>,
    pub workers: Vec<Address>,
    /// O's secret key: the job's outsourcer is its address; it signs the offer.
    pub outsourcer_secret: [u8; 32],
    pub arbiter: Address,
    pub contract: Address,
    pub chain_id: u64,
    pub commit_deadline: u64,
    pub payout_time: u64,
    pub reward: u128,
    pub bond: u128,
}

/// The search terms of sub-task `index`.
pub fn search_params(spec: &OfferSpec) -> Option<SearchParams> {
    match &spec.subs[spec.index as usize] {
        SubTask::Search(s) => Some(SearchParams {
            jobRef: bapay_fairpay::job_ref(&spec.job_id, spec.index),
            seed: B256::from(s.seed.0),
            lo: s.lo,
            leafCount: s.hi - s.lo,
            rounds: s.rounds,
            zeroBits: s.difficulty_bits as u16,
        }),
        SubTask::Linear(_) => None,
    }
}

/// s_i of slot `i` (fixed per index in these tests).
pub fn salt(i: u32) -> [u8; 32] {
    [0x50 ^ i as u8; 32]
}

/// O's keypair of `spec`.
pub fn outsourcer_keypair(spec: &OfferSpec) -> bitcoin::secp256k1::Keypair {
    bitcoin::secp256k1::Keypair::from_seckey_slice(&Secp256k1::new(), &spec.outsourcer_secret)
        .expect("outsourcer key")
}

/// O's address of `spec`.
pub fn outsourcer_address(spec: &OfferSpec) -> Address {
    bapay_fairpay::job::address_of(&outsourcer_keypair(spec).public_key())
}

/// `req` signed by `o` as O signs every offer (its key named in it).
pub fn signed(mut req: pb::OfferRequest, o: &bitcoin::secp256k1::Keypair) -> pb::OfferRequest {
    use prost::Message;
    req.outsourcer_key = o.x_only_public_key().0.serialize().to_vec();
    req.outsourcer_signature.clear();
    req.outsourcer_signature =
        bapay_core::auth::sign(bapay_core::auth::OFFER_TAG, &req.encode_to_vec(), o)
            .serialize()
            .to_vec();
    req
}

/// The job and the offer request (signed by O).
pub fn build(spec: &OfferSpec) -> (JobParams, pb::OfferRequest) {
    let (job, req) = build_unsigned(spec);
    (job, signed(req, &outsourcer_keypair(spec)))
}

/// The job and the offer request, unsigned.
pub fn build_unsigned(spec: &OfferSpec) -> (JobParams, pb::OfferRequest) {
    let secp = Secp256k1::new();
    let outsourcer = outsourcer_address(spec);
    let sks: Vec<_> = spec
        .subs
        .iter()
        .enumerate()
        .map(|(i, s)| message_secret(&s.to_bytes(), &salt(i as u32), &spec.random).expect("key"))
        .collect();
    let pm = PublishedKeys::from_secrets(&secp, &sks).expect("keys");
    let collusion = bapay_daemon::keys::eth_address(&pm.aggregate);
    let search = search_params(spec);
    let terms = match &search {
        Some(s) => search_terms(s).expect("terms"),
        None => opaque_terms("linear", bapay_fairpay::job_ref(&spec.job_id, spec.index)),
    };
    let audit = test_audit(&spec.subs[spec.index as usize]);
    let job = JobParams {
        outsourcer,
        worker: spec.workers[spec.index as usize],
        arbiter: spec.arbiter,
        commitDeadline: spec.commit_deadline,
        payoutTime: spec.payout_time,
        reward: spec.reward,
        bond: spec.bond,
        group: group_id(collusion, &spec.workers),
        terms,
        audit: bapay_fairpay::audit_hash(&audit),
    };
    let req = pb::OfferRequest {
        job_id: spec.job_id.to_vec(),
        job_token: spec.token.to_vec(),
        chain: common::Chain::Ethereum as i32,
        calculator_count: spec.subs.len() as u32,
        index: spec.index,
        sub_task: spec.subs[spec.index as usize].to_bytes(),
        sub_task_salt: salt(spec.index).to_vec(),
        job_random: spec.random.to_vec(),
        message_keys: pm.keys.iter().map(|k| k.serialize().to_vec()).collect(),
        outsourcer: outsourcer.to_vec(),
        outsourcer_key: Vec::new(),
        outsourcer_signature: Vec::new(),
        terms: Some(pb::offer_request::Terms::Ethereum(pb::EthereumOffer {
            deployment: Some(common::EthereumDeployment {
                chain_id: spec.chain_id,
                contract: spec.contract.to_vec(),
            }),
            job: Some(job_pb(&job)),
            group: Some(common::EthereumGroup {
                collusion_address: collusion.to_vec(),
                workers: spec.workers.iter().map(|w| w.to_vec()).collect(),
            }),
            search_terms: search.map(|s| common::EthereumSearchTerms {
                job_ref: s.jobRef.to_vec(),
                seed: s.seed.to_vec(),
                lo: s.lo,
                leaf_count: s.leafCount,
                rounds: s.rounds,
                zero_bits: u32::from(s.zeroBits),
            }),
            contract_job_id: job_id(&job).to_vec(),
            audit: Some(bapay_daemon::codec::eth_audit_to_proto(&audit)),
        })),
    };
    (job, req)
}

/// The audit every test offer carries: 4 positions, 60 s, the
/// calculator's default minimum deposit.
pub fn test_audit(sub: &bapay_core::task::SubTask) -> bapay_fairpay::AuditParams {
    let t = bapay_fairpay::AuditTerms {
        samples: 4,
        window: 60,
        deposit: 1_000_000_000_000_000,
    };
    bapay_fairpay::audit_for(&t, sub).expect("audit")
}

/// The wire form of a job.
pub fn job_pb(job: &JobParams) -> common::EthereumJob {
    bapay_daemon::codec::eth_job_to_proto(job)
}

/// The offer's Ethereum terms, for editing.
pub fn eth_mut(req: &mut pb::OfferRequest) -> &mut pb::EthereumOffer {
    match req.terms.as_mut() {
        Some(pb::offer_request::Terms::Ethereum(e)) => e,
        _ => panic!("not an Ethereum offer"),
    }
}
