//! FairPay: BAPay's Ethereum settlement (PROTOCOL.md section 5).
//!
//! One long-lived Solidity contract (`contracts/FairPay.sol`, compiled into the
//! committed `artifacts/FairPay.json`) settles every job. This crate is how the
//! daemons talk to it: the alloy bindings generated from the artifact, the
//! off-chain halves of the contract's hashing (job id, search terms, collusion
//! group, trap digest), the collusion-trap signature, the conversion of a core
//! Merkle proof into calldata, and a thin typed client over a provider.
//! Node-talking code lives here, never in `bapay-core`.

pub mod audit;
pub mod bindings;
pub mod client;
pub mod error;
pub mod job;
pub mod proof;
pub mod trap;

pub use audit::{
    audit_for, audit_hash, challenge_state, positions, AuditParams, AuditTerms, ChallengeState,
    CHALLENGE_CLOSED, MAX_SAMPLES,
};
pub use bindings::{FairPay, FairPayBase};
pub use client::{wallet_provider, FairPayClient};
pub use error::Error;
pub use job::{
    group_id, is_root, job_for, job_id, job_ref, key_is_worker, search_terms, GroupTerms,
    JobParams, SearchParams, SlotJob, STATE_BOND_LEFT, STATE_OPEN, STATE_REWARD_LEFT,
};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
