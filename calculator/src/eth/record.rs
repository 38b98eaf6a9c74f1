//! What the calculator stores per Ethereum sub-task: one [`EthSubTask`],
//! a versioned JSON document in the daemon's store under `eth-<job id>`
//! (the Bitcoin records keep the bare job id). The offer and the FairPay
//! job are stored before the answer returns; r_i, the signed commitment and
//! the signed `commit` transaction (raw bytes + nonce) before it is sent;
//! the signed `payout` before it is sent.

use alloy::primitives::{Address, B256, U256};
use bapay_daemon::{SignedTx, Store, StoreExt};
use bapay_fairpay::JobParams;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::record::{State, StoredCommitment};

/// Store key prefix of Ethereum sub-tasks.
pub const PREFIX: &str = "eth-";

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

/// One Ethereum sub-task, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EthSubTask {
    /// Job id, hex (without the prefix).
    pub job_id: String,
    /// SHA256 of the encoded OfferRequest (idempotency), hex.
    pub offer_hash: String,
    /// job_token, hex.
    pub job_token: String,
    /// Own index.
    pub index: u32,
    /// m_i canonical bytes, hex.
    pub sub_task_hex: String,
    /// R, hex (O's per-job random, with m_i the calculator's message key).
    #[serde(default)]
    pub job_random: String,
    /// FairPay address.
    pub contract: Address,
    /// The job.
    pub job: StoredJob,
    /// keccak256(abi.encode(job)).
    pub contract_job_id: B256,
    /// Current state.
    pub state: State,
    /// Why (declines, losses, withdrawals).
    pub state_reason: String,
    /// Decline reason (proto enum value) when declined.
    pub decline_reason: i32,
    /// StartWork received (the open was checked on chain).
    pub work_requested: bool,
    /// r_i canonical bytes, hex.
    pub result_hex: Option<String>,
    /// Signed commitment (chain byte Ethereum).
    pub commitment: Option<StoredCommitment>,
    /// The signed `commit(job, root)` with the bond, stored before sending.
    pub commit_tx: Option<SignedTx>,
    /// The signed `payout(job)`, stored before sending.
    pub payout_tx: Option<SignedTx>,
    /// Last change, Unix ms.
    pub updated_unix_ms: u64,
}

/// The store key of a job id (hex).
pub fn key(job_hex: &str) -> String {
    format!("{PREFIX}{job_hex}")
}

/// Loads a record and its version.
pub fn load(store: &dyn Store, job_hex: &str) -> Result<Option<(EthSubTask, u64)>> {
    Ok(store.get_job_as(&key(job_hex))?)
}

/// Writes `rec` over `version` (`None`: create). Returns the new version.
pub fn save(store: &dyn Store, rec: &EthSubTask, version: Option<u64>) -> Result<u64> {
    Ok(store.put_job_as(&key(&rec.job_id), version, rec)?)
}

/// Every stored Ethereum record.
pub fn all(store: &dyn Store) -> Result<Vec<(EthSubTask, u64)>> {
    let mut out = Vec::new();
    for j in store.list_jobs()? {
        if let Some(job) = j.id.strip_prefix(PREFIX) {
            if let Some(r) = load(store, job)? {
                out.push(r);
            }
        }
    }
    Ok(out)
}
