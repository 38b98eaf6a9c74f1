//! An Ethereum dispute as O files it (shared by the unit tests and
//! `tests/ethereum.rs`): a search sub-task, the calculator's tree (honest,
//! or lazy: garbage f at every leaf), its signed commitment with chain byte
//! Ethereum, T's sample opened, and the request.
#![allow(dead_code)]

use alloy::primitives::{Address, B256};
use bapay_core::commitment::{Chain, Commitment, SignedCommitment};
use bapay_core::merkle::{Hash32, MerkleTree};
use bapay_core::sampling::sample_indices;
use bapay_core::task::search::{self, SearchParams};
use bapay_core::task::SubTask;
use bapay_fairpay::JobParams;
use bapay_proto::arbiter::v1 as pb;
use bapay_proto::arbiter::v1::dispute_request::{Evidence, Settlement};
use bapay_proto::common::v1 as common;
use bitcoin::secp256k1::Keypair;

/// O's sample challenge in every case.
pub const CHALLENGE: [u8; 32] = [0x33; 32];

/// The sub-task of every case.
pub fn sub() -> SubTask {
    SubTask::Search(SearchParams {
        seed: Hash32::from([3; 32]),
        rounds: 2,
        difficulty_bits: 3,
        lo: 1000,
        hi: 1064,
    })
}

/// What O holds after the calculator answered.
pub struct EthCase {
    pub sub: SubTask,
    pub result: Vec<u8>,
    pub signed: SignedCommitment,
    pub openings: Vec<common::Opening>,
    pub root: B256,
}

/// The calculator's answer, signed by `calc`; `lazy`: every f is garbage.
pub fn case(job_id: [u8; 32], index: u32, calc: &Keypair, lazy: bool, m: u32) -> EthCase {
    let sub = sub();
    let SubTask::Search(p) = &sub else {
        unreachable!()
    };
    let (res, _) = sub.compute_and_commit().expect("computes");
    let leaves: Vec<Vec<u8>> = (0..p.hi - p.lo)
        .map(|j| {
            let x = p.lo + j;
            let f = if lazy {
                [0xaa; 32]
            } else {
                search::evaluate(&p.seed, p.rounds, x)
            };
            search::leaf_bytes(j, x, &f).to_vec()
        })
        .collect();
    let tree = MerkleTree::from_leaves(&leaves).expect("tree");
    let c = Commitment::new(
        Chain::Ethereum,
        job_id,
        index,
        &sub,
        &res,
        tree.root(),
        tree.leaf_count(),
    );
    let sample = sample_indices(
        &job_id,
        index,
        &tree.root(),
        &CHALLENGE,
        tree.leaf_count(),
        m,
    )
    .expect("m");
    let openings = sample
        .iter()
        .map(|&i| common::Opening {
            index: i,
            leaf_data: leaves[i as usize].clone(),
            proof: tree
                .proof(i)
                .expect("proof")
                .siblings
                .iter()
                .map(|h| h.as_bytes().to_vec())
                .collect(),
        })
        .collect();
    EthCase {
        root: B256::from(tree.root().0),
        signed: SignedCommitment::sign(c, calc),
        sub,
        result: res.to_bytes(),
        openings,
    }
}

/// The wire form of a job.
pub fn job_pb(job: &JobParams) -> common::EthereumJob {
    bapay_daemon::codec::eth_job_to_proto(job)
}

/// `r` signed by `o` (over the request with the signature field empty).
pub fn signed_by(mut r: pb::DisputeRequest, o: &Keypair) -> pb::DisputeRequest {
    use prost::Message;
    r.outsourcer_signature.clear();
    r.outsourcer_signature =
        bapay_core::auth::sign(bapay_core::auth::DISPUTE_TAG, &r.encode_to_vec(), o)
            .serialize()
            .to_vec();
    r
}

/// O's Dispute request for `case` about `job` at `contract`, signed by `o`
/// (job.outsourcer's key).
#[allow(clippy::too_many_arguments)]
pub fn request(
    o: &Keypair,
    c: &EthCase,
    job_id: [u8; 32],
    index: u32,
    job: &JobParams,
    contract: Address,
    chain_id: u64,
    calculator_key: [u8; 32],
) -> pb::DisputeRequest {
    let sc = &c.signed;
    let r = pb::DisputeRequest {
        job_id: job_id.to_vec(),
        chain: common::Chain::Ethereum as i32,
        calculator_index: index,
        sub_task: c.sub.to_bytes(),
        settlement: Some(Settlement::Ethereum(pb::EthereumDispute {
            deployment: Some(common::EthereumDeployment {
                chain_id,
                contract: contract.to_vec(),
            }),
            job: Some(job_pb(job)),
            calculator_key: calculator_key.to_vec(),
        })),
        evidence: Some(Evidence::WrongResult(pb::WrongResult {
            commitment: Some(common::SignedCommitment {
                job_id: sc.commitment.job_id.to_vec(),
                calculator_index: sc.commitment.index,
                root: sc.commitment.root.as_bytes().to_vec(),
                leaf_count: sc.commitment.leaf_count,
                sub_task_hash: sc.commitment.subtask_hash.to_vec(),
                result_hash: sc.commitment.result_hash.to_vec(),
                signature: sc.signature.to_vec(),
            }),
            result: c.result.clone(),
            openings: c.openings.clone(),
        })),
        outsourcer_key: o.x_only_public_key().0.serialize().to_vec(),
        outsourcer_signature: Vec::new(),
    };
    signed_by(r, o)
}

/// The request's Ethereum settlement, for editing.
pub fn eth_mut(r: &mut pb::DisputeRequest) -> &mut pb::EthereumDispute {
    match r.settlement.as_mut() {
        Some(Settlement::Ethereum(e)) => e,
        _ => panic!("not an Ethereum dispute"),
    }
}
