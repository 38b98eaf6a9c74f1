//! The off-chain half of the contract's hashing.
//!
//! FairPay stores one hash per job and nothing else, so every party must
//! compute exactly the contract's encodings: the job id, the search terms
//! (which bind the parameters a trustless dispute recomputes) and the
//! collusion-group id. Tests cross-check each against the contract.

use alloy::primitives::{keccak256, Address, B256};
use alloy::sol_types::SolValue;

use crate::bindings::FairPay;
use crate::{Error, Result};

/// A job's parameters, exactly as the contract takes them.
pub type JobParams = FairPay::Job;
/// A search sub-task's parameters, exactly as the contract takes them.
pub type SearchParams = FairPay::SearchTerms;

/// Tag of the search terms hash (`FairPay.SEARCH_TERMS_TAG`).
pub fn search_terms_tag() -> B256 {
    keccak256("BAPay/FairPay/search-terms/v1")
}

/// Tag of the collusion-trap digest (`FairPay.TRAP_TAG`).
pub fn trap_tag() -> B256 {
    keccak256("BAPay/FairPay/trap/v1")
}

/// Upper bound on the rounds k the contract recomputes (`FairPay.MAX_ROUNDS`).
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

#[cfg(test)]
mod tests {
    use super::*;

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
