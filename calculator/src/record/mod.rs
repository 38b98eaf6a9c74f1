//! What the calculator stores per sub-task: one [`SubTaskRecord`] per job
//! id (a calculator holds one index of a job), a versioned JSON document
//! in the daemon's [`bapay_daemon::Store`], with what depends on the chain
//! in [`SubSettlement`]. Every field needed to keep or claim the money is
//! written here before the signature or transaction that depends on it
//! leaves the process: the offer; on Bitcoin the checked Charge_i and O's
//! signature, the funding txid, Charge'_i, the claim; on Ethereum the
//! signed `commit` and `payout`; on both r_i and the signed commitment.

pub mod bitcoin;
pub mod ethereum;

use bapay_core::commitment::Commitment;
use bapay_core::task::{SubResult, SubTask};
use bapay_daemon::{ServiceError, Store, StoreExt};
use bapay_proto::calculator::v1::SubTaskState;
use serde::{Deserialize, Serialize};

pub use self::bitcoin::{BtcSub, StoredCharge};
pub use self::ethereum::{EthSub, StoredAudit, StoredJob, StoredSearch};
use crate::Result;

/// The sub-task states (mirror of `bapay.calculator.v1.SubTaskState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Offer accepted (Bitcoin: coins reserved).
    Accepted,
    /// Offer declined (kept so a repeated offer gets the same answer).
    Declined,
    /// Bitcoin: Charge_i checked and stored.
    ChargeHeld,
    /// Bitcoin: own funding inputs signed.
    FundingSigned,
    /// Escrow final, waiting for StartWork (or its depth).
    Escrowed,
    /// Computing r_i (Ethereum: until the commit is mined).
    Computing,
    /// r_i and the signed commitment stored (Ethereum: commit mined).
    Committed,
    /// Bitcoin: Charge'_i stored, conversion signed.
    Converted,
    /// The claim (Charge_i / Charge'_i, Ethereum payout) sent.
    Claiming,
    /// Paid at depth.
    Paid,
    /// Escrow taken by O after a verdict.
    Lost,
    /// Swept through a trap.
    Trapped,
    /// Offer withdrawn.
    Withdrawn,
}

impl State {
    /// The proto enum.
    pub fn to_proto(self) -> SubTaskState {
        match self {
            State::Accepted => SubTaskState::Accepted,
            State::Declined => SubTaskState::Declined,
            State::ChargeHeld => SubTaskState::ChargeHeld,
            State::FundingSigned => SubTaskState::FundingSigned,
            State::Escrowed => SubTaskState::Escrowed,
            State::Computing => SubTaskState::Computing,
            State::Committed => SubTaskState::Committed,
            State::Converted => SubTaskState::Converted,
            State::Claiming => SubTaskState::Claiming,
            State::Paid => SubTaskState::Paid,
            State::Lost => SubTaskState::Lost,
            State::Trapped => SubTaskState::Trapped,
            State::Withdrawn => SubTaskState::Withdrawn,
        }
    }

    /// Terminal states (no more driver work).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Declined | State::Paid | State::Lost | State::Trapped | State::Withdrawn
        )
    }

    /// Before the escrow is on chain: the offer may still be withdrawn.
    pub fn is_offer(self) -> bool {
        matches!(
            self,
            State::Accepted | State::ChargeHeld | State::FundingSigned
        )
    }
}

/// The signed commitment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCommitment {
    /// The statement.
    pub commitment: Commitment,
    /// BIP-340 signature, hex.
    pub signature_hex: String,
}

/// The chain part of a sub-task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "chain", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // one per stored record, never in bulk
pub enum SubSettlement {
    /// A Taproot escrow Pay_i.
    Bitcoin(BtcSub),
    /// A FairPay job.
    Ethereum(EthSub),
}

/// One sub-task, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubTaskRecord {
    /// Job id, hex.
    pub job_id: String,
    /// SHA256 of the encoded OfferRequest (idempotency), hex.
    pub offer_hash: String,
    /// job_token, hex.
    pub job_token: String,
    /// Own index.
    pub index: u32,
    /// m_i canonical bytes, hex.
    pub sub_task_hex: String,
    /// R, hex.
    pub job_random: String,
    /// s_i, this slot's secret salt, hex (with m_i and R: the message key).
    pub salt: String,
    /// Current state.
    pub state: State,
    /// Why (declines, losses, withdrawals).
    pub state_reason: String,
    /// Decline reason (proto enum value) when declined.
    pub decline_reason: i32,
    /// StartWork received.
    pub work_requested: bool,
    /// r_i canonical bytes, hex.
    pub result_hex: Option<String>,
    /// Signed commitment.
    pub commitment: Option<StoredCommitment>,
    /// Last change, Unix ms.
    pub updated_unix_ms: u64,
    /// What depends on the chain.
    pub settlement: SubSettlement,
    /// Accepted: the endpoint signed into the acceptance and the signature
    /// (hex), returned again on a repeated offer.
    #[serde(default)]
    pub acceptance: Option<(String, String)>,
}

/// Decodes a stored hex field.
pub fn unhex(what: &str, s: &str) -> Result<Vec<u8>> {
    hex::decode(s).map_err(|e| ServiceError::internal(&format!("stored {what}"), e))
}

impl SubTaskRecord {
    /// m_i as stored.
    pub fn sub_task(&self) -> Result<SubTask> {
        SubTask::from_bytes(&unhex("sub_task", &self.sub_task_hex)?)
            .map_err(|e| ServiceError::internal("stored sub-task", e))
    }

    /// r_i as stored, if any.
    pub fn result(&self) -> Result<Option<SubResult>> {
        match &self.result_hex {
            None => Ok(None),
            Some(h) => SubResult::from_bytes(&unhex("result", h)?)
                .map(Some)
                .map_err(|e| ServiceError::internal("stored result", e)),
        }
    }

    /// s_i.
    pub fn salt(&self) -> Result<[u8; 32]> {
        unhex("salt", &self.salt)?
            .try_into()
            .map_err(|_| ServiceError::internal("stored salt", "not 32 bytes"))
    }

    /// The job id bytes.
    pub fn job_id_bytes(&self) -> Result<[u8; 32]> {
        unhex("job_id", &self.job_id)?
            .try_into()
            .map_err(|_| ServiceError::internal("stored job_id", "not 32 bytes"))
    }

    /// The Bitcoin part (FAILED_PRECONDITION on an Ethereum job).
    pub fn btc(&self) -> Result<&BtcSub> {
        match &self.settlement {
            SubSettlement::Bitcoin(b) => Ok(b),
            SubSettlement::Ethereum(_) => Err(on_ethereum(&self.job_id)),
        }
    }

    /// The Bitcoin part, mutable.
    pub fn btc_mut(&mut self) -> Result<&mut BtcSub> {
        match &mut self.settlement {
            SubSettlement::Bitcoin(b) => Ok(b),
            SubSettlement::Ethereum(_) => Err(on_ethereum(&self.job_id)),
        }
    }

    /// The Ethereum part (FAILED_PRECONDITION on a Bitcoin job).
    pub fn eth(&self) -> Result<&EthSub> {
        match &self.settlement {
            SubSettlement::Ethereum(e) => Ok(e),
            SubSettlement::Bitcoin(_) => Err(ServiceError::precondition(format!(
                "job {} settles on Bitcoin",
                self.job_id
            ))),
        }
    }

    /// The Ethereum part, mutable.
    pub fn eth_mut(&mut self) -> Result<&mut EthSub> {
        match &mut self.settlement {
            SubSettlement::Ethereum(e) => Ok(e),
            SubSettlement::Bitcoin(_) => Err(ServiceError::precondition(format!(
                "job {} settles on Bitcoin",
                self.job_id
            ))),
        }
    }
}

fn on_ethereum(job: &str) -> ServiceError {
    ServiceError::precondition(format!(
        "job {job} settles on Ethereum (a Bitcoin-only call)"
    ))
}

/// Loads a record and its version.
pub fn load(store: &dyn Store, job_hex: &str) -> Result<Option<(SubTaskRecord, u64)>> {
    Ok(store.get_job_as(job_hex)?)
}

/// Writes `rec` over `version` (`None`: create). Returns the new version.
pub fn save(store: &dyn Store, rec: &SubTaskRecord, version: Option<u64>) -> Result<u64> {
    Ok(store.put_job_as(&rec.job_id, version, rec)?)
}

/// Every stored record.
pub fn all(store: &dyn Store) -> Result<Vec<(SubTaskRecord, u64)>> {
    let mut out = Vec::new();
    for j in store.list_jobs()? {
        if let Some(r) = load(store, &j.id)? {
            out.push(r);
        }
    }
    Ok(out)
}
