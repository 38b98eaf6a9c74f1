//! The Ethereum part of a sub-task: the FairPay job (checked against the
//! offer before it is stored), the signed `commit` with the bond and the
//! signed `payout`, each stored with its nonce before it is sent.

use alloy::primitives::{Address, B256, U256};
use bapay_daemon::SignedTx;
use bapay_fairpay::JobParams;
use serde::{Deserialize, Serialize};

/// The FairPay job as stored (the `sol!` struct has no serde).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredJob {
    /// O.
    pub outsourcer: Address,
    /// W (this calculator).
    pub worker: Address,
    /// T.
    pub arbiter: Address,
    /// Unix seconds.
    pub commit_deadline: u64,
    /// t, Unix seconds.
    pub payout_time: u64,
    /// Reward, wei (a decimal string in JSON: serde_json has no u128).
    #[serde(with = "dec")]
    pub reward: u128,
    /// Bond, wei (decimal string in JSON).
    #[serde(with = "dec")]
    pub bond: u128,
    /// Group id.
    pub group: B256,
    /// Terms hash.
    pub terms: B256,
    /// Audit hash (records stored before the on-chain challenge: zero).
    #[serde(default)]
    pub audit: B256,
}

impl StoredJob {
    /// The contract's struct.
    pub fn params(&self) -> JobParams {
        JobParams {
            outsourcer: self.outsourcer,
            worker: self.worker,
            arbiter: self.arbiter,
            commitDeadline: self.commit_deadline,
            payoutTime: self.payout_time,
            reward: self.reward,
            bond: self.bond,
            group: self.group,
            terms: self.terms,
            audit: self.audit,
        }
    }

    /// The stored form of the contract's struct.
    pub fn from_params(j: &JobParams) -> Self {
        StoredJob {
            outsourcer: j.outsourcer,
            worker: j.worker,
            arbiter: j.arbiter,
            commit_deadline: j.commitDeadline,
            payout_time: j.payoutTime,
            reward: j.reward,
            bond: j.bond,
            group: j.group,
            terms: j.terms,
            audit: j.audit,
        }
    }

    /// The bond as a transaction value.
    pub fn bond_value(&self) -> U256 {
        U256::from(self.bond)
    }
}

/// u128 as a decimal string.
mod dec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The Ethereum part of a sub-task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EthSub {
    /// FairPay address.
    pub contract: Address,
    /// The job.
    pub job: StoredJob,
    /// keccak256(abi.encode(job)).
    pub contract_job_id: B256,
    /// The signed `commit(job, root)` with the bond, stored before sending.
    pub commit_tx: Option<SignedTx>,
    /// The signed `payout(job)`, stored before sending.
    pub payout_tx: Option<SignedTx>,
    /// The audit terms `job.audit` hashes (None: a record stored before
    /// the on-chain challenge existed).
    #[serde(default)]
    pub audit: Option<StoredAudit>,
    /// Search jobs: the terms `respondSearch` takes.
    #[serde(default)]
    pub search: Option<StoredSearch>,
    /// The signed answer to O's on-chain challenge, stored before sending.
    #[serde(default)]
    pub respond_tx: Option<SignedTx>,
    /// Gas this calculator paid for it, wei.
    #[serde(default)]
    pub respond_gas_wei: String,
}

/// FairPay audit terms as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAudit {
    /// Leaves in the tree.
    pub leaf_count: u64,
    /// Positions a challenge opens.
    pub samples: u32,
    /// Seconds to answer.
    pub window: u64,
    /// Challenge deposit, wei.
    #[serde(with = "dec")]
    pub deposit: u128,
    /// A search job.
    pub search: bool,
}

impl StoredAudit {
    /// The contract's struct.
    pub fn params(&self) -> bapay_fairpay::AuditParams {
        bapay_fairpay::AuditParams {
            leafCount: self.leaf_count,
            samples: self.samples,
            window: self.window,
            deposit: self.deposit,
            search: self.search,
        }
    }

    /// The stored form of the contract's struct.
    pub fn from_params(a: &bapay_fairpay::AuditParams) -> Self {
        StoredAudit {
            leaf_count: a.leafCount,
            samples: a.samples,
            window: a.window,
            deposit: a.deposit,
            search: a.search,
        }
    }
}

/// FairPay search terms as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSearch {
    /// Job reference.
    pub job_ref: B256,
    /// Seed of f.
    pub seed: B256,
    /// First x.
    pub lo: u64,
    /// Leaves.
    pub leaf_count: u64,
    /// k.
    pub rounds: u32,
    /// b.
    pub zero_bits: u16,
}

impl StoredSearch {
    /// The contract's struct.
    pub fn params(&self) -> bapay_fairpay::SearchParams {
        bapay_fairpay::SearchParams {
            jobRef: self.job_ref,
            seed: self.seed,
            lo: self.lo,
            leafCount: self.leaf_count,
            rounds: self.rounds,
            zeroBits: self.zero_bits,
        }
    }

    /// The stored form.
    pub fn from_params(s: &bapay_fairpay::SearchParams) -> Self {
        StoredSearch {
            job_ref: s.jobRef,
            seed: s.seed,
            lo: s.lo,
            leaf_count: s.leafCount,
            rounds: s.rounds,
            zero_bits: s.zeroBits,
        }
    }
}
