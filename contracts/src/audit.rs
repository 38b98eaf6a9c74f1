//! The off-chain half of FairPay's on-chain challenge (sol/FairPayAudit.sol).
//!
//! O challenges a committed root that never reached it off chain; W must
//! answer with the leaves at positions the contract derives from O's c.
//! Both sides must compute exactly the contract's audit hash, its decoding
//! of `challenges(id)` and its positions, so they live here once, and the
//! contract tests cross-check them against the deployed code.

use alloy::primitives::{keccak256, B256, U256};
use alloy::sol_types::SolValue;
use bapay_core::task::SubTask;

use crate::bindings::FairPayBase;
use crate::{Error, Result};

/// A job's audit terms, exactly as the contract takes them.
pub type AuditParams = FairPayBase::Audit;

/// `FairPay.MAX_SAMPLES`: most positions one challenge opens.
pub const MAX_SAMPLES: u32 = 128;

/// `challenges(id)` of a challenged job that was answered or claimed.
pub const CHALLENGE_CLOSED: U256 = U256::from_limbs([1, 0, 0, 0]);

/// Tag of the audit hash (`FairPay.AUDIT_TAG`).
pub fn audit_tag() -> B256 {
    keccak256("BAPay/FairPay/audit/v1")
}

/// What every audit of one BAPay job shares (O's choice, checked by each
/// calculator at its offer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditTerms {
    /// Positions one challenge opens, 1..=[`MAX_SAMPLES`].
    pub samples: u32,
    /// Seconds W has to answer.
    pub window: u64,
    /// Wei O posts with a challenge and W gets for a valid answer.
    pub deposit: u128,
}

/// The audit of sub-task `sub` under `t`: its leaf count, and whether the
/// contract rules on the answered leaves (search).
pub fn audit_for(t: &AuditTerms, sub: &SubTask) -> Result<AuditParams> {
    if t.samples == 0 || t.samples > MAX_SAMPLES {
        return Err(Error::InvalidParams(
            "audit samples must be in 1..=MAX_SAMPLES",
        ));
    }
    if t.window == 0 {
        return Err(Error::InvalidParams("audit window must be at least 1 s"));
    }
    if sub.leaf_count() == 0 {
        return Err(Error::InvalidParams(
            "a sub-task with no leaves cannot be audited",
        ));
    }
    Ok(AuditParams {
        leafCount: sub.leaf_count(),
        samples: t.samples,
        window: t.window,
        deposit: t.deposit,
        search: matches!(sub, SubTask::Search(_)),
    })
}

/// `job.audit`: `keccak256(abi.encode(AUDIT_TAG, a))`.
pub fn audit_hash(a: &AuditParams) -> B256 {
    keccak256((audit_tag(), a.clone()).abi_encode_params())
}

/// A job's `challenges(id)`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeState {
    /// Never challenged.
    None,
    /// Challenged, then answered by W or claimed by O.
    Closed,
    /// Waiting for W's answer until `deadline` (Unix seconds, exclusive).
    Pending {
        /// The seed the positions derive from.
        seed: U256,
        /// W must answer strictly before it.
        deadline: u64,
    },
}

/// Decodes `challenges(id)`: `(seed << 64) | deadline`, or 0 / 1.
pub fn challenge_state(v: U256) -> ChallengeState {
    let seed: U256 = v >> 64usize;
    if seed.is_zero() {
        if v.is_zero() {
            ChallengeState::None
        } else {
            ChallengeState::Closed
        }
    } else {
        ChallengeState::Pending {
            seed,
            deadline: v.as_limbs()[0],
        }
    }
}

/// The positions a challenge with `seed` opens:
/// `keccak256(abi.encode(seed, k)) mod leafCount` for k < samples (none
/// for an audit of no leaves, which FairPay refuses).
pub fn positions(seed: U256, a: &AuditParams) -> Vec<u64> {
    if a.leafCount == 0 {
        return Vec::new();
    }
    (0..a.samples)
        .map(|k| {
            let h = keccak256((seed, U256::from(k)).abi_encode_params());
            (U256::from_be_bytes(h.0) % U256::from(a.leafCount)).to::<u64>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bapay_core::merkle::Hash32;

    fn sub() -> SubTask {
        SubTask::Search(bapay_core::task::search::SearchParams {
            seed: Hash32::from([9; 32]),
            rounds: 2,
            difficulty_bits: 3,
            lo: 0,
            hi: 8,
        })
    }

    #[test]
    fn audit_terms_are_bounded_and_bind_the_leaf_count() {
        let t = AuditTerms {
            samples: 4,
            window: 60,
            deposit: 5,
        };
        let a = audit_for(&t, &sub()).unwrap();
        assert_eq!((a.leafCount, a.search), (8, true));
        assert!(audit_for(&AuditTerms { samples: 0, ..t }, &sub()).is_err());
        assert!(audit_for(
            &AuditTerms {
                samples: MAX_SAMPLES + 1,
                ..t
            },
            &sub()
        )
        .is_err());
        assert!(audit_for(&AuditTerms { window: 0, ..t }, &sub()).is_err());
        let b = AuditParams {
            deposit: 6,
            ..a.clone()
        };
        assert_ne!(audit_hash(&a), audit_hash(&b));
    }

    #[test]
    fn challenge_slot_decodes_and_positions_stay_in_range() {
        assert_eq!(challenge_state(U256::ZERO), ChallengeState::None);
        assert_eq!(challenge_state(CHALLENGE_CLOSED), ChallengeState::Closed);
        let v = (U256::from(7u8) << 64) | U256::from(1_000u64);
        assert_eq!(
            challenge_state(v),
            ChallengeState::Pending {
                seed: U256::from(7u8),
                deadline: 1_000
            }
        );
        let a = audit_for(
            &AuditTerms {
                samples: 16,
                window: 1,
                deposit: 0,
            },
            &sub(),
        )
        .unwrap();
        let ps = positions(U256::from(7u8), &a);
        assert_eq!(ps.len(), 16);
        assert!(ps.iter().all(|&p| p < 8));
        assert_ne!(ps, positions(U256::from(8u8), &a));
        let none = AuditParams { leafCount: 0, ..a };
        assert!(positions(U256::from(7u8), &none).is_empty());
    }
}
