//! The off-chain half of the contract's hashing, and the pure rules of
//! which FairPay job belongs to which BAPay sub-task.
//!
//! FairPay stores one hash per job and nothing else, so every party must
//! compute exactly the contract's encodings: the job id, the search terms
//! (which bind the parameters a trustless dispute recomputes) and the
//! collusion-group id. Tests cross-check each against the contract.
//!
//! [`job_for`] is the one rule that turns O's terms and sub-task m_i into
//! the FairPay job of calculator i: O builds the job with it and C_i checks
//! an offer by rebuilding it, so the two can never disagree.
//! [`key_is_worker`] binds a calculator's x-only key (its commitment key)
//! to the job's worker address.

use alloy::primitives::{keccak256, Address, B256};
use alloy::sol_types::SolValue;
use bapay_core::task::SubTask;
use bitcoin::secp256k1::{Parity, PublicKey, XOnlyPublicKey};

use crate::audit::{audit_for, audit_hash, AuditParams, AuditTerms};
use crate::bindings::FairPayBase;
use crate::{Error, Result};

/// A job's parameters, exactly as the contract takes them.
pub type JobParams = FairPayBase::Job;
/// A search sub-task's parameters, exactly as the contract takes them.
pub type SearchParams = FairPayBase::SearchTerms;

/// Tag of the search terms hash (`FairPay.SEARCH_TERMS_TAG`).
pub fn search_terms_tag() -> B256 {
    keccak256("BAPay/FairPay/search-terms/v1")
}

/// Tag of the collusion-trap digest (`FairPay.TRAP_TAG`).
pub fn trap_tag() -> B256 {
    keccak256("BAPay/FairPay/trap/v1")
}

/// Upper bound on the rounds k the contract recomputes (`FairPay.MAX_ROUNDS`).
/// `state[id]` markers (FairPay.sol): a job is opened (reward escrowed, no
/// bond yet); or, in a trapped group, its reward went to the trapper and
/// the bond waits for its worker at t (`BOND_LEFT`), or the worker took
/// its bond back at t and the reward waits for the trapper
/// (`REWARD_LEFT`). Any other non-zero value is the committed root.
pub const STATE_OPEN: B256 = B256::with_last_byte(1);
/// See [`STATE_OPEN`].
pub const STATE_BOND_LEFT: B256 = B256::with_last_byte(2);
/// See [`STATE_OPEN`].
pub const STATE_REWARD_LEFT: B256 = B256::with_last_byte(3);

/// Is `state[id]` a committed root (not empty and not a marker)?
pub fn is_root(state: B256) -> bool {
    state > STATE_REWARD_LEFT
}

pub const MAX_ROUNDS: u32 = 20_000;

/// The job id: `keccak256(abi.encode(job))`.
pub fn job_id(job: &JobParams) -> B256 {
    keccak256(job.abi_encode())
}

/// The `terms` field of a search job: `keccak256(abi.encode(SEARCH_TERMS_TAG, s))`.
/// Rejects parameters a dispute could not evaluate (k = 0, k > MAX_ROUNDS,
/// no leaves), so a job is never opened with a dispute that cannot succeed.
pub fn search_terms(s: &SearchParams) -> Result<B256> {
    if s.rounds == 0 || s.rounds > MAX_ROUNDS {
        return Err(Error::InvalidParams(
            "search rounds must be in 1..=MAX_ROUNDS",
        ));
    }
    if s.leafCount == 0 {
        return Err(Error::InvalidParams(
            "a search range needs at least one leaf",
        ));
    }
    Ok(keccak256(
        (search_terms_tag(), s.clone()).abi_encode_params(),
    ))
}

/// The `terms` field of a job without an on-chain dispute (linear, wasm):
/// any hash that binds O's job reference; tagged so it can never equal a
/// search terms hash.
pub fn opaque_terms(kind: &str, job_ref: B256) -> B256 {
    keccak256((keccak256(format!("BAPay/FairPay/terms/{kind}")), job_ref).abi_encode_params())
}

/// The collusion group id: `keccak256(abi.encode(collusion, workers))`,
/// workers in the order the trap call will list them.
pub fn group_id(collusion: Address, workers: &[Address]) -> B256 {
    keccak256((collusion, workers.to_vec()).abi_encode_params())
}

/// O's job reference for calculator `index` of protocol job `job_id`:
/// `keccak256(abi.encode(bytes32 job_id, uint32 index))`. It is
/// `SearchTerms.jobRef` of a search job and the `job_ref` of
/// [`opaque_terms`] otherwise, so a FairPay job names its BAPay slot.
pub fn job_ref(job_id: &[u8; 32], index: u32) -> B256 {
    keccak256((B256::from(*job_id), index).abi_encode_params())
}

/// The Ethereum address of a secp256k1 public key: the last 20 bytes of
/// keccak256 of its uncompressed encoding without the 0x04 prefix.
pub fn address_of(pk: &PublicKey) -> Address {
    Address::from_raw_public_key(&pk.serialize_uncompressed()[1..])
}

/// Is `key` the x-only form of the key whose address is `worker`? (One of
/// its two lifts, even or odd y, must have that address.)
pub fn key_is_worker(key: &XOnlyPublicKey, worker: Address) -> bool {
    [Parity::Even, Parity::Odd]
        .into_iter()
        .any(|p| address_of(&PublicKey::from_x_only_public_key(*key, p)) == worker)
}

/// What every FairPay job of one BAPay job shares: O's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTerms {
    /// O's 32-byte protocol job id.
    pub job_id: [u8; 32],
    /// O's address.
    pub outsourcer: Address,
    /// T's address (never zero in BAPay).
    pub arbiter: Address,
    /// Unix seconds; W bonds and commits strictly before.
    pub commit_deadline: u64,
    /// t, Unix seconds.
    pub payout_time: u64,
    /// Reward (fee d) per job, wei.
    pub reward: u128,
    /// Bond (deposit g) per job, wei.
    pub bond: u128,
    /// Address of the collusion key sum_k sk_{m_k}.
    pub collusion: Address,
    /// The workers in calculator index order.
    pub workers: Vec<Address>,
    /// O's on-chain challenge terms (each slot's audit adds its leaf count).
    pub audit: AuditTerms,
}

impl GroupTerms {
    /// The collusion group id of these terms.
    pub fn group(&self) -> B256 {
        group_id(self.collusion, &self.workers)
    }
}

/// The FairPay job of one sub-task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotJob {
    /// The job as the contract takes it.
    pub job: JobParams,
    /// Its search terms (search sub-tasks: what `disputeSearch` recomputes).
    pub search: Option<SearchParams>,
    /// Its audit terms (`job.audit` hashes them): what `challenge`,
    /// `respond` and `claimUnanswered` take.
    pub audit: AuditParams,
    /// keccak256(abi.encode(job)).
    pub id: B256,
}

/// The FairPay job of calculator `index` doing `sub` under `g`: worker
/// `g.workers[index]`, the group of `g`, and terms that bind the slot
/// (search: the sub-range, seed, rounds and bits; other kinds: the
/// slot's job reference), and the audit of `g.audit` over the sub-task's
/// leaves.
pub fn job_for(g: &GroupTerms, index: u32, sub: &SubTask) -> Result<SlotJob> {
    let worker = *g.workers.get(index as usize).ok_or(Error::InvalidParams(
        "calculator index >= number of workers",
    ))?;
    let reference = job_ref(&g.job_id, index);
    let (terms, search) = match sub {
        SubTask::Search(s) => {
            let zero_bits = u16::try_from(s.difficulty_bits)
                .map_err(|_| Error::InvalidParams("difficulty bits above 65535"))?;
            let t = SearchParams {
                jobRef: reference,
                seed: B256::from(s.seed.0),
                lo: s.lo,
                leafCount: s.hi.saturating_sub(s.lo),
                rounds: s.rounds,
                zeroBits: zero_bits,
            };
            (search_terms(&t)?, Some(t))
        }
        other => (opaque_terms(other.kind(), reference), None),
    };
    let audit = audit_for(&g.audit, sub)?;
    let job = JobParams {
        outsourcer: g.outsourcer,
        worker,
        arbiter: g.arbiter,
        commitDeadline: g.commit_deadline,
        payoutTime: g.payout_time,
        reward: g.reward,
        bond: g.bond,
        group: g.group(),
        terms,
        audit: audit_hash(&audit),
    };
    Ok(SlotJob {
        id: job_id(&job),
        job,
        search,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_for_binds_worker_group_and_sub_task() {
        use bapay_core::merkle::Hash32;
        let g = GroupTerms {
            job_id: [1; 32],
            outsourcer: Address::repeat_byte(1),
            arbiter: Address::repeat_byte(2),
            commit_deadline: 10,
            payout_time: 20,
            reward: 5,
            bond: 6,
            collusion: Address::repeat_byte(3),
            workers: vec![Address::repeat_byte(4), Address::repeat_byte(5)],
            audit: AuditTerms {
                samples: 4,
                window: 2,
                deposit: 7,
            },
        };
        let sub = |lo| {
            SubTask::Search(bapay_core::task::search::SearchParams {
                seed: Hash32::from([9; 32]),
                rounds: 2,
                difficulty_bits: 3,
                lo,
                hi: lo + 8,
            })
        };
        let a = job_for(&g, 0, &sub(0)).expect("job 0");
        let b = job_for(&g, 1, &sub(8)).expect("job 1");
        assert_eq!(a.job.worker, g.workers[0]);
        assert_eq!(b.job.group, a.job.group);
        assert_ne!(a.id, b.id);
        assert_eq!(a.search.as_ref().map(|s| s.leafCount), Some(8));
        assert_eq!(
            a.job.terms,
            search_terms(a.search.as_ref().unwrap()).unwrap()
        );
        assert_ne!(job_for(&g, 0, &sub(8)).unwrap().id, a.id);
        assert!(job_for(&g, 2, &sub(0)).is_err());
        assert_eq!(a.job.audit, crate::audit::audit_hash(&a.audit));
        assert_eq!((a.audit.leafCount, a.audit.search), (8, true));
    }

    #[test]
    fn a_key_is_bound_to_its_own_address_only() {
        use bitcoin::secp256k1::{Secp256k1, SecretKey};
        let secp = Secp256k1::new();
        for b in 1..=8u8 {
            let pk = SecretKey::from_slice(&[b; 32]).unwrap().public_key(&secp);
            let (x, _) = pk.x_only_public_key();
            assert!(key_is_worker(&x, address_of(&pk)));
            assert!(!key_is_worker(&x, Address::repeat_byte(b)));
        }
    }

    fn terms(rounds: u32, leaf_count: u64) -> SearchParams {
        SearchParams {
            jobRef: B256::ZERO,
            seed: B256::ZERO,
            lo: 0,
            leafCount: leaf_count,
            rounds,
            zeroBits: 1,
        }
    }

    #[test]
    fn search_terms_reject_unprovable_parameters() {
        assert!(search_terms(&terms(1, 1)).is_ok());
        assert!(search_terms(&terms(MAX_ROUNDS, 1)).is_ok());
        assert!(search_terms(&terms(0, 1)).is_err());
        assert!(search_terms(&terms(MAX_ROUNDS + 1, 1)).is_err());
        assert!(search_terms(&terms(1, 0)).is_err());
    }

    #[test]
    fn group_id_depends_on_worker_order_and_collusion_address() {
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        assert_ne!(group_id(a, &[a, b]), group_id(a, &[b, a]));
        assert_ne!(group_id(a, &[a, b]), group_id(b, &[a, b]));
        assert_ne!(
            opaque_terms("linear", B256::ZERO),
            opaque_terms("wasm", B256::ZERO)
        );
    }
}
